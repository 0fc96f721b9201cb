// The CNN feature-map panel's page: the input as the model sees it (with an overlay for an enlarged map or
// the class activation map), top-5 classes, the first layer's kernels, and one channel grid per layer.
// Text is always set as text (the DOM builders of common.ts); pictures are the host's PNGs as data: URIs.

import type { FEATURE_VIEW_REQUESTS, FeatureCell, FeatureGridResult, FeatureLayerInfo, FeaturesRunResult } from '../../src/common/protocol';
import { connect, h, post, render } from '../webview/common';
import { ViewRequests } from '../webview/requests';
import { preprocessingSection } from './preprocessing';
import { showVisualizeStep, visualizationSection } from './visualization';
import {
  className,
  defaultGradCamLayer,
  gradCamLayers,
  percent,
  ToFeaturesWebview,
} from '../../src/features/featuresLogic';

const requests = new ViewRequests<typeof FEATURE_VIEW_REQUESTS>();
const request = requests.request;

interface View {
  run: FeaturesRunResult;
  image: string;
  scaling: 'channel' | 'layer';
  sort: boolean;
  /** Bumped on each new run so late answers of an older one are dropped. */
  generation: number;
}
let view: View | undefined;
let generation = 0;

const png = (b64: string) => `data:image/png;base64,${b64}`;
const shapeText = (s: number[]) => s.join('×');

connect<ToFeaturesWebview>((m) => {
  switch (m.type) {
    case 'running':
      view = undefined;
      render('loading', h('p', { class: 'loading', id: 'features-running' }, `Running ${m.model} on ${m.image}…`));
      break;
    case 'runError':
      view = undefined;
      render('error', header(m.image, m.model), h('div', { class: 'error', role: 'alert', id: 'features-error' }, m.message));
      break;
    case 'runGone': {
      view = undefined;
      const again: HTMLButtonElement = h('button', { id: 'features-rerun', type: 'button', onclick: () => { again.disabled = true; post({ type: 'runAgain' }); } }, 'Run again');
      render('error', header(m.image, m.model), h('div', { class: 'error', role: 'alert', id: 'features-gone' }, h('p', {}, m.message), again));
      break;
    }
    case 'run':
      generation++;
      view = { run: m.run, image: m.image, scaling: view?.scaling ?? 'channel', sort: view?.sort ?? false, generation };
      showRun(view);
      break;
    case 'visualizeStep':
      if (m.runId === view?.run.runId) showVisualizeStep(m);
      break;
    case 'response':
      requests.settle(m);
      break;
  }
});

function header(image: string, model: string, meta?: string): HTMLElement {
  return h('header', { class: 'panel-header' },
    h('h1', { id: 'features-title' }, `${image} — ${model}`),
    meta ? h('div', { class: 'meta', id: 'features-meta' }, meta) : null);
}

function showRun(v: View): void {
  const r = v.run;
  const maps = r.layers.filter((l) => l.isFeatureMap);
  const vectors = r.layers.filter((l) => !l.isFeatureMap);
  const kind = r.model.kind === 'onnx' ? 'ONNX' : r.model.architecture ? `state dict, recognised as ${r.model.architecture}` : 'state dict + architecture sidecar';
  const meta = `${kind} · ${r.layers.length} layers · ${r.milliseconds.toFixed(1)} ms · ${r.model.path}`;
  render('ready',
    header(v.image, r.model.name, meta),
    h('div', { class: 'summary' }, inputFigure(r), predictions(r)),
    preprocessingSection(r, (preprocessing) => post({ type: 'rerun', preprocessing })),
    controls(v),
    kernelsSection(r),
    visualizationSection(r, request),
    h('section', { id: 'features-layers', 'aria-label': 'Feature maps by layer' }, ...maps.map((l, i) => layerSection(v, l, i))),
    vectors.length ? vectorList(vectors) : null);
  document.body.dataset.runId = r.runId;
  document.body.dataset.predicted = r.predicted != null ? String(r.predicted) : '';
  void loadGrids(v);
  if (r.hasKernels) void loadKernels(v);
}

