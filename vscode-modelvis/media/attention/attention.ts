// The attention panel's webview: heatmap (host PNG + token labels + hover read-out), model view
// (sprite sheet), head view (SVG lines), rollout/flow, and the hidden-state tabs (logit lens,
// neurons; geometry, hidden-state image and NMF in hiddenViews.ts). Data comes from the host
// through the extension ({type: 'request'} → {type: 'response'}).

import {
  attentionKinds,
  axesOf,
  crossAlignment,
  decodeFloat32,
  isEncoderDecoder,
  headColor,
  headName,
  headViewLines,
  labelIndices,
  layerFor,
  readableToken,
  ToAttentionWebview,
  tokenLabel,
} from '../../src/attention/attentionLogic';
import { rowsOf, viewJson } from '../../src/attention/hiddenLogic';
import type { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionRun, HeadChoice, RolloutResult, ViewRequester } from '../../src/common/protocol';
import { connect, formatNumber, h, onShiftArrows, post, svg } from '../webview/common';
import { drawGeometry, drawHiddenImage, drawNmf, HiddenViewContext, MatrixFigure, tokenRowsFigure, ViewExport } from './hiddenViews';
import { snapshotPng } from './snapshot';
import { CircuitsViewContext, drawDla, drawHeads, drawPatching } from './circuitsViews';

type View = 'heatmap' | 'grid' | 'headview' | 'rollout' | 'lens' | 'neurons' | 'nmf' | 'geometry' | 'hidden' | 'heads' | 'dla' | 'patch';
const VIEWS: Array<{ id: View; label: string }> = [
  { id: 'heatmap', label: 'Heatmap' },
  { id: 'grid', label: 'Model view' },
  { id: 'headview', label: 'Head view' },
  { id: 'rollout', label: 'Rollout / flow' },
  { id: 'lens', label: 'Logit lens' },
  { id: 'neurons', label: 'Neurons' },
  { id: 'nmf', label: 'NMF' },
  { id: 'geometry', label: 'Geometry' },
  { id: 'hidden', label: 'Hidden image' },
  { id: 'heads', label: 'Head detectors' },
  { id: 'dla', label: 'Logit attribution' },
  { id: 'patch', label: 'Patching' },
];

let run: AttentionRun | undefined;
let runText = '';
let layersDone = 0;
let layer = 0;
let head: HeadChoice = 0;
/** An encoder-decoder run's attention shown: encoder self, decoder self or cross; undefined for self-attention runs. */
let kind: AttentionKind | undefined;
let view: View = 'heatmap';
let rolloutMethod: 'rollout' | 'flow' = 'rollout';
let threshold = 0.1;
let shownHeads = new Set<number>();
/** What "Save PNG" and "Save JSON" export from the current view. */
let currentExport: ViewExport | undefined;
let drawSeq = 0;

// ---- requests through the extension ----
let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const request: ViewRequester<typeof ATTENTION_VIEW_REQUESTS> = (method, params) => {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    post({ type: 'request', id, method, params });
  });
};
const cache = new Map<string, Promise<unknown>>();
function cached<T>(key: string, f: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = f();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}
/** The kind parameter of the attention requests (none for self-attention runs). */
const kindParam = (): { kind?: AttentionKind } => (kind ? { kind } : {});
const matrixOf = (l: number, hd: HeadChoice) =>
  cached(`m/${run?.runId}/${kind ?? 'self'}/${l}/${headName(hd)}`, async () => {
    const r = await request('attention/matrix', { layer: l, head: hd, ...kindParam() });
    return r.values ? decodeFloat32(r.values) : null;
  });
/** The layers of the attention shown (an encoder may be shallower than its decoder). */
const shownLayers = (): number => (run ? axesOf(run, kind).layers : 1);

connect<ToAttentionWebview>((m) => {
  switch (m.type) {
    case 'response': {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.result);
      return;
    }
    case 'running':
      run = undefined;
      renderShell();
      setStatus(`Running ${m.model} on ${m.text.length} characters…`, 'loading');
      return;
    case 'runError':
      if (!run) renderShell();
      setStatus('', 'error');
      showRunError(m.message);
      return;
    case 'runGone': {
      run = undefined;
      cache.clear();
      renderShell();
      setStatus('', 'error');
      const again: HTMLButtonElement = h('button', { id: 'rerun', type: 'button', onclick: () => { again.disabled = true; post({ type: 'rerun' }); } }, 'Run again');
      document.getElementById('view-content')?.replaceChildren(h('div', { id: 'run-gone', class: 'error', role: 'alert' }, h('p', {}, m.message), again));
      return;
    }
    case 'run':
      if (run?.runId !== m.run.runId) {
        cache.clear();
        shownHeads = new Set(Array.from({ length: m.run.model.heads }, (_, i) => i));
      }
      run = m.run;
      runText = m.text;
      layersDone = Math.max(1, m.layersDone);
      kind = isEncoderDecoder(m.run) ? (m.kind ?? 'cross') : undefined;
      // An encoder-decoder's run shows the three attentions in the heatmap; the other views read one stack.
      if (kind) view = 'heatmap';
      layer = kind ? layerFor(axesOf(m.run, kind), m.layer) : m.layer;
      head = m.head;
      renderShell();
      drawView();
      return;
    case 'layerDone':
      if (run && m.runId === run.runId) {
        layersDone = Math.max(layersDone, m.layer + 1);
        updateLayerControls();
      }
      return;
    case 'select':
      if (!run) return;
      layer = m.layer;
      head = m.head;
      updateControls();
      drawView();
      return;
  }
});

// ---- shell: header, controls, tabs ----

function setStatus(text: string, state: 'loading' | 'ready' | 'error'): void {
  const el = document.getElementById('run-status');
  if (el) el.textContent = text;
  document.body.dataset.state = state;
}

function showRunError(message: string): void {
  const box = document.getElementById('view-content');
  if (box) box.replaceChildren(h('div', { id: 'run-error', class: 'error', role: 'alert' }, message));
}

