// The model graph view (issue 19): an ONNX operator graph (initializers folded into their operators, edges
// labelled with the shapes a run computed) or a language model's block diagram, laid out by ELK (elkjs) and drawn
// as SVG. Scopes collapse and open, blocks open into attention and MLP, search highlights and centres, the wheel
// zooms, dragging pans; a click shows a node's attributes and tensors, and a tensor opens in the tensor panel.

import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkEdgeSection, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import type { GraphNode, ModelGraph } from '../../src/common/protocol';
import { connect, h, post, render, svg } from '../webview/common';
import { collapsibleScopes, initialCollapsed, LaidOutItem, NODE_HEIGHT, NODE_WIDTH, toElk } from './graphLayout';

type ToWebview = { type: 'graph'; graph: ModelGraph } | { type: 'error'; message: string };

const elk = new ELK();
let graph: ModelGraph | undefined;
let collapsed = new Set<string>();
const opened = new Set<string>();
let view = { x: 0, y: 0, scale: 1 };
let selectedId: string | undefined;
let matches: string[] = [];

connect<ToWebview>((m) => {
  if (m.type === 'error') {
    render('error', h('p', { class: 'error' }, m.message));
    return;
  }
  graph = m.graph;
  collapsed = initialCollapsed(graph);
  opened.clear();
  page();
  void draw(true);
});

const stage = svg('svg', { class: 'graph', 'data-role': 'graph' }) as SVGSVGElement;
const content = svg('g') as SVGGElement;
stage.appendChild(content);
const details = h('aside', { class: 'details', 'data-role': 'details' });
const status = h('span', { class: 'status', 'data-role': 'status' });

function page(): void {
  const g = graph!;
  const search = h('input', { type: 'search', placeholder: 'search nodes, ops, tensors', 'data-role': 'search', 'aria-label': 'search the graph' });
  search.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && find(search.value));
  const scopes = collapsibleScopes(g);
  render(
    'loading',
    h('header', { class: 'toolbar' },
      h('strong', {}, g.title),
      h('span', {}, `${g.nodes.length.toLocaleString()} nodes · ${g.edges.length.toLocaleString()} edges · ${formatCount(g.parameters)} parameters`),
      search,
      h('button', { onclick: () => find(search.value) }, 'Find'),
      scopes.length > 0 && h('button', { 'data-role': 'collapse-all', onclick: () => { collapsed = new Set(scopes.filter((s) => !s.includes('/') && !s.includes('.'))); void draw(true); } }, 'Collapse scopes'),
      scopes.length > 0 && h('button', { 'data-role': 'expand-all', onclick: () => { collapsed.clear(); void draw(true); } }, 'Expand all'),
      h('button', { onclick: () => void draw(true) }, 'Fit'),
      status),
    h('div', { class: 'body' }, h('div', { class: 'stage' }, stage), details),
    g.note ? h('p', { class: 'note' }, g.note) : null,
  );
  attachPanZoom();
}

function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

function shapeText(shape: number[] | null): string {
  return shape ? `[${shape.join('×')}]` : '';
}

async function draw(fit: boolean): Promise<void> {
  if (!graph) return;
  document.body.dataset.state = 'loading';
  const started = performance.now();
  const { root, items, edgeInfo } = toElk(graph, collapsed, opened);
  let laid: ElkNode;
  try {
    laid = await elk.layout(root);
  } catch (e) {
    status.textContent = `layout failed: ${e instanceof Error ? e.message : String(e)}`;
    document.body.dataset.state = 'error';
    return;
  }
  const ms = performance.now() - started;
  content.replaceChildren();
  const edgesLayer = svg('g', { class: 'edges' });
  const nodesLayer = svg('g', { class: 'nodes' });
  content.append(edgesLayer, nodesLayer);
  let boxes = 0;
  const walk = (n: ElkNode, ox: number, oy: number) => {
    for (const c of n.children ?? []) {
      const x = ox + (c.x ?? 0), y = oy + (c.y ?? 0);
      const item = items.get(c.id);
      if (item) {
        nodesLayer.appendChild(box(item, x, y, c.width ?? NODE_WIDTH, c.height ?? NODE_HEIGHT));
        boxes++;
      }
      walk(c, x, y);
    }
    for (const e of (n.edges ?? []) as ElkExtendedEdge[]) drawEdge(edgesLayer, e, edgeInfo.get(e.id)?.shape ?? null);
  };
  walk(laid, 0, 0);
  status.textContent = `${boxes} boxes laid out in ${Math.round(ms)} ms`;
  document.body.dataset.layoutMs = String(Math.round(ms));
  document.body.dataset.boxes = String(boxes);
  if (fit) fitView(laid.width ?? 800, laid.height ?? 600);
  applyView();
  highlight();
  document.body.dataset.state = 'ready';
}