function inputFigure(r: FeaturesRunResult): HTMLElement {
  const p = r.preprocessing;
  return h('figure', { class: 'input-figure' },
    h('div', { class: 'input-stack', id: 'features-input-stack' },
      h('img', { id: 'features-input', src: png(r.input.png), alt: `the input as the model sees it, ${r.input.width}×${r.input.height}`, width: r.input.width, height: r.input.height }),
      h('img', { id: 'features-overlay', alt: '', hidden: true })),
    h('figcaption', {},
      h('div', { id: 'features-preprocessing' },
        `Input as the model sees it: ${p.describe}`, p.guess ? h('span', { class: 'pre-source guess' }, ' (a guess)') : null),
      h('div', { class: 'overlay-bar', id: 'features-overlay-bar', hidden: true },
        h('span', { id: 'features-overlay-caption' }),
        h('label', {}, 'opacity ', h('input', { type: 'range', id: 'overlay-opacity', min: 0, max: 100, value: 65, 'aria-label': 'overlay opacity', oninput: (e: Event) => setOpacity(+(e.target as HTMLInputElement).value) })),
        h('button', { id: 'features-overlay-clear', class: 'secondary', onclick: clearOverlay }, 'Clear overlay'))));
}

function setOpacity(value: number): void {
  const overlay = document.getElementById('features-overlay') as HTMLImageElement | null;
  if (overlay) overlay.style.opacity = String(value / 100);
}

function showOverlay(src: string, caption: string, kind: 'map' | 'cam'): void {
  const overlay = document.getElementById('features-overlay') as HTMLImageElement;
  overlay.src = src;
  overlay.hidden = false;
  overlay.dataset.kind = kind;
  overlay.alt = caption;
  setOpacity(+(document.getElementById('overlay-opacity') as HTMLInputElement).value);
  document.getElementById('features-overlay-bar')!.hidden = false;
  document.getElementById('features-overlay-caption')!.textContent = caption;
  document.getElementById('features-input-stack')!.scrollIntoView({ block: 'nearest' });
}

function clearOverlay(): void {
  const overlay = document.getElementById('features-overlay') as HTMLImageElement;
  overlay.hidden = true;
  overlay.removeAttribute('src');
  delete overlay.dataset.kind;
  document.getElementById('features-overlay-bar')!.hidden = true;
}

function predictions(r: FeaturesRunResult): HTMLElement {
  if (r.top5.length === 0)
    return h('section', { id: 'features-top5-section' }, h('p', { class: 'note' }, 'The model does not end in class scores, so there is no prediction.'));
  const best = r.top5[0];
  const camLayers = gradCamLayers(r.layers);
  return h('section', { id: 'features-top5-section', 'aria-label': 'Prediction' },
    h('h2', { id: 'features-prediction', 'data-class': best.index }, `Predicted: ${className(best)} (${percent(best.probability)})`),
    h('table', { id: 'features-top5' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'class'), h('th', {}, 'probability'), h('th', {}, ''), r.hasCam ? h('th', {}, '') : null, camLayers.length ? h('th', {}, '') : null)),
      h('tbody', {}, ...r.top5.map((c, i) => h('tr', { 'data-class': c.index },
        h('td', {}, String(i + 1)),
        h('td', { class: 'class-name' }, className(c), c.label ? h('span', { class: 'meta' }, ` (${c.index})`) : null),
        h('td', { class: 'prob' }, percent(c.probability)),
        h('td', {}, bar(c.probability)),
        r.hasCam ? h('td', {}, h('button', { class: 'secondary cam-button', 'data-class': c.index, onclick: () => void showCam(c.index) }, 'CAM')) : null,
        camLayers.length ? h('td', {}, h('button', { class: 'secondary gradcam-button', 'data-class': c.index, onclick: () => void showGradCam(c.index) }, 'Grad-CAM')) : null)))),
    gradCamControl(r, camLayers),
    h('p', { class: 'note', id: 'features-cam-note' }, r.hasCam
      ? `Class activation map available (from ${r.camLayer}): press CAM to overlay it on the input.`
      : camLayers.length ? 'No class activation map (the network does not end in global average pooling + a linear layer): Grad-CAM weighs a chosen layer\u2019s maps by the class score\u2019s gradient.'
        : 'No class activation map: the network does not end in global average pooling + a linear layer.'),
    r.model.hasLabels ? null : h('p', { class: 'note' }, 'No label file beside the model (NAME.labels.txt, labels.txt or the sidecar\u2019s labels): classes are shown by index.'));
}

