// The hidden-state tabs of the attention panel (issue 6): representation geometry (cosine similarity,
// norms across layers, PCA with a layer slider and a token's trajectory), the raw hidden-state image
// with a (token, dimension) read-out, and the NMF components of an MLP layer painted over the tokens.
// attention.ts owns the run, the requests and the export buttons; each view here says what it exports.

import { decodeFloat32, tokenLabel, labelIndices } from '../../src/attention/attentionLogic';
import type { ATTENTION_VIEW_REQUESTS, AttentionRun, AttentionToken, GeometryResult, ViewRequester } from '../../src/common/protocol';
import {
  alignedPca,
  componentColor,
  hiddenLayerName,
  linearScale,
  matrixCellAt,
  MAX_COMPONENTS,
  niceTicks,
  placeLabels,
  nmfColouring,
  rowsOf,
  viewJson,
} from '../../src/attention/hiddenLogic';
import { formatNumber, h, onShiftArrows, svg } from '../webview/common';
import { snapshotPng } from './snapshot';

/** What the Save PNG / Save JSON buttons export for the view on screen. */
export interface ViewExport {
  name: string;
  png: () => Promise<string>;
  /** Undefined: the attention matrix of the chosen layer and head (the extension fetches it). */
  json?: () => object;
}

/** A matrix picture with token labels on both axes and a hover read-out (attention.ts draws it). */
export interface MatrixFigure {
  id: string;
  png: string;
  label: string;
  size?: number;
  axisName?: string;
  /** The value at (row, column), or a promise of it (row requests when n is big). */
  valueAt: (q: number, k: number) => number | Promise<number> | undefined;
  readout?: (q: number, k: number, value: number | undefined) => string;
  /** Row (query) and column (key) tokens when they differ from the run's (an encoder-decoder's target and source). */
  queries?: AttentionToken[];
  keys?: AttentionToken[];
  /** Told of the row under the pointer (-1 when it leaves the map). */
  onRow?: (q: number) => void;
}

/** What the hidden-state views need from the panel. */
export interface HiddenViewContext {
  run: AttentionRun;
  text: string;
  request: ViewRequester<typeof ATTENTION_VIEW_REQUESTS>;
  cached<T>(key: string, f: () => Promise<T>): Promise<T>;
  matrixFigure(o: MatrixFigure): HTMLElement;
  setExport(e: ViewExport | undefined): void;
  isCurrent(): boolean;
  /** Draws the view again (after a choice that needs new numbers). */
  redraw(): void;
}

/** Choices kept while switching tabs (hidden-state layer k = 0..L, the trajectory's token, NMF). */
export const hiddenChoices = { layer: -1, token: -1, nmfLayer: 0, components: 3 };

const background = () => getComputedStyle(document.body).backgroundColor;
const snapshotOf = (el: HTMLElement) => () => snapshotPng(el, background());

function ensureChoices(r: AttentionRun): void {
  if (hiddenChoices.layer < 0 || hiddenChoices.layer > r.model.layers) hiddenChoices.layer = Math.ceil(r.model.layers / 2);
  if (hiddenChoices.token < 0 || hiddenChoices.token >= r.n) hiddenChoices.token = r.n - 1;
  hiddenChoices.nmfLayer = Math.min(hiddenChoices.nmfLayer, r.model.layers - 1);
}

/** A slider over the hidden states 0..L with the chosen one's name beside it. */
function hiddenLayerControl(r: AttentionRun, id: string, onChange: (k: number) => void): HTMLElement {
  const L = r.model.layers;
  const slider = h('input', { type: 'range', id, min: 0, max: L, step: 1, value: hiddenChoices.layer, 'aria-label': 'Hidden state (0 = embeddings)' });
  const name = h('span', { id: `${id}-name`, class: 'layer-name' }, hiddenLayerName(hiddenChoices.layer, L));
  slider.addEventListener('input', () => {
    hiddenChoices.layer = Number(slider.value);
    name.textContent = hiddenLayerName(hiddenChoices.layer, L);
    onChange(hiddenChoices.layer);
  });
  return h('label', { class: 'control' }, h('span', {}, 'Hidden state'), slider, name);
}