function headOptions(): HTMLOptionElement[] {
  if (!run) return [];
  const opts: HTMLOptionElement[] = [];
  for (let i = 0; i < run.model.heads; i++) opts.push(h('option', { value: String(i) }, `Head ${i}`));
  opts.push(h('option', { value: 'mean' }, 'Mean over heads'));
  opts.push(h('option', { value: 'max' }, 'Max over heads'));
  return opts;
}

function renderShell(): void {
  const root = document.getElementById('modelvis-root')!;
  root.replaceChildren();
  if (!run) {
    root.append(
      h('header', { class: 'panel-header' }, h('h1', { id: 'attention-title' }, 'Attention'), h('p', { id: 'run-status', class: 'meta', role: 'status' }, '')),
      h('div', { id: 'view-content' }),
    );
    return;
  }
  const r = run;
  const layers = shownLayers();
  const layerSlider = h('input', { type: 'range', id: 'layer-slider', min: 0, max: layers - 1, step: 1, value: layer, 'aria-label': 'Layer' });
  layerSlider.addEventListener('input', () => setLayer(Number(layerSlider.value)));
  const layerSelect = h('select', { id: 'layer-select', 'aria-label': 'Layer' }, ...Array.from({ length: layers }, (_, i) => h('option', { value: String(i) }, `Layer ${i}`)));
  layerSelect.addEventListener('change', () => setLayer(Number(layerSelect.value)));
  const headSlider = h('input', { type: 'range', id: 'head-slider', min: 0, max: r.model.heads + 1, step: 1, value: headIndex(head), 'aria-label': 'Head (last two: mean, max)' });
  headSlider.addEventListener('input', () => setHead(headFromIndex(Number(headSlider.value))));
  const headSelect = h('select', { id: 'head-select', 'aria-label': 'Head' }, ...headOptions());
  headSelect.addEventListener('change', () => setHead(headSelect.value === 'mean' || headSelect.value === 'max' ? headSelect.value : Number(headSelect.value)));

  const tabStrip = h('div', { id: 'view-tabs', role: 'tablist', class: 'tabs', 'aria-label': 'Views' });
  for (const v of kind ? VIEWS.filter((x) => x.id === 'heatmap') : VIEWS) {
    const b = h('button', { role: 'tab', class: 'tab', 'data-view': v.id, id: `tab-${v.id}`, 'aria-selected': String(v.id === view), tabindex: v.id === view ? 0 : -1, type: 'button' }, v.label);
    b.addEventListener('click', () => setView(v.id));
    b.addEventListener('keydown', (e) => {
      const i = VIEWS.findIndex((x) => x.id === v.id);
      const k = (e as KeyboardEvent).key;
      const next = k === 'ArrowRight' ? (i + 1) % VIEWS.length : k === 'ArrowLeft' ? (i - 1 + VIEWS.length) % VIEWS.length : -1;
      if (next >= 0) {
        e.preventDefault();
        e.stopPropagation();
        setView(VIEWS[next].id);
        document.getElementById(`tab-${VIEWS[next].id}`)?.focus();
      }
    });
    tabStrip.append(b);
  }
  const direction = r.model.causal ? 'causal' : 'bidirectional';
  const meta = kind
    ? `${r.n} source tokens${r.truncatedFrom ? ` (first ${r.n} of ${r.truncatedFrom})` : ''} · ${r.target!.tokens.length} target tokens · encoder ${r.model.encoderLayers} layers, decoder ${r.model.layers} layers × ${r.model.heads} heads · ${r.model.modelType} (encoder-decoder)`
    : `${r.n} tokens${r.truncatedFrom ? ` (first ${r.n} of ${r.truncatedFrom})` : ''} · ${r.model.layers} layers × ${r.model.heads} heads · ${r.model.modelType} (${direction})`;
  root.append(
    h(
      'header',
      { class: 'panel-header' },
      h('h1', { id: 'attention-title' }, `Attention · ${r.model.name}`),
      h(
        'p',
        { id: 'run-meta', class: 'meta', 'data-n': r.n, 'data-causal': String(r.model.causal) },
        meta,
      ),
      h('p', { id: 'run-status', class: 'meta', role: 'status' }, ''),
    ),
    ...(kind ? [encoderDecoderControls(r)] : []),
    h(
      'div',
      { class: 'controls', id: 'attention-controls' },
      h('label', { class: 'control attention-choice' }, h('span', {}, 'Layer'), layerSlider, layerSelect),
      h('label', { class: 'control attention-choice' }, h('span', {}, 'Head'), headSlider, headSelect),
      h('span', { class: 'control-buttons' },
        h('button', { id: 'save-png', class: 'secondary', type: 'button', onclick: () => void savePng() }, 'Save PNG'),
        h('button', { id: 'save-json', class: 'secondary', type: 'button', onclick: saveJson }, 'Save JSON'),
      ),
    ),
    tabStrip,
    h('div', { id: 'view-content', role: 'tabpanel', 'aria-labelledby': `tab-${view}` }),
    h('p', { id: 'keyboard-help', class: 'note attention-choice' }, 'Keyboard: ←/→ previous/next head, ↑/↓ previous/next layer (outside the sliders and lists). Hover or focus a cell for its weight.'),
  );
  updateControls();
  showAttentionChoice();
}

/**
 * An encoder-decoder's target box (the decoder's text: the model's own output unless the user typed one; Enter or Run
 * runs the selection again with it) and the choice of attention: cross (target → source), encoder self, decoder self.
 */