/** A probability bar (its width set through the CSSOM: the CSP forbids style attributes). */
function bar(p: number): HTMLElement {
  const el = h('span', { class: 'bar', 'aria-hidden': 'true' });
  el.style.width = `${Math.max(1, Math.round(p * 120))}px`;
  return el;
}

async function showCam(cls: number): Promise<void> {
  const v = view;
  if (!v) return;
  const note = document.getElementById('features-cam-note')!;
  try {
    const cam = await request('features/cam', { class: cls });
    if (v.generation !== view?.generation) return;
    showOverlay(png(cam.png), `CAM of ${cam.label ?? `class ${cam.class}`} (${cam.mapWidth}×${cam.mapHeight}, ${cam.colormap})`, 'cam');
    note.textContent = cam.note;
  } catch (e) {
    note.textContent = (e as Error).message;
    note.classList.add('error');
  }
}

/** The layer Grad-CAM weighs (kept while the panel shows this model's runs). */
let gradCamLayer: string | undefined;

function gradCamControl(r: FeaturesRunResult, layers: FeatureLayerInfo[]): HTMLElement | null {
  if (layers.length === 0) return null;
  if (!layers.some((l) => l.name === gradCamLayer)) gradCamLayer = defaultGradCamLayer(r.layers);
  const select = h('select', { id: 'features-gradcam-layer', 'aria-label': 'Grad-CAM layer' },
    ...layers.map((l) => h('option', { value: l.name }, `${l.name} (${l.opType}, ${l.shape[0]}×${l.shape[1]}×${l.shape[2]})`)));
  select.value = gradCamLayer ?? '';
  select.addEventListener('change', () => { gradCamLayer = select.value; });
  return h('p', { class: 'gradcam-control' }, h('label', {}, 'Grad-CAM on layer ', select));
}

async function showGradCam(cls: number): Promise<void> {
  const v = view;
  if (!v || !gradCamLayer) return;
  const note = document.getElementById('features-cam-note')!;
  note.classList.remove('error');
  note.textContent = `Grad-CAM of class ${cls} on ${gradCamLayer}…`;
  try {
    const cam = await request('features/gradcam', { layer: gradCamLayer, class: cls });
    if (v.generation !== view?.generation) return;
    showOverlay(png(cam.png), `Grad-CAM of ${cam.label ?? `class ${cam.class}`} on ${cam.featureLayer} (${cam.mapWidth}×${cam.mapHeight}, ${cam.colormap})`, 'cam');
    note.textContent = cam.note;
    note.dataset.gradcam = `${cam.featureLayer}:${cam.class}`;
    note.dataset.high = String(cam.high);
  } catch (e) {
    note.textContent = (e as Error).message;
    note.classList.add('error');
  }
}

function controls(v: View): HTMLElement {
  const rerender = () => {
    if (view) void loadGrids(view);
  };
  return h('div', { class: 'controls', id: 'features-controls' },
    h('fieldset', {},
      h('legend', {}, 'Colour scale of the maps'),
      h('label', {}, h('input', { type: 'radio', name: 'scaling', id: 'scaling-channel', checked: v.scaling === 'channel', onchange: () => { v.scaling = 'channel'; rerender(); } }), ' per channel'),
      h('label', {}, h('input', { type: 'radio', name: 'scaling', id: 'scaling-layer', checked: v.scaling === 'layer', onchange: () => { v.scaling = 'layer'; rerender(); } }), ' per layer')),
    h('label', { class: 'sort' }, h('input', { type: 'checkbox', id: 'sort-mean', checked: v.sort, onchange: (e: Event) => { v.sort = (e.target as HTMLInputElement).checked; rerender(); } }), ' sort channels by mean activation'),
    h('p', { class: 'note', id: 'features-scaling-note' }, scalingNote(v)));
}