function tokenSelect(r: AttentionRun, id: string, label: string, onChange: (i: number) => void): HTMLSelectElement {
  const sel = h('select', { id, 'aria-label': label }, ...r.tokens.map((t, i) => h('option', { value: String(i) }, `${i}: ${tokenLabel(t, 20)}`)));
  sel.value = String(hiddenChoices.token);
  sel.addEventListener('change', () => onChange(Number(sel.value)));
  return sel;
}

// ---- geometry ----

export async function drawGeometry(c: HiddenViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  ensureChoices(r);
  const L = r.model.layers;
  const geometryOf = (k: number) => c.cached(`geometry/${r.runId}/${k}`, () => c.request('hidden/geometry', { layer: k, maxSize: 512 }));
  const holder = h('div', { id: 'geometry', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Similarity, norms and PCA of the hidden states…'));
  const simBox = h('div', { id: 'similarity', class: 'geometry-figure' });
  const pcaBox = h('div', { id: 'pca', class: 'geometry-figure' });
  const normBox = h('div', { id: 'norms', class: 'geometry-figure' });
  box.append(holder);
  let geometry = await geometryOf(hiddenChoices.layer);
  if (!c.isCurrent()) return;
  const pca = alignedPca(geometry.pca);

  let simSeq = 0;
  const drawSimilarity = async (k: number) => {
    const seq = ++simSeq;
    simBox.dataset.status = 'loading';
    const g = k === geometry.layer ? geometry : await geometryOf(k);
    if (seq !== simSeq || !c.isCurrent()) return;
    geometry = g;
    const values = g.similarity ? decodeFloat32(g.similarity) : null;
    const figure = c.matrixFigure({
        id: 'similarity-figure',
        png: g.similarityImage.png,
        label: `Cosine similarity between the hidden states of every pair of tokens at hidden state ${k}; blue −1, white 0, red +1`,
        size: Math.min(360, Math.max(200, r.n * 14)),
        axisName: 'token ↓ / token →',
        valueAt: (q, kk) => (values ? values[q * r.n + kk] : undefined),
        readout: (q, kk, v) => `cos(“${tokenLabel(r.tokens[q], 20)}” ${q}, “${tokenLabel(r.tokens[kk], 20)}” ${kk}) = ${v === undefined ? 'not sent for this many tokens' : formatNumber(v)}`,
      });
    // The column labels need only as much height as the longest token (about 7 px a character).
    const longest = Math.max(...r.tokens.map((t) => tokenLabel(t).length));
    figure.querySelector<HTMLElement>('.matrix-figure')?.style.setProperty('grid-template-rows', `${Math.min(90, Math.max(24, longest * 7 + 8))}px auto`);
    simBox.replaceChildren(h('h2', {}, `Cosine similarity of the tokens at ${hiddenLayerName(k, L)}`), figure, h('p', { class: 'note' }, 'Blue −1 · white 0 · red +1.'));
    simBox.dataset.layer = String(k);
    simBox.dataset.status = 'ready';
  };

  const redrawCharts = () => {
    pcaBox.replaceChildren(...pcaScatter(r, geometry, pca, chooseToken));
    normBox.replaceChildren(...normChart(r, geometry.norms, chooseToken));
  };
  const chooseToken = (i: number) => {
    hiddenChoices.token = i;
    tokenSel.value = String(i);
    redrawCharts();
  };
  const tokenSel = tokenSelect(r, 'trajectory-token', 'Token whose trajectory and norm are drawn', chooseToken);
  const controls = h(
    'div',
    { class: 'controls' },
    hiddenLayerControl(r, 'geometry-layer', (k) => {
      holder.dataset.layer = String(k);
      redrawCharts();
      void drawSimilarity(k).catch((e: Error) => simBox.replaceChildren(h('div', { class: 'error', role: 'alert' }, e.message)));
    }),
    h('label', { class: 'control' }, h('span', {}, 'Token'), tokenSel),
  );
  await drawSimilarity(hiddenChoices.layer);
  if (!c.isCurrent()) return;
  redrawCharts();
  holder.replaceChildren(controls, h('div', { class: 'geometry-layout' }, simBox, pcaBox, normBox));
  holder.dataset.status = 'ready';
  holder.dataset.layer = String(hiddenChoices.layer);
  c.setExport({
    get name() {
      return `geometry-${r.model.name}-h${geometry.layer}`;
    },
    png: snapshotOf(holder),
    json: () => {
      const k = geometry.layer;
      const sim = geometry.similarity ? rowsOf(decodeFloat32(geometry.similarity), r.n, r.n) : null;
      return viewJson(r, c.text, 'geometry', {
        layer: k,
        similarity: sim,
        norms: geometry.norms,
        pca: geometry.pca.map((p) => ({ layer: p.layer, x: p.x, y: p.y, explained: p.explained })),
      });
    },
  });
}

/** Tokens of hidden state k as points of its 2-D PCA, labelled, with one token's path over all layers. */
function pcaScatter(r: AttentionRun, g: GeometryResult, pca: Array<{ x: number[]; y: number[] }>, choose: (i: number) => void): Node[] {
  const k = hiddenChoices.layer;
  const chosen = hiddenChoices.token;
  const size = 360;
  const pad = 24;
  const sx = linearScale([-1.08, 1.08], [pad, size - pad]);
  const sy = linearScale([-1.08, 1.08], [size - pad, pad]);
  const chart = svg('svg', {
    id: 'pca-chart',
    viewBox: `0 0 ${size} ${size}`,
    width: size,
    height: size,
    role: 'img',
    'aria-label': `PCA of the ${r.n} tokens' hidden states at hidden state ${k}, with the path of token ${chosen} across layers`,
    'data-layer': k,
  });
  chart.append(
    svg('line', { class: 'axis', x1: sx(0), y1: pad, x2: sx(0), y2: size - pad }),
    svg('line', { class: 'axis', x1: pad, y1: sy(0), x2: size - pad, y2: sy(0) }),
  );
  // The chosen token across layers: a path through its (sign-aligned) position at every hidden state.
  const path = pca.map((p, l) => `${l === 0 ? 'M' : 'L'}${sx(p.x[chosen]).toFixed(1)},${sy(p.y[chosen]).toFixed(1)}`).join(' ');
  chart.append(svg('path', { class: 'trajectory', id: 'pca-trajectory', d: path, 'data-token': chosen, 'data-points': pca.length }));
  pca.forEach((p, l) => {
    const x = sx(p.x[chosen]);
    const y = sy(p.y[chosen]);
    chart.append(
      svg('circle', { class: `trajectory-step${l === k ? ' current' : ''}`, cx: x, cy: y, r: 3 }, svg('title', {}, `${tokenLabel(r.tokens[chosen], 20)} at ${hiddenLayerName(l, r.model.layers)}`)),
      svg('text', { class: 'trajectory-label', x: x + 4, y: y - 4 }, `${l}`),
    );
  });
  const cur = pca[k];
  const xy = r.tokens.map((_, i) => ({ x: sx(cur.x[i]), y: sy(cur.y[i]) }));
  const names = r.tokens.map((t) => tokenLabel(t, 12));
  // Labels where they overlap no other (the chosen token's first); ~6 px a character at 10 px.
  const labels = placeLabels(xy, names.map((s, i) => s.length * (i === chosen ? 7 : 6.2)), [chosen, ...r.tokens.keys()].filter((i, j) => j === 0 || i !== chosen), { height: 10, gap: 6, always: [chosen] });
  const points = svg('g', { class: 'pca-points' });
  const labelLayer = svg('g', { class: 'pca-labels' });
  // The chosen token last, so its point sits on top.
  const order = [...r.tokens.keys()].filter((i) => i !== chosen).concat(chosen);
  order.forEach((i) => {
    const t = r.tokens[i];
    const { x, y } = xy[i];
    const label = `${i}: ${tokenLabel(t, 20)} (${formatNumber(g.pca[k].x[i])}, ${formatNumber(g.pca[k].y[i])})`;
    const dot = svg('circle', { class: `pca-point${i === chosen ? ' chosen' : ''}`, cx: x, cy: y, r: i === chosen ? 5 : 4, 'data-index': i, tabindex: 0, role: 'button', 'aria-label': `${label}: draw its path` }, svg('title', {}, label));
    dot.addEventListener('click', () => choose(i));
    dot.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter' || (e as KeyboardEvent).key === ' ') {
        e.preventDefault();
        choose(i);
      }
    });
    points.append(dot);
    const at = labels[i];
    if (at) labelLayer.append(svg('text', { class: `pca-label${i === chosen ? ' chosen' : ''}`, x: at.x.toFixed(1), y: at.y.toFixed(1), 'data-index': i }, names[i]));
  });
  chart.append(points, labelLayer);
  const [e1, e2] = g.pca[k].explained;
  return [
    h('h2', {}, `PCA at ${hiddenLayerName(k, r.model.layers)}`),
    chart,
    h(
      'p',
      { class: 'note', id: 'pca-explained' },
      `PC1 ${(100 * (e1 ?? 0)).toFixed(1)}% · PC2 ${(100 * (e2 ?? 0)).toFixed(1)}% of the variance. Each layer's axes are scaled to the plot and mirrored to agree with the layer before; the path (numbered by hidden state) follows “${tokenLabel(r.tokens[chosen], 20)}”. Click a point to follow it.`,
    ),
  ];
}

