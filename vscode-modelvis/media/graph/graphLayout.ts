// The model graph as ELK sees it (elkjs, layered: Sugiyama-style layers top to bottom), with name scopes that
// collapse: a collapsed scope is one box standing for all its operators, and edges into it are redrawn to it.
// Pure (no DOM), so the benchmark lays out the same graphs the view does.

import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import type { GraphEdge, GraphNode, ModelGraph } from '../../src/common/protocol';

export const NODE_WIDTH = 170;
export const NODE_HEIGHT = 46;

/** "a/b/c" → ["a", "a/b", "a/b/c"] (dots separate too: "base_net.12" → ["base_net", "base_net.12"]). */
export function scopePath(scope: string): string[] {
  if (!scope) return [];
  const parts = scope.split(/[/.]/).filter(Boolean);
  const out: string[] = [];
  let at = 0;
  for (const p of parts) {
    at = scope.indexOf(p, at) + p.length;
    out.push(scope.slice(0, at));
  }
  return out;
}

/** What the view draws: real nodes, collapsed scopes, opened blocks' children. */
export interface LaidOutItem {
  id: string;
  kind: 'node' | 'scope' | 'group' | 'child';
  node?: GraphNode;
  scope?: string;
  members?: number;
}

export interface ElkInput {
  root: ElkNode;
  items: Map<string, LaidOutItem>;
  edgeInfo: Map<string, GraphEdge>;
}

/** Scopes of more than one operator, outermost first: what the view can collapse (a block diagram's blocks open instead). */
export function collapsibleScopes(graph: ModelGraph): string[] {
  if (graph.kind === 'blocks') return [];
  const count = new Map<string, number>();
  for (const n of graph.nodes) for (const s of scopePath(n.scope)) count.set(s, (count.get(s) ?? 0) + 1);
  return [...count].filter(([, c]) => c > 1).map(([s]) => s).sort((a, b) => scopePath(a).length - scopePath(b).length || a.localeCompare(b));
}

/**
 * The ELK graph for `graph` with `collapsed` scopes shown as one box each and `opened` block nodes drawn with
 * their children inside. Expanded scopes become compound nodes, so a scope's operators stay together.
 */
export function toElk(graph: ModelGraph, collapsed: ReadonlySet<string>, opened: ReadonlySet<string>): ElkInput {
  const items = new Map<string, LaidOutItem>();
  const edgeInfo = new Map<string, GraphEdge>();
  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '22',
      'elk.edgeRouting': 'ORTHOGONAL',
      // Edge points in the root's coordinates wherever an edge is declared (shapes stay relative to their parent).
      'elk.json.edgeCoords': 'ROOT',
    },
    children: [],
    edges: [],
  };
  const compound = new Map<string, ElkNode>();
  const container = (scopes: string[]): ElkNode => {
    let parent = root;
    for (const s of scopes) {
      let c = compound.get(s);
      if (!c) {
        c = { id: `scope:${s}`, children: [], layoutOptions: { 'elk.padding': '[top=26,left=10,bottom=10,right=10]' } };
        compound.set(s, c);
        parent.children!.push(c);
        items.set(c.id, { id: c.id, kind: 'group', scope: s });
      }
      parent = c;
    }
    return parent;
  };
  const memberCount = new Map<string, number>();
  const representative = new Map<string, string>();
  for (const n of graph.nodes) {
    const path = graph.kind === 'onnx' ? scopePath(n.scope) : [];
    const cut = path.findIndex((s) => collapsed.has(s));
    if (cut >= 0) {
      const s = path[cut];
      const id = `collapsed:${s}`;
      representative.set(n.id, id);
      memberCount.set(s, (memberCount.get(s) ?? 0) + 1);
      if (!items.has(id)) {
        container(path.slice(0, cut).filter((p) => collapsibleSet(graph).has(p))).children!.push({ id, width: NODE_WIDTH, height: NODE_HEIGHT });
        items.set(id, { id, kind: 'scope', scope: s });
      }
      continue;
    }
    representative.set(n.id, n.id);
    const parent = container(path.filter((s) => collapsibleSet(graph).has(s)));
    if (n.children && opened.has(n.id)) {
      const box: ElkNode = { id: n.id, children: [], edges: [], layoutOptions: { 'elk.padding': '[top=30,left=10,bottom=10,right=10]' } };
      for (const c of n.children) {
        box.children!.push({ id: c.id, width: NODE_WIDTH, height: NODE_HEIGHT });
        items.set(c.id, { id: c.id, kind: 'child', node: c });
        representative.set(c.id, c.id);
      }
      for (const [k, e] of (n.childEdges ?? []).entries()) {
        const id = `${n.id}/edge:${k}`;
        box.edges!.push({ id, sources: [e.from], targets: [e.to] });
        edgeInfo.set(id, e);
      }
      parent.children!.push(box);
      items.set(n.id, { id: n.id, kind: 'group', node: n });
    } else {
      parent.children!.push({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT });
      items.set(n.id, { id: n.id, kind: 'node', node: n });
    }
  }
  for (const [s, count] of memberCount) items.get(`collapsed:${s}`)!.members = count;
  const seen = new Set<string>();
  graph.edges.forEach((e, k) => {
    const from = representative.get(e.from), to = representative.get(e.to);
    if (!from || !to || from === to) return;
    const key = `${from}→${to}`;
    if (seen.has(key)) return;
    seen.add(key);
    const id = `edge:${k}`;
    (root.edges as ElkExtendedEdge[]).push({ id, sources: [from], targets: [to] });
    edgeInfo.set(id, e);
  });
  return { root, items, edgeInfo };
}

const scopeSets = new WeakMap<ModelGraph, Set<string>>();

/** Only scopes holding more than one operator get a box of their own (a scope of one is just its node's name). */
function collapsibleSet(graph: ModelGraph): Set<string> {
  let s = scopeSets.get(graph);
  if (!s) scopeSets.set(graph, (s = new Set(collapsibleScopes(graph))));
  return s;
}

/** Scopes to start collapsed: none for small graphs; for large ones the outermost that keep the picture near 120 boxes. */
export function initialCollapsed(graph: ModelGraph, budget = 120): Set<string> {
  if (graph.nodes.length <= budget) return new Set();
  const scopes = collapsibleScopes(graph);
  const depth = (s: string) => scopePath(s).length;
  for (let d = 1; d <= 6; d++) {
    const chosen = new Set(scopes.filter((s) => depth(s) === d));
    const boxes = graph.nodes.filter((n) => !scopePath(n.scope).some((s) => chosen.has(s))).length + chosen.size;
    if (chosen.size > 0 && boxes <= budget) return chosen;
  }
  return new Set(scopes.filter((s) => depth(s) === 1));
}
