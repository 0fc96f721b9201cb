// The embedding projector (issue 19): a model's token embedding, unembedding or a layer's hidden states for the
// selection as points. PCA comes from the host (2-D and 3-D are its first components); UMAP runs in a web worker
// from the same components. Colour by a property, labels for the selection, the neighbours and the point under
// the mouse; a token search lists its nearest neighbours by cosine (computed by the host on the full rows).

import type { NeighborsResult, ProjectorResult, ProjectorSource } from '../../src/common/protocol';
import { connect, h, render } from '../webview/common';
import { ViewRequests } from '../webview/requests';
import { PointCloud, initialCamera } from './pointCloud';
import { normalise } from './positions';
import type { ProjectorViewRequests } from '../../src/common/protocol';

declare const UMAP_WORKER_SOURCE: string;

type ToWebview =
  | { type: 'show'; title: string; hasRun: boolean; hiddenStates: number; selection: string }
  | { type: 'response'; id: number; result?: unknown; error?: string };

type Projection = 'pca2' | 'pca3' | 'umap';

const requests = new ViewRequests<typeof ProjectorViewRequests>();

interface State {
  source: ProjectorSource;
  layer: number;
  projection: Projection;
  colorBy: string;
  data?: ProjectorResult;
  coords?: Float32Array;
  umap?: Float32Array;
  neighbors?: NeighborsResult;
  hovered: number;
  status: string;
}

const state: State = { source: 'embed', layer: 0, projection: 'pca2', colorBy: 'norm', hovered: -1, status: '' };
let cloud: PointCloud | undefined;
let worker: Worker | undefined;
let show: Extract<ToWebview, { type: 'show' }> | undefined;
let frame = 0;
const marks = { selected: new Set<number>(), neighbors: new Map<number, number>() };

connect<ToWebview>((m) => {
  if (m.type === 'response') requests.settle(m);
  else if (m.type === 'show') {
    show = m;
    layout();
    void load();
  }
});

// ---------------------------------------------------------------- page

const canvas = h('canvas', { class: 'cloud', 'aria-label': 'points' });
const labels = h('div', { class: 'labels' });
const tooltip = h('div', { class: 'tooltip', hidden: true });
const status = h('span', { class: 'status', 'data-role': 'status' });
const list = h('ol', { class: 'neighbors', 'data-role': 'neighbors' });
const explained = h('p', { class: 'explained' });

function select(role: string, options: Array<[string, string]>, value: string, onChange: (v: string) => void): HTMLSelectElement {
  const s = h('select', { 'data-role': role, onchange: () => onChange(s.value) }, ...options.map(([v, label]) => h('option', { value: v }, label)));
  s.value = value;
  return s;
}