function encoderDecoderControls(r: AttentionRun): HTMLElement {
  const target = r.target!;
  const input = h('input', { type: 'text', id: 'target-text', value: target.text, 'aria-label': 'Target: the decoder text', spellcheck: 'false' });
  const go = () => {
    setStatus('Running with the new target…', 'loading');
    post({ type: 'retarget', target: input.value });
  };
  input.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') go();
  });
  const runButton = h('button', { id: 'target-run', type: 'button', onclick: go }, 'Run');
  const ownButton = h('button', { id: 'target-own', type: 'button', class: 'secondary', onclick: () => post({ type: 'retarget', target: '' }) }, "Model's output");
  const kinds = h('div', { id: 'kind-choice', role: 'radiogroup', class: 'tabs', 'aria-label': 'Attention' });
  for (const k of attentionKinds(r)) {
    const b = h('button', { type: 'button', role: 'radio', class: 'tab kind', 'data-kind': k.kind, id: `kind-${k.kind}`, 'aria-checked': String(k.kind === kind) }, k.label);
    b.addEventListener('click', () => setKind(k.kind));
    kinds.append(b);
  }
  return h(
    'div',
    { class: 'controls target-controls', id: 'target-controls' },
    h('label', { class: 'control target-box' }, h('span', {}, 'Target'), input),
    h('span', { class: 'control-buttons' }, runButton, ownButton),
    h('p', { id: 'target-note', class: 'note' }, target.greedy ? "The model's own greedy output for the selection; type another target and press Enter." : 'Your target; "Model\'s output" goes back to the greedy one.'),
    kinds,
  );
}

function setKind(k: AttentionKind): void {
  if (!run || k === kind) return;
  kind = k;
  layer = layerFor(axesOf(run, k), layer);
  post({ type: 'select', layer, head, kind });
  post({ type: 'paintAlignment', weights: null, target: -1 });
  renderShell();
  drawView();
}

/** The attention layer and head only where they choose what is shown (the other tabs have their own controls). */
function showAttentionChoice(): void {
  const uses = view === 'heatmap' || view === 'headview';
  document.querySelectorAll<HTMLElement>('.attention-choice').forEach((e) => (e.hidden = !uses));
}

async function savePng(): Promise<void> {
  const e = currentExport;
  if (!e) return setStatus('This view has nothing to save yet.', 'ready');
  try {
    post({ type: 'savePng', png: await e.png(), name: e.name });
  } catch (err) {
    setStatus(`Could not draw the PNG: ${(err as Error).message}`, 'error');
  }
}

function saveJson(): void {
  const e = currentExport;
  // Views without their own numbers export the attention matrix of the chosen layer and head.
  if (e?.json) post({ type: 'saveJson', name: e.name, json: e.json() });
  else post({ type: 'saveJson', layer, head, kind });
}

function headIndex(hd: HeadChoice): number {
  if (!run) return 0;
  return hd === 'mean' ? run.model.heads : hd === 'max' ? run.model.heads + 1 : hd;
}
function headFromIndex(i: number): HeadChoice {
  if (!run) return 0;
  return i === run.model.heads ? 'mean' : i === run.model.heads + 1 ? 'max' : i;
}

function updateLayerControls(): void {
  const sel = document.getElementById('layer-select') as HTMLSelectElement | null;
  if (!sel) return;
  Array.from(sel.options).forEach((o, i) => {
    o.disabled = i >= layersDone;
    o.textContent = i >= layersDone ? `Layer ${i} (computing…)` : `Layer ${i}`;
  });
  const slider = document.getElementById('layer-slider') as HTMLInputElement | null;
  if (slider) slider.dataset.layersDone = String(layersDone);
  document.getElementById('attention-controls')?.setAttribute('data-layers-done', String(layersDone));
}

function updateControls(): void {
  const set = (id: string, v: string) => {
    const el = document.getElementById(id) as HTMLInputElement | HTMLSelectElement | null;
    if (el) el.value = v;
  };
  set('layer-slider', String(layer));
  set('layer-select', String(layer));
  set('head-slider', String(headIndex(head)));
  set('head-select', String(head));
  updateLayerControls();
}

function setLayer(l: number): void {
  if (!run) return;
  const next = Math.max(0, Math.min(shownLayers() - 1, l));
  if (next === layer) return updateControls();
  layer = next;
  post({ type: 'select', layer, head, kind });
  updateControls();
  if (view === 'heatmap' || view === 'headview') drawView();
}

function setHead(hd: HeadChoice): void {
  if (!run) return;
  head = hd;
  post({ type: 'select', layer, head, kind });
  updateControls();
  if (view === 'heatmap') drawView();
}

function setView(v: View): void {
  view = v;
  showAttentionChoice();
  document.querySelectorAll('#view-tabs button').forEach((b) => {
    const on = (b as HTMLElement).dataset.view === v;
    b.setAttribute('aria-selected', String(on));
    (b as HTMLElement).tabIndex = on ? 0 : -1;
  });
  document.getElementById('view-content')?.setAttribute('aria-labelledby', `tab-${v}`);
  drawView();
}

document.addEventListener('keydown', (e) => {
  if (!run) return;
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.getAttribute('role') === 'tab')) return;
  const heads = run.model.heads + 2;
  if (e.key === 'ArrowRight') setHead(headFromIndex((headIndex(head) + 1) % heads));
  else if (e.key === 'ArrowLeft') setHead(headFromIndex((headIndex(head) - 1 + heads) % heads));
  else if (e.key === 'ArrowUp') setLayer(layer - 1);
  else if (e.key === 'ArrowDown') setLayer(layer + 1);
  else return;
  e.preventDefault();
});

function content(): HTMLElement {
  return document.getElementById('view-content')!;
}

function drawView(): void {
  if (!run) return;
  const seq = ++drawSeq;
  const box = content();
  box.replaceChildren();
  currentExport = undefined;
  setStatus('', 'loading');
  const done = (p: Promise<void>) =>
    p.then(
      () => seq === drawSeq && setStatus(statusLine(), 'ready'),
      (e: Error) => {
        if (seq !== drawSeq) return;
        box.append(h('div', { class: 'error view-error', role: 'alert' }, e.message));
        setStatus('', 'error');
      },
    );
  const isCurrent = () => seq === drawSeq;
  switch (view) {
    case 'heatmap':
      return void done(drawHeatmap(box, isCurrent));
    case 'grid':
      return void done(drawGrid(box, isCurrent));
    case 'headview':
      return void done(drawHeadView(box, isCurrent));
    case 'rollout':
      return void done(drawRollout(box, isCurrent));
    case 'lens':
      return void done(drawLens(box, isCurrent));
    case 'neurons':
      return void done(drawNeurons(box, isCurrent));
    case 'nmf':
      return void done(drawNmf(hiddenContext(isCurrent), box));
    case 'geometry':
      return void done(drawGeometry(hiddenContext(isCurrent), box));
    case 'hidden':
      return void done(drawHiddenImage(hiddenContext(isCurrent), box));
    case 'heads':
      return void done(drawHeads(circuitsContext(isCurrent), box));
    case 'dla':
      return void done(drawDla(circuitsContext(isCurrent), box));
    case 'patch':
      return void done(drawPatching(circuitsContext(isCurrent), box));
  }
}

