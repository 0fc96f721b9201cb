// The matrix pictures the attention panel's views share: a [rows × columns] host PNG with token labels,
// a cell marker and a read-out under the pointer (or moved with Shift+arrows).

import { labelIndices, tokenLabel } from '../../src/attention/attentionLogic';
import { matrixCellAt } from '../../src/attention/hiddenLogic';
import type { AttentionRun, AttentionToken } from '../../src/common/protocol';
import { formatNumber, h, onShiftArrows } from '../webview/common';
import { pageWidth } from './view';

/** A matrix picture with token labels on both axes and a hover read-out. */
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

/** The side of a matrix picture that fits the page. */
export function availableSize(): number {
  const w = pageWidth() - 140;
  const hgt = window.innerHeight - 260;
  return Math.max(160, Math.min(w, Math.max(hgt, 320), 1400));
}

/** The picture with token labels on both axes (thinned to one per 13 px), a cell marker and a hover / Shift+arrow read-out. */
export function matrixFigure(r: AttentionRun, o: MatrixFigure): HTMLElement {
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
