// Grouping of dotted tensor names into a module tree, where a module made only of numbered
// children ("model.layers.0…31") is shown as one "layers [0–31]" node (pure). The host sends the tree already grouped (models/tree);
// the extension uses this to group a flat list itself when a tree arrives without children, and
// to walk trees for the hover's name cache.

import type { ModelTree, TensorRef, TreeNode } from './protocol';

/** The label of a node: "layers [0–31]" for a collapsed run, else its own name. */
export function nodeLabel(node: TreeNode): string {
  // The host names the node "layers [0–31]" itself; a tree grouped here names it "layers".
  if (node.kind === 'layers' && node.range && !/\[\d+–\d+\]$/.test(node.name)) return `${node.name} [${node.range[0]}–${node.range[1]}]`;
  return node.name;
}

export function parameterCount(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

interface Building {
  name: string;
  path: string;
  children: Map<string, Building>;
  tensor?: TensorRef;
}

/** Groups tensors by the dots in their names; numbered siblings become one "layers" node. */
export function groupTensors(tensors: readonly TensorRef[]): TreeNode {
  const root: Building = { name: '', path: '', children: new Map() };
  for (const t of tensors) {
    const parts = t.name.split('.');
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, path: parts.slice(0, i + 1).join('.'), children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.tensor = t;
  }
  return finish(root);
}

function finish(b: Building): TreeNode {
  if (b.tensor && b.children.size === 0) {
    return { name: b.name, path: b.path, kind: 'tensor', parameters: parameterCount(b.tensor.shape), tensor: b.tensor };
  }
  const children = sortSiblings([...b.children.values()].map(finish));
  if (b.tensor) {
    // A name that is both a tensor and a prefix of others ("a.b" and "a.b.c"): keep both.
    children.unshift({ name: b.name, path: b.path, kind: 'tensor', parameters: parameterCount(b.tensor.shape), tensor: b.tensor });
  }
  const parameters = children.reduce((s, c) => s + c.parameters, 0);
  const range = numberedRange(children);
  if (range) return { name: b.name, path: b.path, kind: 'layers', parameters, range, children };
  return { name: b.name, path: b.path, kind: 'module', parameters, children };
}

const NUMBER = /^\d+$/;

/** Named siblings first in the order they came, then numbered ones in numeric order (2 before 10). */
export function sortSiblings(children: TreeNode[]): TreeNode[] {
  const named = children.filter((c) => !NUMBER.test(c.name) || c.kind === 'tensor');
  const numbered = children.filter((c) => NUMBER.test(c.name) && c.kind !== 'tensor');
  numbered.sort((a, b) => Number(a.name) - Number(b.name));
  return [...named, ...numbered];
}

/**
 * A module whose children are two or more numbered modules and nothing else ("model.layers") is
 * a run of repeated layers: its range is the first and last index.
 */
export function numberedRange(children: readonly TreeNode[]): [number, number] | undefined {
  if (children.length < 2) return undefined;
  if (!children.every((c) => NUMBER.test(c.name) && c.kind !== 'tensor')) return undefined;
  const indices = children.map((c) => Number(c.name));
  return [Math.min(...indices), Math.max(...indices)];
}

/** Every tensor in a tree, depth first. */
export function* walkTensors(node: TreeNode): Generator<TensorRef> {
  if (node.tensor) yield node.tensor;
  for (const c of node.children ?? []) yield* walkTensors(c);
}

/** A host tree whose root lists tensors flat (dotted names, no modules) is grouped here. */
export function normalizeTree(tree: ModelTree): ModelTree {
  const children = tree.root?.children ?? [];
  const flat = children.length > 0 && children.every((c) => c.kind === 'tensor' && c.tensor) && children.some((c) => c.name.includes('.'));
  if (!flat) return tree;
  return { ...tree, root: groupTensors(children.map((c) => c.tensor!)) };
}