function circuitsContext(isCurrent: () => boolean): CircuitsViewContext {
  return {
    ...hiddenContext(isCurrent),
    openHead: (l, hd) => {
      // Layer and head first (no redraw outside the heatmap), then the heatmap tab draws that head.
      layer = Math.max(0, Math.min(run!.model.layers - 1, l));
      head = hd;
      post({ type: 'select', layer, head });
      updateControls();
      setView('heatmap');
    },
  };
}

function hiddenContext(isCurrent: () => boolean): HiddenViewContext {
  return {
    run: run!,
    text: runText,
    request,
    cached,
    matrixFigure,
    setExport: (e) => {
      if (isCurrent()) currentExport = e;
    },
    isCurrent,
    redraw: drawView,
  };
}

function statusLine(): string {
  if (!run) return '';
  const where = view !== 'heatmap' && view !== 'headview' ? '' : ` · layer ${layer}${view === 'heatmap' ? `, head ${headName(head)}` : ''}`;
  const which = kind ? ` · ${axesOf(run, kind).label}` : '';
  return `${VIEWS.find((v) => v.id === view)?.label}${which}${where}`;
}

// ---- matrix figure shared by the heatmap, rollout and similarity views ----

function availableSize(): number {
  const w = (document.getElementById('modelvis-root')?.clientWidth ?? 800) - 140;
  const hgt = window.innerHeight - 260;
  return Math.max(160, Math.min(w, Math.max(hgt, 320), 1400));
}

function matrixFigure(o: MatrixFigure): HTMLElement {
  const r = run!;
  const queries = o.queries ?? r.tokens;
  const keys = o.keys ?? r.tokens;
  const rowsN = queries.length;
  const n = keys.length;
  const size = o.size ?? availableSize();
  // Both axes get the whole size, so a short source beside a long target (cross-attention: target rows × source
  // columns) keeps columns wide enough to label; self-attention's cells stay square.
  const width = size;
  const height = size;
  const cellW = width / n;
  const cellH = height / rowsN;
  const img = h('img', { src: `data:image/png;base64,${o.png}`, alt: o.label, class: 'matrix-img', 'data-loaded': 'false', draggable: 'false' });
  img.style.width = `${width}px`;
  img.style.height = `${height}px`;
  img.addEventListener('load', () => img.setAttribute('data-loaded', 'true'));
  const topLabels = h('div', { class: 'key-labels', 'aria-hidden': 'true' });
  const leftLabels = h('div', { class: 'query-labels', 'aria-hidden': 'true' });
  topLabels.style.width = `${width}px`;
  leftLabels.style.height = `${height}px`;
  const keyEls = new Map<number, HTMLElement>();
  const queryEls = new Map<number, HTMLElement>();
  for (const i of labelIndices(n, width, 13)) {
    const t = keys[i];
    const k = h('span', { class: 'token-label key', 'data-index': i, 'data-axis': 'key', title: `${i}: ${JSON.stringify(t.text)} (id ${t.id})` }, tokenLabel(t));
    // Centred on its column, but never left of the key axis (half the label's 13 px): the corner's name is there.
    k.style.left = `${Math.max((i + 0.5) * cellW, 6.5)}px`;
    topLabels.append(k);
    keyEls.set(i, k);
  }
  for (const i of labelIndices(rowsN, height, 13)) {
    const t = queries[i];
    const q = h('span', { class: 'token-label query', 'data-index': i, 'data-axis': 'query', title: `${i}: ${JSON.stringify(t.text)} (id ${t.id})` }, tokenLabel(t));
    q.style.top = `${(i + 0.5) * cellH}px`;
    leftLabels.append(q);
    queryEls.set(i, q);
  }
  const marker = h('div', { class: 'cell-marker', 'aria-hidden': 'true' });
  marker.style.width = `${Math.max(cellW, 2)}px`;
  marker.style.height = `${Math.max(cellH, 2)}px`;
  const readout = h('p', { id: `${o.id}-readout`, class: 'readout', 'aria-live': 'polite' }, 'Hover the map (or focus it and use Shift+arrows) to read a value.');
  const plot = h('div', { class: 'matrix-plot', tabindex: 0, role: 'img', 'aria-label': `${o.label}. Shift+arrow keys move the read-out.` }, img, marker);
  let cur = { q: -1, k: -1 };
  let hoverSeq = 0;
  const show = (q: number, k: number) => {
    if (q < 0 || k < 0 || q >= rowsN || k >= n) return;
    if (q !== cur.q) o.onRow?.(q);
    cur = { q, k };
    marker.style.left = `${k * cellW}px`;
    marker.style.top = `${q * cellH}px`;
    marker.classList.add('visible');
    document.querySelectorAll(`#${o.id} .token-label.active`).forEach((e) => e.classList.remove('active'));
    queryEls.get(q)?.classList.add('active');
    keyEls.get(k)?.classList.add('active');
    const seq = ++hoverSeq;
    const write = (w: number | undefined) => {
      if (seq !== hoverSeq) return;
      readout.textContent = o.readout ? o.readout(q, k, w) : `query ${q} “${tokenLabel(queries[q], 30)}” → key ${k} “${tokenLabel(keys[k], 30)}”: ${w === undefined ? '…' : formatNumber(w)}`;
      readout.dataset.query = String(q);
      readout.dataset.key = String(k);
      readout.dataset.weight = w === undefined ? '' : String(w);
    };
    const v = o.valueAt(q, k);
    if (v instanceof Promise) {
      write(undefined);
      v.then(write, () => undefined);
    } else write(v);
  };
  plot.addEventListener('mousemove', (e) => {
    const rect = img.getBoundingClientRect();
    const k = Math.floor(((e.clientX - rect.left) / rect.width) * n);
    const q = Math.floor(((e.clientY - rect.top) / rect.height) * rowsN);
    if (q !== cur.q || k !== cur.k) show(q, k);
  });
  onShiftArrows(plot, (dq, dk) => show(Math.max(0, Math.min(rowsN - 1, Math.max(0, cur.q) + dq)), Math.max(0, Math.min(n - 1, Math.max(0, cur.k) + dk))));
  const grid = h('div', { class: 'matrix-figure', id: o.id }, h('div', { class: 'corner' }, h('span', { class: 'axis-name' }, o.axisName ?? 'query ↓ / key →')), topLabels, leftLabels, plot);
  return h('div', {}, grid, readout);
}