/** An edge in root coordinates (elk.json.edgeCoords = ROOT), its value's shape written beside its middle. */
function drawEdge(layer: SVGElement, e: ElkExtendedEdge, shape: number[] | null): void {
  for (const s of (e.sections ?? []) as ElkEdgeSection[]) {
    const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x},${p.y}`);
    layer.appendChild(svg('polyline', { points: pts.join(' '), class: 'edge', 'marker-end': 'url(#arrow)' }));
    if (shape) {
      const mid = s.bendPoints?.[Math.floor((s.bendPoints.length - 1) / 2)] ?? { x: (s.startPoint.x + s.endPoint.x) / 2, y: (s.startPoint.y + s.endPoint.y) / 2 };
      layer.appendChild(svg('text', { x: mid.x + 4, y: mid.y - 3, class: 'shape' }, shapeText(shape)));
    }
  }
}

function box(item: LaidOutItem, x: number, y: number, w: number, hgt: number): SVGElement {
  const n = item.node;
  const classes = ['box', item.kind, n ? `op-${n.label.replace(/[^\w-]/g, '')}` : ''].join(' ');
  const g = svg('g', { class: classes, transform: `translate(${x},${y})`, 'data-id': item.id, tabindex: 0, role: 'button' });
  g.appendChild(svg('rect', { width: w, height: hgt, rx: 5 }));
  if (item.kind === 'group') {
    g.appendChild(svg('text', { x: 8, y: 17, class: 'title' }, item.node ? `${item.node.label} ▾` : `${item.scope} ▾`));
    g.addEventListener('click', (e) => {
      if ((e.target as Element).closest('g') !== g) return;
      e.stopPropagation();
      if (item.node) opened.delete(item.node.id);
      else if (item.scope) collapsed.add(item.scope);
      void draw(false);
    });
    return g;
  }
  if (item.kind === 'scope') {
    g.appendChild(svg('text', { x: 8, y: 19, class: 'title' }, `${item.scope} ▸`));
    g.appendChild(svg('text', { x: 8, y: 36, class: 'sub' }, `${item.members} operators`));
    g.addEventListener('click', (e) => {
      e.stopPropagation();
      collapsed.delete(item.scope!);
      void draw(false);
    });
    return g;
  }
  const node = n!;
  g.appendChild(svg('text', { x: 8, y: 19, class: 'title' }, node.children ? `${node.label} ▸` : node.label));
  const sub = node.tensors.length > 0 ? node.tensors.slice(0, 2).map((t) => shapeText(t.shape)).join(' ') : node.name;
  g.appendChild(svg('text', { x: 8, y: 36, class: 'sub' }, (node.parameters > 0 ? `${formatCount(node.parameters)} · ` : '') + sub));
  g.addEventListener('click', (e) => {
    e.stopPropagation();
    selectedId = node.id;
    showDetails(node);
    if (node.children) {
      opened.add(node.id);
      void draw(false);
    } else highlight();
  });
  return g;
}

function showDetails(node: GraphNode): void {
  const g = graph!;
  const parts: Array<HTMLElement | null> = [
    h('h3', {}, node.label),
    node.name ? h('p', { class: 'name' }, node.name) : null,
    node.parameters > 0 ? h('p', {}, `${node.parameters.toLocaleString()} parameters`) : null,
    Object.keys(node.attributes).length > 0
      ? h('table', { class: 'attributes' }, ...Object.entries(node.attributes).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))))
      : null,
    node.tensors.length > 0
      ? h('ul', { class: 'tensors', 'data-role': 'tensors' },
          ...node.tensors.map((t) =>
            h('li', {},
              h('a', { href: '#', 'data-tensor': t.name, onclick: (e: Event) => { e.preventDefault(); post({ type: 'openTensor', path: g.path, tensor: t.name }); } }, t.name),
              ` ${shapeText(t.shape)} ${t.dType}`)))
      : null,
  ];
  details.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
}

// ---------------------------------------------------------------- search

function find(query: string): void {
  const q = query.trim().toLowerCase();
  if (!graph || !q) return;
  const hit = (n: GraphNode) => n.label.toLowerCase().includes(q) || n.name.toLowerCase().includes(q) || n.tensors.some((t) => t.name.toLowerCase().includes(q));
  const found = graph.nodes.filter(hit).concat(graph.nodes.flatMap((n) => n.children ?? []).filter(hit));
  matches = found.map((n) => n.id);
  // A match inside a collapsed scope opens that scope.
  for (const n of found) for (const s of [...collapsed]) if (n.scope === s || n.scope.startsWith(s + '/') || n.scope.startsWith(s + '.')) collapsed.delete(s);
  for (const n of graph.nodes) if (n.children?.some((c) => matches.includes(c.id))) opened.add(n.id);
  status.textContent = `${matches.length} match${matches.length === 1 ? '' : 'es'}`;
  document.body.dataset.matches = String(matches.length);
  void draw(false).then(() => {
    const first = matches.length > 0 ? content.querySelector<SVGGElement>(`[data-id="${CSS.escape(matches[0])}"]`) : null;
    if (first) {
      const b = first.getBBox(), m = first.transform.baseVal.consolidate()?.matrix;
      const cx = (m?.e ?? 0) + b.width / 2, cy = (m?.f ?? 0) + b.height / 2;
      const r = stage.getBoundingClientRect();
      view = { scale: Math.max(view.scale, 1), x: r.width / 2 - cx * Math.max(view.scale, 1), y: r.height / 2 - cy * Math.max(view.scale, 1) };
      applyView();
      const node = graph!.nodes.concat(graph!.nodes.flatMap((n) => n.children ?? [])).find((n) => n.id === matches[0]);
      if (node) showDetails(node);
    }
  });
}

function highlight(): void {
  for (const el of content.querySelectorAll('.box')) {
    const id = el.getAttribute('data-id') ?? '';
    el.classList.toggle('match', matches.includes(id));
    el.classList.toggle('selected', id === selectedId);
  }
}

// ---------------------------------------------------------------- zoom and pan

/** The whole graph when it fits at a readable size; else the top of it at the width's fit (at most 60 %), to scroll down. */
function fitView(w: number, hgt: number): void {
  const r = stage.getBoundingClientRect();
  const byWidth = (r.width - 20) / Math.max(w, 1), whole = Math.min(byWidth, (r.height - 20) / Math.max(hgt, 1));
  const scale = Math.min(1.2, Math.max(0.05, whole, Math.min(0.6, byWidth)));
  view = { scale, x: (r.width - w * scale) / 2, y: 10 };
}

function applyView(): void {
  content.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.scale})`);
}

function attachPanZoom(): void {
  const defs = svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' }, svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrowhead' })));
  stage.insertBefore(defs, stage.firstChild);
  let drag: { x: number; y: number } | undefined;
  stage.addEventListener('mousedown', (e) => (drag = { x: e.clientX, y: e.clientY }));
  window.addEventListener('mouseup', () => (drag = undefined));
  stage.addEventListener('mousemove', (e) => {
    if (!drag) return;
    view.x += e.clientX - drag.x;
    view.y += e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    applyView();
  });
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = stage.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const factor = Math.exp(-e.deltaY * 0.0015);
    const scale = Math.max(0.02, Math.min(8, view.scale * factor));
    view.x = px - ((px - view.x) * scale) / view.scale;
    view.y = py - ((py - view.y) * scale) / view.scale;
    view.scale = scale;
    applyView();
  }, { passive: false });
}
