import assert from 'node:assert/strict';
import { test } from 'node:test';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import type { GraphNode, ModelGraph } from '../src/common/protocol';
import { collapsibleScopes, initialCollapsed, scopePath, toElk } from '../media/graph/graphLayout';

const node = (id: string, scope: string, extra: Partial<GraphNode> = {}): GraphNode =>
  ({ id, label: 'Conv', name: id, scope, parameters: 0, tensors: [], attributes: {}, children: null, childEdges: null, ...extra });

/** input → a/b/conv1 → a/b/relu → a/c/conv2 → add (reads the input too) → output. */
function small(): ModelGraph {
  const nodes = [node('in', ''), node('c1', 'a/b'), node('r', 'a/b'), node('c2', 'a/c'), node('add', ''), node('out', '')];
  const edges = [['in', 'c1'], ['c1', 'r'], ['r', 'c2'], ['c2', 'add'], ['in', 'add'], ['add', 'out']].map(([from, to]) => ({ from, to, tensor: `${from}>${to}`, shape: [1, 2] }));
  return { kind: 'onnx', title: 't', path: '/m.onnx', nodes, edges, parameters: 0, note: null };
}

test('a scope path lists every enclosing scope, slashes and dots alike', () => {
  assert.deepEqual(scopePath('backbone/conv1'), ['backbone', 'backbone/conv1']);
  assert.deepEqual(scopePath('base_net.12'), ['base_net', 'base_net.12']);
  assert.deepEqual(scopePath(''), []);
});

test('only scopes of more than one operator collapse, outermost first', () => {
  assert.deepEqual(collapsibleScopes(small()), ['a', 'a/b']);
});

test('a collapsed scope is one box its edges are redrawn to, without self-loops or repeats', () => {
  const { root, items } = toElk(small(), new Set(['a']), new Set());
  const ids = (root.children ?? []).map((c) => c.id).sort();
  assert.deepEqual(ids, ['add', 'collapsed:a', 'in', 'out']);
  assert.equal(items.get('collapsed:a')?.members, 3);
  const edges = (root.edges as ElkExtendedEdge[]).map((e) => `${e.sources[0]}→${e.targets[0]}`).sort();
  assert.deepEqual(edges, ['add→out', 'collapsed:a→add', 'in→add', 'in→collapsed:a']);
});

test('an expanded scope is a compound box holding its operators', () => {
  const { root } = toElk(small(), new Set(), new Set());
  const a = root.children!.find((c) => c.id === 'scope:a')!;
  assert.deepEqual(a.children!.map((c) => c.id).sort(), ['scope:a/b', 'c2'].sort());
  assert.deepEqual(a.children!.find((c) => c.id === 'scope:a/b')!.children!.map((c) => c.id), ['c1', 'r']);
});

test('an opened block holds its children and their edges', () => {
  const block = node('block:0', 'layers.0', {
    children: [node('block:0/attention', 'layers.0.attention'), node('block:0/mlp', 'layers.0.mlp')],
    childEdges: [{ from: 'block:0/attention', to: 'block:0/mlp', tensor: 'h', shape: null }],
  });
  const g: ModelGraph = { kind: 'blocks', title: 'b', path: '/m', nodes: [node('embedding', ''), block], edges: [{ from: 'embedding', to: 'block:0', tensor: 'h', shape: null }], parameters: 0, note: null };
  const { root } = toElk(g, new Set(), new Set(['block:0']));
  const box = root.children!.find((c) => c.id === 'block:0')!;
  assert.deepEqual(box.children!.map((c) => c.id), ['block:0/attention', 'block:0/mlp']);
  assert.equal(box.edges!.length, 1);
});

test('large graphs open with their outer scopes collapsed; ELK lays out every box and routes every edge', async () => {
  const nodes: GraphNode[] = [];
  const edges = [];
  for (let s = 0; s < 12; s++) for (let k = 0; k < 20; k++) {
    nodes.push(node(`n${s}_${k}`, `stage${s}/block${k % 4}`));
    if (nodes.length > 1) edges.push({ from: nodes[nodes.length - 2].id, to: nodes[nodes.length - 1].id, tensor: `t${nodes.length}`, shape: [1] });
  }
  const g: ModelGraph = { kind: 'onnx', title: 'big', path: '/big.onnx', nodes, edges, parameters: 0, note: null };
  const collapsed = initialCollapsed(g);
  assert.deepEqual([...collapsed].sort(), Array.from({ length: 12 }, (_, s) => `stage${s}`).sort());
  const { root } = toElk(g, collapsed, new Set());
  const laid: ElkNode = await new ELK().layout(root);
  assert.equal(laid.children!.length, 12);
  for (const c of laid.children!) assert.ok(Number.isFinite(c.x) && Number.isFinite(c.y));
  assert.equal((laid.edges as ElkExtendedEdge[]).length, 11);
  for (const e of laid.edges as ElkExtendedEdge[]) assert.ok((e.sections ?? []).length >= 1, `edge ${e.id} routed`);
});