async function drawHeatmap(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const l = layer;
  const hd = head;
  const k = kind;
  const axes = axesOf(r, k);
  const cols = axes.keys.length;
  const holder = h('div', { id: 'attention-heatmap', 'data-status': 'loading', 'data-layer': l, 'data-head': headName(hd) }, h('p', { class: 'loading' }, `Layer ${l}, head ${headName(hd)}…`));
  box.append(holder);
  // Ask for no more pixels than are shown: the host max-pools token blocks into them, where the browser's
  // pixelated downscale of a bigger image would drop whole token rows and columns (and decoding 1024² PNGs
  // is most of the drawing time at 2,048 tokens). Save PNG still gets the 1024 px picture.
  const size = availableSize();
  const shownPx = Math.min(1024, Math.ceil(size * (window.devicePixelRatio || 1)));
  const imageOf = (maxSize: number) =>
    cached(`img/${r.runId}/${k ?? 'self'}/${l}/${headName(hd)}/${maxSize}`, () =>
      request('attention/image', { layer: l, head: hd, maxSize, ...kindParam() }),
    );
  // The picture first; the numbers for the read-out (the whole matrix up to 512 tokens, 1 MB there) are asked
  // for once it is here, so they never queue ahead of it. Past 512 tokens each hovered row is asked for.
  const image = await imageOf(shownPx);
  if (!isCurrent()) return;
  const matrixP = r.n <= 512 ? matrixOf(l, hd) : Promise.resolve(null);
  let matrix: Float32Array | null = null;
  matrixP.then((m) => (matrix = m), () => undefined);
  const rows = new Map<number, Promise<number[]>>();
  const rowValue = (q: number, k: number): Promise<number> => {
    let p = rows.get(q);
    if (!p) {
      p = request('attention/row', { layer: l, head: hd, query: q, top: 5, ...kindParam() }).then((x) => x.weights);
      rows.set(q, p);
    }
    return p.then((w) => w[k]);
  };
  const valueAt = (q: number, key: number): number | Promise<number> => {
    if (matrix) return matrix[q * cols + key];
    return r.n <= 512 ? matrixP.then((m) => (m ? m[q * cols + key] : rowValue(q, key))) : rowValue(q, key);
  };
  const label = k
    ? `${axes.label} attention of layer ${l}, head ${headName(hd)}: ${axes.queries.length} ${k === 'encoder' ? 'source' : 'target'} tokens down, ${cols} ${k === 'decoder' ? 'target' : 'source'} tokens across`
    : `Attention of layer ${l}, head ${headName(hd)}: ${r.n} query tokens down, ${r.n} key tokens across${r.model.causal ? '' : ' (bidirectional)'}`;
  // Cross-attention reads as an alignment: the target token under the pointer paints its source weights on the selection.
  const onRow =
    k === 'cross'
      ? (q: number) =>
          void matrixP.then((m) => {
            if (!isCurrent()) return;
            const weights = m ? Array.from(m.subarray(q * cols, (q + 1) * cols)) : null;
            if (weights) post({ type: 'paintAlignment', weights, target: q });
          })
      : undefined;
  const figure = matrixFigure({
    id: 'heatmap-figure',
    png: image.png,
    label,
    valueAt,
    size,
    queries: axes.queries,
    keys: axes.keys,
    onRow,
    axisName: k === 'cross' ? 'target ↓ / source →' : undefined,
  });
  holder.replaceChildren(figure);
  if (k === 'cross') {
    const list = h('ol', { id: 'alignment-list', class: 'alignment', 'aria-label': 'Alignment: each target token and the source token it attends to most' });
    holder.append(h('h3', {}, 'Alignment (each target token → its strongest source token)'), list);
    matrixP.then((m) => {
      if (!m || !isCurrent()) return;
      for (const a of crossAlignment(m, axes.queries, axes.keys))
        list.append(
          h('li', { 'data-target': a.target, 'data-source': a.source }, `${tokenLabel(axes.queries[a.target], 24)} → ${tokenLabel(axes.keys[a.source], 24)} (${formatNumber(a.weight)})`),
        );
    }, () => undefined);
  }
  if (image.factor > 1) holder.append(h('p', { class: 'note' }, `Each pixel covers ${image.factor}×${image.factor} token pairs.`));
  holder.dataset.status = 'ready';
  currentExport = { png: async () => (r.n > shownPx ? (await imageOf(1024)).png : image.png), name: `attention-${r.model.name}${k ? `-${k}` : ''}-L${l}-H${headName(hd)}` };
}

// ---- model view ----