function layout(): void {
  if (!show) return;
  const sources: Array<[string, string]> = [['embed', 'Token embedding'], ['unembed', 'Unembedding (output head)']];
  if (show.hasRun) sources.push(['hidden', 'Hidden states of the selection']);
  const layer = h('input', { type: 'number', min: 0, max: Math.max(0, show.hiddenStates - 1), value: state.layer, 'data-role': 'layer', hidden: state.source !== 'hidden' });
  layer.addEventListener('change', () => {
    state.layer = Math.max(0, Math.min(show!.hiddenStates - 1, Number(layer.value) | 0));
    void load();
  });
  const search = h('input', { type: 'search', placeholder: 'a token, e.g. " the"', 'data-role': 'search', 'aria-label': 'token to search' });
  const go = () => void neighbors(search.value);
  search.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && go());
  render(
    'loading',
    h('header', { class: 'toolbar' },
      h('strong', {}, show.title),
      select('source', sources, state.source, (v) => {
        state.source = v as ProjectorSource;
        layer.hidden = state.source !== 'hidden';
        void load();
      }),
      layer,
      select('projection', [['pca2', 'PCA 2-D'], ['pca3', 'PCA 3-D'], ['umap', 'UMAP 2-D']], state.projection, (v) => {
        state.projection = v as Projection;
        place();
      }),
      h('label', {}, 'colour ', h('select', { 'data-role': 'color' })),
      search,
      h('button', { onclick: go, 'data-role': 'find' }, 'Nearest'),
      status),
    h('div', { class: 'body' },
      h('div', { class: 'stage' }, canvas, labels, tooltip),
      h('aside', { class: 'side' }, h('h3', {}, 'Nearest by cosine'), list, explained, h('p', { class: 'hint' }, 'Drag to pan (3-D: rotate), wheel to zoom, click a point for its neighbours. The selection’s tokens are drawn larger and labelled.'))),
  );
  cloud?.dispose();
  try {
    cloud = new PointCloud(canvas);
  } catch (e) {
    cloud = undefined;
    render('error', h('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
    return;
  }
  attachMouse();
}

function setStatus(text: string): void {
  state.status = text;
  status.textContent = text;
}

// ---------------------------------------------------------------- data

async function load(): Promise<void> {
  worker?.terminate();
  worker = undefined;
  state.umap = undefined;
  state.neighbors = undefined;
  list.replaceChildren();
  marks.neighbors.clear();
  setStatus('computing principal components…');
  document.body.dataset.state = 'loading';
  const started = performance.now();
  try {
    const data = (await requests.request('embeddings/project', { source: state.source, layer: state.layer })) as ProjectorResult;
    state.data = data;
    state.coords = decode(data.coords);
    marks.selected = new Set(data.selected);
    const colors = document.querySelector<HTMLSelectElement>('[data-role="color"]')!;
    colors.replaceChildren(...Object.keys(data.properties).concat('selection').map((p) => h('option', { value: p }, p)));
    if (!(state.colorBy in data.properties) && state.colorBy !== 'selection') state.colorBy = Object.keys(data.properties)[0];
    colors.value = state.colorBy;
    colors.onchange = () => {
      state.colorBy = colors.value;
      style();
    };
    explained.textContent = `PCA of ${data.count.toLocaleString()} × ${data.width}: components 1–3 explain ${data.explained.slice(0, 3).map((e) => (100 * e).toFixed(1) + ' %').join(', ')} (host ${Math.round(data.milliseconds)} ms)`;
    place();
    style();
    const ms = Math.round(performance.now() - started);
    setStatus(`${data.count.toLocaleString()} points · first picture in ${ms} ms`);
    document.body.dataset.firstPictureMs = String(ms);
    document.body.dataset.state = 'ready';
  } catch (e) {
    setStatus(e instanceof Error ? e.message : String(e));
    document.body.dataset.state = 'error';
  }
}

function decode(base64: string): Float32Array {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** Positions for the chosen projection (UMAP starts its worker the first time it is chosen). */
function place(): void {
  const data = state.data;
  if (!data || !state.coords || !cloud) return;
  if (state.projection === 'umap' && !state.umap) {
    startUmap(data);
    return;
  }
  const mode = state.projection === 'pca3' ? '3d' : '2d';
  if (cloud.camera.mode !== mode) cloud.camera = initialCamera(mode);
  const xyz = state.projection === 'umap' ? normalise(state.umap!, data.count, 2, 2)
    : normalise(state.coords, data.count, data.dims, mode === '3d' && data.dims >= 3 ? 3 : 2);
  cloud.setPositions(xyz);
  redraw();
}

function startUmap(data: ProjectorResult): void {
  worker?.terminate();
  const source = new Blob([UMAP_WORKER_SOURCE], { type: 'text/javascript' });
  const url = URL.createObjectURL(source);
  worker = new Worker(url);
  URL.revokeObjectURL(url);
  const started = performance.now();
  setStatus(`UMAP: nearest-neighbour graph of ${data.count.toLocaleString()} points…`);
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { type: string; xy?: Float32Array; epoch?: number; epochs?: number; message?: string };
    if (m.type === 'embedding' && m.xy) {
      if (!state.umap) document.body.dataset.umapFirstPictureMs = String(Math.round(performance.now() - started));
      state.umap = m.xy;
      if (state.projection === 'umap') place();
      setStatus(`UMAP epoch ${m.epoch} / ${m.epochs} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    } else if (m.type === 'done') {
      document.body.dataset.umapDoneMs = String(Math.round(performance.now() - started));
      setStatus(`UMAP done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } else if (m.type === 'error') setStatus(`UMAP: ${m.message}`);
  };
  worker.postMessage({ data: state.coords, count: data.count, dims: data.dims });
}

// ---------------------------------------------------------------- colours, labels

function themeColor(variable: string, fallback: [number, number, number]): [number, number, number] {
  // Styles set through the CSSOM (the CSP refuses style attributes).
  const probe = h('span');
  probe.style.color = `var(${variable})`;
  document.body.appendChild(probe);
  const m = getComputedStyle(probe).color.match(/[\d.]+/g);
  probe.remove();
  return m && m.length >= 3 ? [Number(m[0]) / 255, Number(m[1]) / 255, Number(m[2]) / 255] : fallback;
}

/** viridis at t in [0, 1] (five stops, linear between). */
function viridis(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [[0.267, 0.005, 0.329], [0.229, 0.322, 0.546], [0.128, 0.567, 0.551], [0.369, 0.789, 0.383], [0.993, 0.906, 0.144]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  return [0, 1, 2].map((k) => stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f) as [number, number, number];
}

function style(): void {
  const data = state.data;
  if (!data || !cloud) return;
  const n = data.count;
  const rgba = new Float32Array(n * 4), sizes = new Float32Array(n);
  const accent = themeColor('--vscode-focusBorder', [0.2, 0.5, 1]);
  const highlight = themeColor('--vscode-editorWarning-foreground', [1, 0.6, 0]);
  const values = data.properties[state.colorBy];
  let lo = Infinity, hi = -Infinity;
  if (values) for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const base = n > 20000 ? 2 : n > 2000 ? 3 : 6;
  const anyMark = marks.selected.size > 0 || marks.neighbors.size > 0;
  for (let i = 0; i < n; i++) {
    const marked = marks.neighbors.has(i) || (state.neighbors?.point === i && state.source !== 'hidden') || (state.source === 'hidden' && state.neighbors?.point === i);
    const selected = marks.selected.has(i) && state.source !== 'hidden';
    const c = state.colorBy === 'selection' ? (selected ? accent : [0.55, 0.55, 0.55]) : viridis(values && hi > lo ? (values[i] - lo) / (hi - lo) : 0.5);
    const color = marked ? highlight : c;
    rgba.set([color[0], color[1], color[2], marked || selected || !anyMark ? 0.95 : 0.45], i * 4);
    sizes[i] = marked ? base + 6 : selected ? base + 4 : base;
  }
  cloud.setStyle(rgba, sizes);
  redraw();
}

function redraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (!cloud) return;
    cloud.render(themeColor('--vscode-editor-background', [0.12, 0.12, 0.12]));
    drawLabels();
  });
}

