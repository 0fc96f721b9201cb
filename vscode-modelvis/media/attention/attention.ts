// The attention panel's webview: the run, the shell (header, layer and head controls, export buttons,
// tabs) and the view table. Each view draws itself (weights/: heatmap, model view, head view, rollout;
// hidden/: logit lens, neurons, NMF, geometry, hidden-state image; circuits/: head detectors, logit
// attribution, patching; attribution/: token attribution) from a ViewContext; data comes from the host through the panel (requests.ts).

import { attentionKinds, axesOf, decodeFloat32, headName, isEncoderDecoder, layerFor, ToAttentionWebview } from '../../src/attention/attentionLogic';
import type { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionRun, HeadChoice } from '../../src/common/protocol';
import { connect, h, post } from '../webview/common';
import { ViewRequests } from '../webview/requests';
import { snapshotPng } from '../webview/snapshot';
import { drawAttribution } from './attribution/tokenAttribution';
import { drawHeads, headScoresKey } from './circuits/headDetectors';
import { drawDla } from './circuits/logitAttribution';
import { drawPatching } from './circuits/patching';
import { drawGeometry } from './hidden/geometry';
import { drawHiddenImage } from './hidden/hiddenImage';
import { drawLens } from './hidden/lens';
import { drawNeurons } from './hidden/neurons';
import { drawNmf } from './hidden/nmf';
import { AttentionView, ViewContext, ViewExport } from './view';
import { drawHeadView } from './weights/headView';
import { drawHeatmap } from './weights/heatmap';
import { drawModelView } from './weights/modelView';
import { drawRollout } from './weights/rollout';

const VIEWS: AttentionView[] = [
  { id: 'heatmap', label: 'Heatmap', usesAttentionChoice: true, encoderDecoder: true, draw: drawHeatmap },
  { id: 'grid', label: 'Model view', draw: drawModelView },
  { id: 'headview', label: 'Head view', usesAttentionChoice: true, draw: drawHeadView },
  { id: 'rollout', label: 'Rollout / flow', draw: drawRollout },
  { id: 'lens', label: 'Logit lens', draw: drawLens },
  { id: 'neurons', label: 'Neurons', draw: drawNeurons },
  { id: 'nmf', label: 'NMF', draw: drawNmf },
  { id: 'geometry', label: 'Geometry', draw: drawGeometry },
  { id: 'hidden', label: 'Hidden image', draw: drawHiddenImage },
  { id: 'heads', label: 'Head detectors', draw: drawHeads },
  { id: 'dla', label: 'Logit attribution', encoderDecoder: true, draw: drawDla },
  { id: 'patch', label: 'Patching', draw: drawPatching },
  { id: 'attribution', label: 'Attribution', encoderDecoder: true, draw: drawAttribution },
];
let run: AttentionRun | undefined;
let runText = '';
let layersDone = 0;
let layer = 0;
let head: HeadChoice = 0;
/** An encoder-decoder run's attention shown: encoder self, decoder self or cross; undefined for self-attention runs. */
let kind: AttentionKind | undefined;
let view = VIEWS[0].id;
/** What each head of the run does on its selection ([layer][head], the head detectors' labels), once scored. */
let headLabels: (string | null)[][] | undefined;
/**
 * Scoring the heads reads every layer's attention, L·H·n² weights: the panel asks for it on its own up to this many
 * (64 MB; the built-in model on 1,400 tokens, GPT-2 small on 340). Past it, the head list is labelled once the Head
 * detectors view has scored the selection.
 */
const LABEL_BUDGET = 1 << 24;
/** What "Save PNG" and "Save JSON" export from the current view. */
let currentExport: ViewExport | undefined;
let drawSeq = 0;

// ---- requests through the extension, kept per run ----
const requests = new ViewRequests<typeof ATTENTION_VIEW_REQUESTS>();
const request = requests.request;
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
    case 'response':
      requests.settle(m);
      return;
    case 'running':
      run = undefined;
      renderShell();
      setStatus(`Running ${m.model} on ${m.text.length} characters…`, 'loading');
      return;
    case 'runError':
      // Nothing of an earlier run stays on screen: the error replaces it.
      run = undefined;
      renderShell();
      setStatus('', 'error');
      showRunError(m.message, m.retry === true, m.setting);
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
        headLabels = undefined;
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
      scoreHeadsIfSmall(m.run);
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

function showRunError(message: string, retry: boolean, setting: string | undefined): void {
  const box = document.getElementById('view-content');
  if (!box) return;
  const actions = h('p', { class: 'error-actions' },
    retry ? h('button', { id: 'run-retry', type: 'button', onclick: () => post({ type: 'retry' }) }, 'Retry') : null,
    setting ? h('button', { id: 'run-open-settings', type: 'button', class: 'secondary', onclick: () => post({ type: 'openSettings', setting }) }, 'Open Settings') : null,
  );
  box.replaceChildren(h('div', { id: 'run-error', class: 'error', role: 'alert' }, message), actions);
}