async function drawGrid(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const holder = h('div', { id: 'grid', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Rendering every layer and head…'));
  box.append(holder);
  const cellPx = Math.max(24, Math.min(96, Math.floor(((document.getElementById('modelvis-root')?.clientWidth ?? 800) - 80) / r.model.heads) - 6));
  const grid = await cached(`grid/${r.runId}/${cellPx}`, () => request('attention/grid', { cell: cellPx }));
  if (!isCurrent()) return;
  const scale = Math.min(2, Math.max(0.25, ((document.getElementById('modelvis-root')?.clientWidth ?? 800) - 60) / grid.width));
  const img = h('img', { src: `data:image/png;base64,${grid.png}`, alt: `Model view: ${grid.layers} layers × ${grid.heads} heads`, 'data-loaded': 'false', draggable: 'false' });
  img.style.width = `${grid.width * scale}px`;
  img.style.height = `${grid.height * scale}px`;
  img.addEventListener('load', () => img.setAttribute('data-loaded', 'true'));
  const sheet = h('div', { class: 'grid-sheet' }, img);
  sheet.style.width = `${grid.width * scale}px`;
  sheet.style.height = `${grid.height * scale}px`;
  for (const c of grid.cells) {
    const b = h('button', {
      type: 'button',
      class: 'grid-cell',
      'data-layer': c.layer,
      'data-head': c.head,
      'aria-label': `Layer ${c.layer} head ${c.head}`,
      title: `Layer ${c.layer}, head ${c.head}: open in the heatmap`,
    });
    b.style.left = `${c.x * scale}px`;
    b.style.top = `${c.y * scale}px`;
    b.style.width = `${c.width * scale}px`;
    b.style.height = `${c.height * scale}px`;
    b.addEventListener('click', () => {
      layer = c.layer;
      head = c.head;
      post({ type: 'select', layer, head });
      updateControls();
      setView('heatmap');
    });
    sheet.append(b);
  }
  // Labels: layer at the left of its row, head above its column (positions from the cells).
  const rowsY = new Map<number, number>();
  const colsX = new Map<number, number>();
  for (const c of grid.cells) {
    rowsY.set(c.layer, Math.min(rowsY.get(c.layer) ?? Infinity, c.y + c.height / 2));
    colsX.set(c.head, Math.min(colsX.get(c.head) ?? Infinity, c.x + c.width / 2));
  }
  const left = h('div', { class: 'grid-layer-labels', 'aria-hidden': 'true' });
  left.style.height = `${grid.height * scale}px`;
  for (const [l, y] of rowsY) {
    const s = h('span', { class: 'grid-label' }, `L${l}`);
    s.style.top = `${y * scale}px`;
    left.append(s);
  }
  const top = h('div', { class: 'grid-head-labels', 'aria-hidden': 'true' });
  top.style.width = `${grid.width * scale}px`;
  for (const [hd, x] of colsX) {
    const s = h('span', { class: 'grid-label' }, `H${hd}`);
    s.style.left = `${x * scale}px`;
    top.append(s);
  }
  holder.replaceChildren(
    h('p', { class: 'note' }, 'Every layer (rows) and head (columns). Click a thumbnail to open it in the heatmap.'),
    h('div', { class: 'grid-figure' }, h('div', {}), top, left, sheet),
  );
  holder.dataset.status = 'ready';
  currentExport = { png: async () => grid.png, name: `attention-${r.model.name}-model-view` };
}

// ---- head view ----

async function drawHeadView(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const l = layer;
  const holder = h('div', { id: 'headview', 'data-status': 'loading', 'data-layer': l }, h('p', { class: 'loading' }, `Layer ${l}: every head…`));
  box.append(holder);
  if (r.n > 512) {
    holder.replaceChildren(h('p', { class: 'note', role: 'note' }, `The head view draws at most 512 tokens (this run has ${r.n}); use the heatmap.`));
    holder.dataset.status = 'none';
    return;
  }
  const heads = Array.from({ length: r.model.heads }, (_, i) => i);
  const mats = await Promise.all(heads.map((hd) => matrixOf(l, hd)));
  if (!isCurrent()) return;
  const all = new Map<number, Float32Array>();
  heads.forEach((hd) => mats[hd] && all.set(hd, mats[hd]!));

  const toggles = h('fieldset', { class: 'head-toggles' }, h('legend', {}, 'Heads'));
  for (const hd of heads) {
    const cb = h('input', { type: 'checkbox', class: 'head-toggle', id: `head-toggle-${hd}`, 'data-head': hd, checked: shownHeads.has(hd) });
    cb.addEventListener('change', () => {
      if (cb.checked) shownHeads.add(hd);
      else shownHeads.delete(hd);
      drawLines();
    });
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = headColor(hd, r.model.heads);
    toggles.append(h('label', { for: `head-toggle-${hd}` }, cb, swatch, ` ${hd}`));
  }
  const slider = h('input', { type: 'range', id: 'headview-threshold', min: 0, max: 0.95, step: 0.01, value: threshold, 'aria-label': 'Threshold: hide weaker lines' });
  const thresholdText = h('span', { id: 'headview-threshold-value' }, threshold.toFixed(2));
  slider.addEventListener('input', () => {
    threshold = Number(slider.value);
    thresholdText.textContent = threshold.toFixed(2);
    drawLines();
  });
  const rowH = 18;
  const width = 460;
  const leftX = 150;
  const rightX = width - 150;
  const height = r.n * rowH + 10;
  const linesG = svg('g', { class: 'hv-lines' });
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `Head view of layer ${l}: lines from each query (left) to the keys (right) it attends to` }, linesG);
  const tokenG = svg('g', { class: 'hv-tokens' });
  chart.append(tokenG);
  const highlight = (side: 'query' | 'key' | null, i: number) => {
    chart.classList.toggle('focused', side !== null);
    linesG.querySelectorAll('line').forEach((ln) => {
      const on = side === 'query' ? ln.dataset.q === String(i) : side === 'key' ? ln.dataset.k === String(i) : false;
      ln.classList.toggle('hl', on);
    });
  };
  r.tokens.forEach((t, i) => {
    const y = 10 + i * rowH + rowH / 2;
    for (const side of ['query', 'key'] as const) {
      const el = svg(
        'text',
        { class: `hv-token token-label ${side}`, x: side === 'query' ? leftX - 6 : rightX + 6, y: y + 4, 'text-anchor': side === 'query' ? 'end' : 'start', 'data-index': i, 'data-axis': side, tabindex: 0 },
        svg('title', {}, `${i}: ${JSON.stringify(t.text)}`),
        tokenLabel(t, 20),
      );
      el.addEventListener('mouseenter', () => highlight(side, i));
      el.addEventListener('mouseleave', () => highlight(null, i));
      el.addEventListener('focus', () => highlight(side, i));
      el.addEventListener('blur', () => highlight(null, i));
      tokenG.append(el);
    }
  });
  const count = h('span', { id: 'headview-count', class: 'note' });
  function drawLines(): void {
    const shown = new Map([...all].filter(([hd]) => shownHeads.has(hd)));
    const lines = headViewLines(shown, r.n, threshold, 6000);
    linesG.replaceChildren(
      ...lines
        .slice()
        .reverse()
        .map((ln) => {
          const e = svg('line', {
            x1: leftX,
            y1: 10 + ln.query * rowH + rowH / 2,
            x2: rightX,
            y2: 10 + ln.key * rowH + rowH / 2,
            stroke: headColor(ln.head, r.model.heads),
            'stroke-width': (0.5 + 2.5 * ln.weight).toFixed(2),
            'data-q': ln.query,
            'data-k': ln.key,
            'data-head': ln.head,
          });
          (e as SVGElement).style.opacity = String(Math.min(1, 0.15 + ln.weight));
          return e;
        }),
    );
    count.textContent = `${lines.length} lines at weight ≥ ${threshold.toFixed(2)}`;
  }
  drawLines();
  holder.replaceChildren(
    h('div', { class: 'controls' }, toggles, h('label', { class: 'control' }, h('span', {}, 'Threshold'), slider, thresholdText), count),
    h('p', { class: 'note' }, `Layer ${l}: each query (left) to the keys (right) it attends to; colour = head, width and opacity = weight. Hover or focus a token to highlight its lines.`),
    h('div', { class: 'headview-scroll' }, chart),
  );
  holder.dataset.status = 'ready';
  currentExport = { png: () => snapshotPng(holder, getComputedStyle(document.body).backgroundColor), name: `attention-${r.model.name}-L${l}-headview` };
}