/** |h_k(token)| across hidden states k: every token faint, the chosen one drawn over them. */
function normChart(r: AttentionRun, norms: number[][], choose: (i: number) => void): Node[] {
  const K = norms.length;
  const chosen = hiddenChoices.token;
  const width = 360;
  const height = 200;
  const left = 44;
  const bottom = 26;
  const max = Math.max(...norms.flat());
  const ticks = niceTicks(0, max, 4);
  const top = ticks[ticks.length - 1] || 1;
  const sx = linearScale([0, Math.max(1, K - 1)], [left, width - 10]);
  const sy = linearScale([0, top], [height - bottom, 8]);
  const chart = svg('svg', { id: 'norm-chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `Norm of each token's hidden state across the ${K} hidden states; token ${chosen} highlighted` });
  for (const t of ticks) {
    chart.append(svg('line', { class: 'grid-line', x1: left, x2: width - 10, y1: sy(t), y2: sy(t) }), svg('text', { class: 'tick', x: left - 4, y: sy(t) + 3, 'text-anchor': 'end' }, formatNumber(t, 3)));
  }
  for (let k = 0; k < K; k++) chart.append(svg('text', { class: 'tick', x: sx(k), y: height - bottom + 14, 'text-anchor': 'middle' }, String(k)));
  chart.append(svg('text', { class: 'tick', x: (left + width) / 2, y: height - 2, 'text-anchor': 'middle' }, 'hidden state'));
  chart.append(svg('line', { class: 'current-layer', x1: sx(hiddenChoices.layer), x2: sx(hiddenChoices.layer), y1: 8, y2: height - bottom }));
  const line = (i: number) => norms.map((row, k) => `${k === 0 ? 'M' : 'L'}${sx(k).toFixed(1)},${sy(row[i]).toFixed(1)}`).join(' ');
  for (let i = 0; i < r.n; i++) {
    if (i === chosen) continue;
    const p = svg('path', { class: 'norm-line', d: line(i), 'data-index': i }, svg('title', {}, `${i}: ${tokenLabel(r.tokens[i], 20)}`));
    p.addEventListener('click', () => choose(i));
    chart.append(p);
  }
  chart.append(svg('path', { class: 'norm-line chosen', id: 'norm-chosen', d: line(chosen), 'data-index': chosen }));
  norms.forEach((row, k) =>
    chart.append(svg('circle', { class: 'norm-point', cx: sx(k), cy: sy(row[chosen]), r: 3 }, svg('title', {}, `${hiddenLayerName(k, r.model.layers)}: |h| = ${formatNumber(row[chosen])}`))),
  );
  const here = norms[hiddenChoices.layer]?.[chosen];
  return [
    h('h2', {}, 'Norm across layers'),
    chart,
    h('p', { class: 'readout', id: 'norm-readout' }, `“${tokenLabel(r.tokens[chosen], 20)}”: |h${hiddenChoices.layer}| = ${here === undefined ? '?' : formatNumber(here)}`),
  ];
}

/** A [tokens × columns] picture: token labels down the side (thinned to one per 13 px), column ticks across,
 * a cell marker and a hover / Shift+arrow read-out (`show`). Drawn for the hidden-state image and the lens ranks. */
export interface TokenRowsFigure {
  run: AttentionRun;
  png: string;
  alt: string;
  /** The plot's accessible name (the keyboard hint is added). */
  label: string;
  rows: number;
  cols: number;
  width: number;
  /** [column, text] of each tick across the top. */
  ticks: Array<[number, string]>;
  /** Text in the corner above the token labels (what the columns are). */
  axisName?: string;
  id?: string;
  show: (row: number, col: number) => void;
}

export function tokenRowsFigure(o: TokenRowsFigure): HTMLElement {
  const { rows, cols, width } = o;
  // Rows tall enough for a label while they fit in 640 px; else thinner rows and every k-th label.
  const rowHeight = Math.min(18, 640 / rows);
  const height = Math.max(16, Math.round(rows * rowHeight));
  const picture = h('img', { src: `data:image/png;base64,${o.png}`, alt: o.alt, class: 'matrix-img', draggable: 'false', 'data-loaded': 'false' });
  picture.style.width = `${width}px`;
  picture.style.height = `${height}px`;
  picture.addEventListener('load', () => picture.setAttribute('data-loaded', 'true'));
  const labels = h('div', { class: 'query-labels', 'aria-hidden': 'true' });
  labels.style.height = `${height}px`;
  const labelEls = new Map<number, HTMLElement>();
  for (const i of labelIndices(rows, height, 13)) {
    const t = o.run.tokens[i];
    const s = h('span', { class: 'token-label query', 'data-index': i, title: `${i}: ${JSON.stringify(t.text)}` }, tokenLabel(t));
    s.style.top = `${((i + 0.5) * height) / rows}px`;
    labels.append(s);
    labelEls.set(i, s);
  }
  const axis = h('div', { class: 'dim-axis', 'aria-hidden': 'true' });
  axis.style.width = `${width}px`;
  for (const [d, text] of o.ticks) {
    const s = h('span', { class: 'dim-tick', 'data-col': d }, text);
    s.style.left = `${((d + 0.5) * width) / cols}px`;
    axis.append(s);
  }
  const marker = h('div', { class: 'cell-marker', 'aria-hidden': 'true' });
  marker.style.width = `${Math.max(2, width / cols)}px`;
  marker.style.height = `${Math.max(2, height / rows)}px`;
  const plot = h('div', { class: 'matrix-plot', tabindex: 0, role: 'img', 'aria-label': `${o.label}. Shift+arrow keys move the read-out.` }, picture, marker);
  let cur = { row: -1, col: -1 };
  const show = (row: number, col: number) => {
    labelEls.get(cur.row)?.classList.remove('active');
    labelEls.get(row)?.classList.add('active');
    cur = { row, col };
    marker.style.left = `${(col * width) / cols}px`;
    marker.style.top = `${(row * height) / rows}px`;
    marker.classList.add('visible');
    o.show(row, col);
  };
  plot.addEventListener('mousemove', (e) => {
    const rect = picture.getBoundingClientRect();
    const cell = matrixCellAt((e.clientX - rect.left) / rect.width, (e.clientY - rect.top) / rect.height, rows, cols);
    if (cell && (cell.row !== cur.row || cell.col !== cur.col)) show(cell.row, cell.col);
  });
  onShiftArrows(plot, (dr, dc) => show(Math.max(0, Math.min(rows - 1, Math.max(0, cur.row) + dr)), Math.max(0, Math.min(cols - 1, Math.max(0, cur.col) + dc))));
  const corner = h('div', { class: 'corner' }, o.axisName ? h('span', { class: 'axis-name' }, o.axisName) : undefined);
  return h('div', { class: 'hidden-figure', id: o.id }, corner, axis, labels, plot);
}

// ---- hidden-state image ----

export async function drawHiddenImage(c: HiddenViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  ensureChoices(r);
  const k = hiddenChoices.layer;
  const holder = h('div', { id: 'hidden-image', 'data-status': 'loading', 'data-layer': k }, h('p', { class: 'loading' }, `Hidden state ${k}…`));
  box.append(h('div', { class: 'controls' }, hiddenLayerControl(r, 'hidden-layer', () => c.redraw())), holder);
  const img = await c.cached(`hidden/${r.runId}/${k}`, () => c.request('hidden/image', { layer: k, maxSize: 1024 }));
  if (!c.isCurrent()) return;
  const values = img.values ? decodeFloat32(img.values) : null;
  const rows = img.rows;
  const cols = img.cols;
  const width = Math.max(240, Math.min(900, (document.getElementById('modelvis-root')?.clientWidth ?? 800) - 160));
  const readout = h('p', { id: 'hidden-readout', class: 'readout', 'aria-live': 'polite' }, values ? 'Hover the image (or focus it and use Shift+arrows) to read a value.' : 'Too many numbers to send for a read-out; the picture is the whole hidden state.');
  const figure = tokenRowsFigure({
    run: r,
    png: img.png,
    alt: `Hidden state ${k}: ${rows} tokens down, ${cols} dimensions across`,
    label: `Hidden state ${k} as an image`,
    rows,
    cols,
    width,
    ticks: niceTicks(0, cols - 1, 6).filter((d) => d < cols).map((d) => [d, String(d)]),
    show: (row, col) => {
      const v = values ? values[row * cols + col] : undefined;
      readout.textContent = `token ${row} “${tokenLabel(r.tokens[row], 30)}” · dimension ${col}: ${v === undefined ? 'n/a' : formatNumber(v)}`;
      readout.dataset.row = String(row);
      readout.dataset.col = String(col);
      readout.dataset.value = v === undefined ? '' : String(v);
    },
  });
  holder.replaceChildren(
    h('p', { class: 'note' }, `${hiddenLayerName(k, r.model.layers)}: ${rows} tokens × ${cols} dimensions; blue negative, white 0, red positive, ±${formatNumber(img.limit)}.${img.note ? ` ${img.note}.` : ''}`),
    figure,
    readout,
  );
  holder.dataset.status = 'ready';
  c.setExport({
    name: `hidden-${r.model.name}-h${k}`,
    png: async () => img.png,
    json: () => viewJson(r, c.text, 'hidden-image', { layer: k, rows, cols, limit: img.limit, values: values ? rowsOf(values, rows, cols) : null }),
  });
}

// ---- NMF of an MLP layer's activations ----

export async function drawNmf(c: HiddenViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  ensureChoices(r);
  const layerSel = h('select', { id: 'nmf-layer', 'aria-label': 'MLP layer' }, ...Array.from({ length: r.model.layers }, (_, i) => h('option', { value: String(i) }, `Layer ${i}`)));
  layerSel.value = String(hiddenChoices.nmfLayer);
  layerSel.addEventListener('change', () => {
    hiddenChoices.nmfLayer = Number(layerSel.value);
    c.redraw();
  });
  const maxComponents = Math.max(1, Math.min(MAX_COMPONENTS, r.n));
  const countSel = h('select', { id: 'nmf-components', 'aria-label': 'Number of components' }, ...Array.from({ length: maxComponents }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
  hiddenChoices.components = Math.min(hiddenChoices.components, maxComponents);
  countSel.value = String(hiddenChoices.components);
  countSel.addEventListener('change', () => {
    hiddenChoices.components = Number(countSel.value);
    c.redraw();
  });
  const l = hiddenChoices.nmfLayer;
  const want = hiddenChoices.components;
  const holder = h('div', { id: 'nmf', 'data-status': 'loading', 'data-layer': l }, h('p', { class: 'loading' }, `Factorising the MLP activations of layer ${l} into ${want} components…`));
  box.append(h('div', { class: 'controls' }, h('label', { class: 'control' }, h('span', {}, 'MLP layer'), layerSel), h('label', { class: 'control' }, h('span', {}, 'Components'), countSel)), holder);
  const nmf = await c.cached(`nmf/${r.runId}/${l}/${want}`, () => c.request('neurons/nmf', { layer: l, components: want }));
  if (!c.isCurrent()) return;
  const colouring = nmfColouring(nmf.tokenWeights);
  let focus = -1;
  const tokens = h('p', { id: 'nmf-tokens', class: 'nmf-tokens' });
  const paintTokens = () => {
    tokens.replaceChildren(
      ...r.tokens.map((t, i) => {
        // Dominant component, or (a component chosen in the legend) that component's share alone.
        const comp = focus >= 0 ? focus : colouring[i].component;
        const peak = focus >= 0 ? Math.max(...nmf.tokenWeights[focus]) : 0;
        const strength = focus >= 0 ? (peak > 0 ? nmf.tokenWeights[focus][i] / peak : 0) : colouring[i].strength;
        const weights = nmf.tokenWeights.map((w, cc) => `c${cc} ${formatNumber(w[i], 3)}`).join(', ');
        const s = h('span', { class: 'nmf-token token-label', 'data-index': i, 'data-component': comp, 'data-strength': strength.toFixed(3), title: `${i}: ${JSON.stringify(t.text)} · ${weights}` }, tokenLabel(t, 24));
        // (No colour at strength 0: color-mix with 0% of a colour is not a colour.)
        if (comp >= 0 && strength > 0) {
          s.style.setProperty('--c', componentColor(comp));
          s.style.setProperty('--s', String(strength));
        }
        // Deep backgrounds take the background's colour for the text, so it stays readable.
        s.classList.toggle('strong', strength > 0.55);
        return s;
      }),
    );
    tokens.dataset.focus = String(focus);
  };
  const legend = h('div', { id: 'nmf-legend', class: 'nmf-legend', role: 'group', 'aria-label': 'Components: choose one to show its weight alone' });
  const legendButtons = nmf.tokenWeights.map((w, cc) => {
    const top = w.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => `“${tokenLabel(r.tokens[i], 12)}”`);
    const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.background = componentColor(cc);
    const b = h(
      'button',
      { type: 'button', class: 'nmf-component secondary', 'data-component': cc, 'aria-pressed': 'false', title: `Neurons ${nmf.topNeurons[cc].map((n) => `#${n}`).join(', ')}` },
      sw,
      ` Component ${cc}`,
      h('span', { class: 'note' }, ` · ${top.join(' ')} · neurons ${nmf.topNeurons[cc].slice(0, 3).map((n) => `#${n}`).join(' ')}`),
    );
    b.addEventListener('click', () => {
      focus = focus === cc ? -1 : cc;
      legendButtons.forEach((x, j) => x.setAttribute('aria-pressed', String(j === focus)));
      paintTokens();
    });
    legend.append(b);
    return b;
  });
  paintTokens();
  holder.replaceChildren(
    h('p', { class: 'note' }, `The MLP activations of layer ${l} (${r.n} tokens × neurons, negative parts set to 0) ≈ token weights × ${nmf.components} components; relative error ${(nmf.relativeError * 100).toFixed(1)}%. Each token takes the colour of its strongest component, as deep as its share of that component's peak. Choose a component to see its weight alone.`),
    legend,
    tokens,
  );
  holder.dataset.status = 'ready';
  holder.dataset.components = String(nmf.components);
  c.setExport({
    name: `nmf-${r.model.name}-L${l}-${nmf.components}`,
    png: snapshotOf(holder),
    json: () =>
      viewJson(r, c.text, 'nmf', {
        layer: l,
        components: nmf.components,
        relativeError: nmf.relativeError,
        tokenWeights: nmf.tokenWeights,
        topNeurons: nmf.topNeurons,
        dominant: colouring,
      }),
  });
}