/** Text labels (escaped: set as text) for the selection's tokens, the neighbours and the hovered point. */
function drawLabels(): void {
  const data = state.data;
  labels.replaceChildren();
  if (!data || !cloud) return;
  const shown = new Set<number>();
  if (state.neighbors) shown.add(state.neighbors.point);
  for (const i of marks.neighbors.keys()) shown.add(i);
  for (const i of marks.selected) if (shown.size < 300) shown.add(i);
  if (state.hovered >= 0) shown.add(state.hovered);
  for (const i of shown) {
    const p = cloud.screenOf(i);
    if (!p) continue;
    const cls = i === state.hovered ? 'label hovered' : marks.neighbors.has(i) || state.neighbors?.point === i ? 'label neighbor' : 'label';
    const label = h('span', { class: cls, 'data-point': i }, data.labels[i]);
    label.style.left = `${p.x + 6}px`;
    label.style.top = `${p.y - 8}px`;
    labels.appendChild(label);
  }
}

// ---------------------------------------------------------------- neighbours

async function neighbors(query: string | number): Promise<void> {
  if (!state.data) return;
  const byPoint = typeof query === 'number';
  if (!byPoint && !query.trim()) return;
  setStatus('nearest neighbours…');
  try {
    const params = byPoint ? { source: state.source, layer: state.layer, point: state.source === 'hidden' ? query : state.data.ids[query], k: 10 }
      : state.source === 'hidden'
        ? { source: state.source, layer: state.layer, point: state.data.labels.findIndex((l) => l.trim() === query.trim()), k: 10 }
        : { source: state.source, layer: state.layer, token: query, k: 10 };
    if (params.point === -1) throw new Error(`"${query}" is not one of the selection's tokens`);
    const r = (await requests.request('embeddings/neighbors', params)) as NeighborsResult;
    state.neighbors = r;
    marks.neighbors = new Map(r.neighbors.map((x) => [x.point, x.cosine]));
    list.replaceChildren(
      h('li', { class: 'query' }, h('span', { class: 'token' }, r.token), ' ', h('span', { class: 'id' }, `#${r.id}`)),
      ...r.neighbors.map((x) =>
        h('li', { 'data-point': x.point, onclick: () => void neighbors(x.point) },
          h('span', { class: 'token' }, x.token), ' ', h('span', { class: 'cosine', 'data-cosine': x.cosine }, x.cosine.toFixed(3)))),
    );
    setStatus(`${r.neighbors.length} nearest to ${r.token}`);
    style();
  } catch (e) {
    setStatus(e instanceof Error ? e.message : String(e));
  }
}