// ---- rollout / flow ----

async function drawRollout(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const method = rolloutMethod;
  const radios = h('fieldset', { class: 'radio-group', id: 'rollout-method' }, h('legend', {}, 'Method'));
  for (const [m, label] of [['rollout', 'Attention rollout'], ['flow', 'Attention flow']] as const) {
    const input = h('input', { type: 'radio', name: 'rollout-method', id: `rollout-${m}`, value: m, checked: m === method });
    input.addEventListener('change', () => {
      rolloutMethod = m;
      drawView();
    });
    radios.append(h('label', { for: `rollout-${m}` }, input, ` ${label}`));
  }
  const holder = h('div', { id: 'rollout', 'data-status': 'loading', 'data-method': method }, h('p', { class: 'loading' }, `Computing ${method}…`));
  box.append(radios, holder);
  let res: RolloutResult;
  try {
    res = await cached(`rollout/${r.runId}/${method}`, () => request('attention/rollout', { method, maxSize: 1024 }));
  } catch (e) {
    if (!isCurrent()) return;
    holder.replaceChildren(h('div', { id: 'rollout-error', class: 'error', role: 'alert' }, (e as Error).message));
    holder.dataset.status = 'error';
    return;
  }
  if (!isCurrent()) return;
  const values = res.values ? decodeFloat32(res.values) : null;
  const png = res.image.png;
  holder.replaceChildren();
  if (res.note) holder.append(h('p', { id: 'rollout-note', class: 'note', role: 'note' }, res.note));
  holder.append(
    matrixFigure({
      id: 'rollout-figure',
      png,
      label: `Attention ${method} through all layers: query tokens down, key tokens across`,
      valueAt: (q, k) => (values ? values[q * r.n + k] : undefined),
    }),
  );
  holder.dataset.status = 'ready';
  currentExport = {
    png: async () => png,
    name: `attention-${r.model.name}-${method}`,
    json: values ? () => viewJson(r, runText, method, { n: r.n, values: rowsOf(values, r.n, r.n), note: res.note }) : undefined,
  };
}

// ---- logit lens (issue 6) ----