/** "Head 3 · induction" where the head detectors name what head 3 of the shown layer does. */
function headOptionText(i: number): string {
  const label = kind ? undefined : headLabels?.[layer]?.[i];
  return label ? `Head ${i} · ${label}` : `Head ${i}`;
}

function labelHeads(runId: string, labels: (string | null)[][]): void {
  if (run?.runId !== runId) return;
  headLabels = labels;
  updateControls();
}

function scoreHeadsIfSmall(r: AttentionRun): void {
  if (isEncoderDecoder(r) || r.model.layers * r.model.heads * r.n * r.n > LABEL_BUDGET) return;
  cached(headScoresKey(r.runId, false), () => request('circuits/heads', {})).then(
    (scores) => labelHeads(r.runId, scores.labels),
    () => undefined, // the Head detectors view shows the error when asked
  );
}

function headOptions(): HTMLOptionElement[] {
  if (!run) return [];
  const opts: HTMLOptionElement[] = [];
  for (let i = 0; i < run.model.heads; i++) opts.push(h('option', { value: String(i) }, headOptionText(i)));
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
  const offered = kind ? VIEWS.filter((x) => x.encoderDecoder) : VIEWS;
  for (const v of offered) {
    const b = h('button', { role: 'tab', class: 'tab', 'data-view': v.id, id: `tab-${v.id}`, 'aria-selected': String(v.id === view), tabindex: v.id === view ? 0 : -1, type: 'button' }, v.label);
    b.addEventListener('click', () => setView(v.id));
    b.addEventListener('keydown', (e) => {
      const i = offered.findIndex((x) => x.id === v.id);
      const k = (e as KeyboardEvent).key;
      const next = k === 'ArrowRight' ? (i + 1) % offered.length : k === 'ArrowLeft' ? (i - 1 + offered.length) % offered.length : -1;
      if (next >= 0) {
        e.preventDefault();
        e.stopPropagation();
        setView(offered[next].id);
        document.getElementById(`tab-${offered[next].id}`)?.focus();
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
  const uses = shownView().usesAttentionChoice === true;
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
  const headSelect = document.getElementById('head-select') as HTMLSelectElement | null;
  if (run && headSelect) for (let i = 0; i < run.model.heads; i++) headSelect.options[i].text = headOptionText(i);
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
  if (shownView().usesAttentionChoice) drawView();
}

function setHead(hd: HeadChoice): void {
  if (!run) return;
  head = hd;
  post({ type: 'select', layer, head, kind });
  updateControls();
  if (view === 'heatmap') drawView();
}

function setView(v: string): void {
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

function shownView(): AttentionView {
  return VIEWS.find((v) => v.id === view) ?? VIEWS[0];
}

function drawView(): void {
  if (!run) return;
  const seq = ++drawSeq;
  const box = content();
  box.replaceChildren();
  currentExport = undefined;
  setStatus('', 'loading');
  shownView()
    .draw(viewContext(run, () => seq === drawSeq), box)
    .then(
      () => seq === drawSeq && setStatus(statusLine(), 'ready'),
      (e: Error) => {
        if (seq !== drawSeq) return;
        box.append(h('div', { class: 'error view-error', role: 'alert' }, e.message));
        setStatus('', 'error');
      },
    );
}

function viewContext(r: AttentionRun, isCurrent: () => boolean): ViewContext {
  return {
    run: r,
    text: runText,
    layer,
    head,
    kind,
    request,
    cached,
    matrixOf,
    setExport: (e) => {
      if (isCurrent()) currentExport = e;
    },
    snapshot: (el, title) => () => snapshotPng(el, { title: `${r.model.name} — ${title}`, subtitle: `${r.n} tokens “${excerpt(runText)}”` }),
    isCurrent,
    redraw: drawView,
    openHead: (l, hd) => {
      // Layer and head first (no redraw outside the heatmap), then the heatmap tab draws that head.
      layer = Math.max(0, Math.min(r.model.layers - 1, l));
      head = hd;
      post({ type: 'select', layer, head });
      updateControls();
      setView('heatmap');
    },
    labelHeads: (labels) => labelHeads(r.runId, labels),
  };
}

/** The selection quoted in a figure's subtitle: one line, at most 48 characters. */
function excerpt(text: string): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length <= 48 ? s : `${s.slice(0, 47)}…`;
}

function statusLine(): string {
  if (!run) return '';
  const where = view !== 'heatmap' && view !== 'headview' ? '' : ` · layer ${layer}${view === 'heatmap' ? `, head ${headName(head)}` : ''}`;
  const which = kind ? ` · ${axesOf(run, kind).label}` : '';
  return `${shownView().label}${which}${where}`;
}