// ---------------------------------------------------------------- mouse

function attachMouse(): void {
  let drag: { x: number; y: number; moved: boolean } | undefined;
  canvas.addEventListener('mousedown', (e) => (drag = { x: e.clientX, y: e.clientY, moved: false }));
  window.addEventListener('mouseup', (e) => {
    if (drag && !drag.moved && cloud) {
      const r = canvas.getBoundingClientRect();
      const i = cloud.pick(e.clientX - r.left, e.clientY - r.top);
      if (i >= 0) void neighbors(i);
    }
    drag = undefined;
  });
  canvas.addEventListener('mousemove', (e) => {
    if (!cloud) return;
    const r = canvas.getBoundingClientRect();
    if (drag) {
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      drag.x = e.clientX;
      drag.y = e.clientY;
      const cam = cloud.camera;
      if (cam.mode === '2d') {
        // The shorter side spans 2 units at zoom 1 (viewMatrix).
        const unit = 2 / (Math.min(r.width, r.height) * cam.zoom);
        cam.cx -= dx * unit;
        cam.cy += dy * unit;
      } else {
        cam.yaw += dx * 0.01;
        cam.pitch = Math.max(-1.5, Math.min(1.5, cam.pitch + dy * 0.01));
      }
      redraw();
      return;
    }
    const i = cloud.pick(e.clientX - r.left, e.clientY - r.top);
    if (i !== state.hovered) {
      state.hovered = i;
      tooltip.hidden = i < 0;
      if (i >= 0 && state.data) {
        const cos = marks.neighbors.get(i);
        tooltip.textContent = `${state.data.labels[i]}  #${state.data.ids[i]}${cos !== undefined ? `  cos ${cos.toFixed(3)}` : ''}`;
        tooltip.style.left = `${e.clientX - r.left + 12}px`;
        tooltip.style.top = `${e.clientY - r.top + 12}px`;
      }
      redraw();
    }
  });
  canvas.addEventListener('wheel', (e) => {
    if (!cloud) return;
    e.preventDefault();
    cloud.camera.zoom = Math.max(0.05, Math.min(500, cloud.camera.zoom * Math.exp(-e.deltaY * 0.0015)));
    redraw();
  }, { passive: false });
  new ResizeObserver(() => redraw()).observe(canvas);
}