async function drawLens(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const holder = h('div', { id: 'lens', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Logit lens over every layer…'));
  box.append(holder);
  const lens = await cached(`lens/${r.runId}`, () => request('hidden/lens', { top: 10 }));
  if (!isCurrent()) return;
  const detail = h('div', { id: 'lens-detail', class: 'lens-detail', 'aria-live': 'polite' }, h('p', { class: 'note' }, 'Click a cell for its top tokens and the rank of the actual next token.'));
  const table = h('table', { id: 'lens-grid', class: 'lens-grid' });
  const headRow = h('tr', {}, h('th', { scope: 'col' }, 'token'));
  for (let k = 0; k < lens.layers; k++) headRow.append(h('th', { scope: 'col' }, k === lens.layers - 1 ? `out` : `h${k}`));
  table.append(h('thead', {}, headRow));
  const body = h('tbody', {});
  for (let pos = 0; pos < lens.n; pos++) {
    const tr = h('tr', {}, h('th', { scope: 'row', class: 'token-label', title: JSON.stringify(r.tokens[pos]?.text ?? '') }, tokenLabel(r.tokens[pos] ?? { display: '', text: '' })));
    for (let k = 0; k < lens.layers; k++) {
      const top1 = lens.top[k]?.[pos]?.[0];
      const btn = h(
        'button',
        { type: 'button', class: 'lens-cell', 'data-layer': k, 'data-pos': pos, 'data-id': top1?.id, title: top1 ? `${JSON.stringify(top1.token)} ${(top1.prob * 100).toFixed(1)}%` : '' },
        top1 ? tokenLabel({ display: readableToken(top1.token), text: top1.token }, 10) : '',
      );
      btn.style.setProperty('--p', String(top1 ? Math.max(0, Math.min(1, top1.prob)) : 0));
      btn.addEventListener('click', () => {
        const list = lens.top[k][pos];
        const rank = lens.nextRank[k]?.[pos];
        const next = r.tokens[pos + 1];
        detail.replaceChildren(
          h('h3', {}, `Position ${pos} “${tokenLabel(r.tokens[pos], 30)}”, ${k === lens.layers - 1 ? 'model output' : `hidden state ${k}`}`),
          h('ol', { class: 'lens-top' }, ...list.map((t) => h('li', {}, h('code', {}, tokenLabel({ display: readableToken(t.token), text: t.token }, 30)), ` ${(t.prob * 100).toFixed(2)}%`))),
          h(
            'p',
            { id: 'lens-next-rank' },
            rank === undefined || rank < 0 || !next
              ? 'Last position: no next token.'
              : `Actual next token “${tokenLabel(next, 30)}”: rank ${rank + 1}, probability ${((lens.nextProb[k][pos] ?? 0) * 100).toFixed(2)}%`,
          ),
        );
      });
      tr.append(h('td', {}, btn));
    }
    body.append(tr);
  }
  table.append(body);
  // The rank picture (the host's: a row per position, a column per hidden state 0..L, as the grid above), labelled
  // like the hidden-state image: tokens down the side, hidden states across, the rank under the pointer.
  const K = lens.layers;
  const layerName = (k: number) => (k === K - 1 ? 'model output' : `hidden state ${k}`);
  const rankReadout = h('p', { id: 'lens-rank-readout', class: 'readout', 'aria-live': 'polite' }, 'Hover the image (or focus it and use Shift+arrows) to read a rank.');
  const readoutRank = (pos: number, k: number, rank: number | undefined) => {
    rankReadout.textContent = `(“${tokenLabel(r.tokens[pos], 30)}” ${pos}, ${layerName(k)}) = ${rank === undefined ? 'no next token' : `rank ${rank}`}`;
    rankReadout.dataset.row = String(pos);
    rankReadout.dataset.col = String(k);
    rankReadout.dataset.rank = rank === undefined ? '' : String(rank);
  };
  const rankWidth = Math.max(120, Math.min(480, K * 40));
  const rankFigure = tokenRowsFigure({
    run: r,
    id: 'lens-rank-figure',
    png: lens.rankImage.png,
    alt: `Rank of the actual next token: ${lens.n} tokens down, hidden states 0 to ${K - 1} across`,
    label: 'Rank of the actual next token at every position and hidden state',
    rows: lens.n,
    cols: K,
    width: rankWidth,
    axisName: 'hidden state →',
    ticks: labelIndices(K, rankWidth, 18).map((k) => [k, String(k)]),
    // Ranks from 1 (the layer's top prediction), as the cell detail above reads them.
    show: (pos, k) => {
      const rank = lens.nextRank[k]?.[pos];
      readoutRank(pos, k, rank !== undefined && rank >= 0 ? rank + 1 : undefined);
    },
  });
  rankFigure.querySelector('img')?.setAttribute('id', 'lens-rank-image');
  holder.replaceChildren(
    h('div', { class: 'lens-layout' }, h('div', { class: 'lens-scroll' }, table), detail),
    h('h2', {}, 'Rank of the actual next token'),
    rankFigure,
    rankReadout,
  );
  if (lens.rankNote) holder.append(h('p', { class: 'note' }, lens.rankNote));
  holder.dataset.status = 'ready';
  // PNG: the grid and the rank picture as shown; JSON: every layer's top tokens and the next token's rank.
  currentExport = {
    png: () => snapshotPng(holder, getComputedStyle(document.body).backgroundColor),
    name: `lens-${r.model.name}`,
    json: () => viewJson(r, runText, 'logit-lens', { layers: lens.top, nextRank: lens.nextRank, nextProb: lens.nextProb, rankNote: lens.rankNote }),
  };
}

// ---- neurons (issue 6) ----

let neuronLayer = 0;

async function drawNeurons(box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const r = run!;
  const sel = h('select', { id: 'neuron-layer', 'aria-label': 'MLP layer' }, ...Array.from({ length: r.model.layers }, (_, i) => h('option', { value: String(i) }, `Layer ${i}`)));
  sel.value = String(neuronLayer);
  sel.addEventListener('change', () => {
    neuronLayer = Number(sel.value);
    drawView();
  });
  const holder = h('div', { id: 'neurons', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Finding the most active neurons…'));
  box.append(h('div', { class: 'controls' }, h('label', { class: 'control' }, h('span', {}, 'MLP layer'), sel)), holder);
  const l = neuronLayer;
  const top = await cached(`neurons/${r.runId}/${l}`, () =>
    request('neurons/top', { layer: l, top: 20 }),
  );
  if (!isCurrent()) return;
  const detail = h('div', { id: 'neuron-detail', 'aria-live': 'polite' });
  let painted: { neuron: number; activations: number[] } | undefined;
  const list = h('ol', { id: 'neuron-list', class: 'neuron-list' });
  for (const t of top.top) {
    const b = h(
      'button',
      { type: 'button', class: 'neuron', 'data-neuron': t.neuron },
      `#${t.neuron}`,
      h('span', { class: 'note' }, ` max ${formatNumber(t.max)} at “${tokenLabel(r.tokens[t.argMax] ?? { display: '?', text: '?' }, 16)}”, mean ${formatNumber(t.mean)}`),
    );
    b.addEventListener('click', async () => {
      const a = await request('neurons/activations', { layer: l, neuron: t.neuron });
      post({ type: 'paintNeuron', layer: l, neuron: t.neuron, activations: a.activations });
      painted = { neuron: t.neuron, activations: a.activations };
      detail.dataset.neuron = String(t.neuron);
      const max = Math.max(1e-9, Math.abs(a.max), Math.abs(a.min));
      detail.replaceChildren(
        h('h3', {}, `Neuron ${t.neuron} of layer ${l} (painted in the editor)`),
        h(
          'p',
          { class: 'neuron-tokens' },
          ...r.tokens.map((tok, i) => {
            const s = h('span', { class: 'neuron-token token-label', title: `${formatNumber(a.activations[i])}`, 'data-index': i }, tokenLabel(tok, 20));
            s.style.setProperty('--a', String(Math.max(0, a.activations[i]) / max));
            return s;
          }),
        ),
      );
    });
    list.append(h('li', {}, b));
  }
  holder.replaceChildren(h('p', { class: 'note' }, `Top ${top.top.length} of ${top.intermediate} MLP neurons of layer ${l} by their largest activation on the selection.`), list, detail);
  holder.dataset.status = 'ready';
  currentExport = {
    png: () => snapshotPng(holder, getComputedStyle(document.body).backgroundColor),
    name: `neurons-${r.model.name}-L${l}`,
    json: () => viewJson(r, runText, 'neurons', { layer: l, intermediate: top.intermediate, top: top.top, painted: painted ?? null }),
  };
}