function scalingNote(v: View): string {
  return (v.scaling === 'channel' ? 'Scaling per channel: each map from its own minimum (dark) to maximum (bright), viridis.' : 'Scaling per layer: all maps of a layer share one range (printed under each grid), viridis.')
    + (v.sort ? ' Channels sorted by mean activation, highest first.' : ' Channels in the layer\u2019s order.')
    + ' Click a map (or focus a grid, move with the arrow keys, press Enter) to enlarge it over the input.';
}

function kernelsSection(r: FeaturesRunResult): HTMLElement {
  return h('section', { id: 'features-kernels', 'data-status': r.hasKernels ? 'loading' : 'none' },
    h('h2', {}, 'First-layer kernels'),
    r.hasKernels ? h('p', { class: 'loading' }, 'Loading…') : h('p', { class: 'note' }, 'The model has no convolution with constant weights.'));
}

async function loadKernels(v: View): Promise<void> {
  const section = document.getElementById('features-kernels')!;
  try {
    const k = await request('features/kernels', {});
    if (v.generation !== view?.generation) return;
    const img = h('img', { id: 'kernels-image', class: 'pixelated', src: png(k.png), alt: `${k.filters} kernels of ${k.node}`, width: k.width, height: k.height });
    img.addEventListener('load', () => { img.dataset.loaded = 'true'; });
    section.replaceChildren(h('h2', {}, `First-layer kernels · ${k.node} · ${shapeText(k.shape)}`), h('div', { class: 'kernels-wrap' }, img), h('p', { class: 'note' }, k.note));
    section.dataset.status = 'ready';
  } catch (e) {
    section.replaceChildren(h('h2', {}, 'First-layer kernels'), h('p', { class: 'error' }, (e as Error).message));
    section.dataset.status = 'error';
  }
}

function layerSection(v: View, l: FeatureLayerInfo, i: number): HTMLElement {
  return h('section', { class: 'layer', id: `layer-${i}`, 'data-layer': l.name, 'data-status': 'loading' },
    h('h2', {}, h('span', { class: 'layer-name' }, l.name), h('span', { class: 'meta' }, ` · ${l.opType} · ${l.channels} channels of ${l.shape[1]}×${l.shape[2]}`)),
    h('div', { class: 'grid-wrap' }, h('p', { class: 'loading' }, 'Loading…')));
}

function vectorList(layers: FeatureLayerInfo[]): HTMLElement {
  return h('section', { id: 'features-vectors' },
    h('h2', {}, 'Other layers (vectors, not maps)'),
    h('ul', {}, ...layers.map((l) => h('li', {}, h('code', {}, l.name), ` · ${l.opType} · [${l.shape.join(', ')}]`))));
}

async function loadGrids(v: View): Promise<void> {
  const stamp = `${v.generation}:${v.scaling}:${v.sort}`;
  document.body.dataset.grids = 'loading';
  const noteEl = document.getElementById('features-scaling-note');
  if (noteEl) noteEl.textContent = scalingNote(v);
  const sections = [...document.querySelectorAll<HTMLElement>('section.layer')];
  for (const s of sections) s.dataset.status = 'loading';
  let next = 0;
  const worker = async () => {
    while (next < sections.length) {
      const section = sections[next++];
      const layer = section.dataset.layer!;
      try {
        const g = await request('features/grid', { layer, scaling: v.scaling, sort: v.sort });
        if (`${view?.generation}:${view?.scaling}:${view?.sort}` !== stamp) return;
        showGrid(section, g);
      } catch (e) {
        section.querySelector('.grid-wrap')!.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
        section.dataset.status = 'error';
      }
    }
  };
  await Promise.all([worker(), worker()]);
  if (`${view?.generation}:${view?.scaling}:${view?.sort}` === stamp) document.body.dataset.grids = 'ready';
}

function showGrid(section: HTMLElement, g: FeatureGridResult): void {
  const img = h('img', { class: 'layer-grid pixelated', src: png(g.png), width: g.width, height: g.height, alt: `${g.cells.length} feature maps of ${g.layer}`, draggable: 'false' });
  const focus = h('div', { class: 'cell-focus', hidden: true, 'aria-hidden': 'true' });
  const box = h('div', {
    class: 'grid-box', tabindex: 0, role: 'grid', 'aria-label': `${g.layer}: ${g.cells.length} channels; arrow keys choose a map, Enter enlarges it over the input`,
    'data-cells': g.cells.length, 'data-columns': g.columns,
  }, img, focus);
  let current = -1;
  const scale = () => img.clientWidth / g.width || 1;
  const place = (i: number) => {
    current = i;
    const c = g.cells[i];
    const s = scale();
    focus.hidden = false;
    focus.style.left = `${c.x * s - 1}px`;
    focus.style.top = `${c.y * s - 1}px`;
    focus.style.width = `${c.width * s}px`;
    focus.style.height = `${c.height * s}px`;
    box.setAttribute('aria-activedescendant', '');
    readout.textContent = `channel ${c.channel}`;
  };
  const open = (i: number) => {
    place(i);
    void enlarge(g.layer, g.cells[i]);
  };
  img.addEventListener('load', () => { img.dataset.loaded = 'true'; });
  img.addEventListener('click', (e) => {
    const s = scale();
    const x = (e as MouseEvent).offsetX / s, y = (e as MouseEvent).offsetY / s;
    const i = g.cells.findIndex((c) => x >= c.x && x < c.x + c.width && y >= c.y && y < c.y + c.height);
    if (i >= 0) open(i);
  });
  box.addEventListener('keydown', (e) => {
    const k = (e as KeyboardEvent).key;
    const n = g.cells.length;
    let i = current < 0 ? 0 : current;
    if (k === 'ArrowRight') i = Math.min(n - 1, i + 1);
    else if (k === 'ArrowLeft') i = Math.max(0, i - 1);
    else if (k === 'ArrowDown') i = Math.min(n - 1, i + g.columns);
    else if (k === 'ArrowUp') i = Math.max(0, i - g.columns);
    else if (k === 'Home') i = 0;
    else if (k === 'End') i = n - 1;
    else if (k === 'Enter' || k === ' ') { open(i); e.preventDefault(); return; }
    else return;
    e.preventDefault();
    place(i);
  });
  const readout = h('span', { class: 'readout', 'aria-live': 'polite' });
  const range = g.scaling === 'layer' ? ` Range ${g.low.toPrecision(4)} … ${g.high.toPrecision(4)}.` : '';
  section.querySelector('.grid-wrap')!.replaceChildren(box, h('p', { class: 'note grid-note' }, g.note + range, ' ', readout));
  section.dataset.status = 'ready';
  section.dataset.scaling = g.scaling;
  section.dataset.order = g.order.join(',');
}

async function enlarge(layer: string, cell: FeatureCell): Promise<void> {
  try {
    const m = await request('features/map', { layer, channel: cell.channel });
    showOverlay(png(m.png), `layer ${layer} · channel ${m.channel} (${m.mapWidth}×${m.mapHeight}, ${m.min.toPrecision(3)} … ${m.max.toPrecision(3)}, mean ${m.mean.toPrecision(3)})`, 'map');
    const overlay = document.getElementById('features-overlay')!;
    overlay.dataset.layer = layer;
    overlay.dataset.channel = String(m.channel);
  } catch (e) {
    document.getElementById('features-overlay-caption')!.textContent = (e as Error).message;
  }
}
