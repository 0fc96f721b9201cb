// The tensor panel's webview: statistics, histogram (drawn here from the host's counts) and the
// host's heatmap PNG with its notes and colour scale.

import { decodeFloat32 } from '../../src/attention/attentionLogic';
import { niceTicks } from '../../src/attention/hiddenLogic';
import {
  displayScale,
  heatmapCellAt,
  heatmapReadout,
  histogramBars,
  imageNotes,
  scaleLabels,
  statRows,
  tensorSummary,
  TensorViewState,
  Reduce,
} from '../../src/common/tensorView';
import type { TensorImage, TensorInspection } from '../../src/common/protocol';
import { connect, formatInteger, formatNumber, h, loadState, post, render, saveState, svg } from './common';
import { colourBar } from './colourBar';
import { savePngButton } from './snapshot';

interface LocalState {
  logScale: boolean;
}

let local: LocalState = loadState<LocalState>() ?? { logScale: false };
let current: TensorViewState | undefined;
let selectedBin = -1;

connect<{ type: 'state'; state: TensorViewState }>((message) => {
  if (message.type === 'state') {
    current = message.state;
    draw();
  }
});

function draw(): void {
  const s = current;
  if (!s) return;
  const focused = document.activeElement?.id;
  const overall = s.status === 'error' ? 'error' : s.status === 'loading' ? 'loading' : 'ready';
  render(
    overall,
    header(s),
    s.status === 'error' ? h('div', { id: 'tensor-error', class: 'error', role: 'alert' }, s.error ?? 'Unknown error') : null,
    s.status === 'loading' ? h('p', { id: 'tensor-loading', class: 'loading' }, 'Reading the tensor…') : null,
    s.inspection ? body(s, s.inspection) : null,
  );
  if (focused) document.getElementById(focused)?.focus();
}

function header(s: TensorViewState): HTMLElement {
  return h(
    'header',
    { class: 'panel-header' },
    h('h1', { id: 'tensor-title', title: s.tensor }, s.tensor),
    h(
      'p',
      { id: 'tensor-meta', class: 'meta' },
      s.inspection ? tensorSummary(s.inspection) : '',
      s.inspection ? ' · ' : '',
      h('span', { title: s.inspection?.file ?? s.modelPath }, s.modelName),
    ),
    h('button', { id: 'tensor-reload', class: 'secondary', type: 'button', 'aria-label': 'Reload tensor', onclick: () => post({ type: 'reload' }) }, 'Reload'),
  );
}

function body(s: TensorViewState, inspection: TensorInspection): HTMLElement {
  if (!inspection.readable || !inspection.stats) {
    return h(
      'section',
      { class: 'section' },
      h('p', { id: 'tensor-note', class: 'note', role: 'note' }, inspection.note ?? `Values of ${inspection.dtype} tensors are not shown.`),
    );
  }
  return h(
    'div',
    { class: 'tensor-body' },
    h(
      'div',
      { class: 'columns' },
      h('section', { class: 'section', 'aria-labelledby': 'stats-heading' }, h('h2', { id: 'stats-heading' }, 'Statistics'), statsTable(inspection)),
      h('section', { class: 'section', 'aria-labelledby': 'histogram-heading' }, h('h2', { id: 'histogram-heading' }, 'Histogram'), histogram(inspection)),
    ),
    h('section', { class: 'section', 'aria-labelledby': 'heatmap-heading' }, h('h2', { id: 'heatmap-heading' }, 'Values'), heatmap(s)),
  );
}

function statsTable(inspection: TensorInspection): HTMLElement {
  return h(
    'table',
    { id: 'tensor-stats', class: 'stats' },
    h('caption', { class: 'visually-hidden' }, `Statistics of ${inspection.name}`),
    h(
      'tbody',
      {},
      ...statRows(inspection).map((row) =>
        h('tr', { 'data-stat': row.key }, h('th', { scope: 'row' }, row.label), h('td', { class: 'stat-value' }, row.value)),
      ),
    ),
  );
}

const HIST_W = 320;
const HIST_H = 120;

function histogram(inspection: TensorInspection): HTMLElement {
  const hist = inspection.histogram;
  if (!hist || hist.counts.length === 0) return h('p', { class: 'note' }, 'No histogram.');
  const bars = histogramBars(hist, HIST_W, HIST_H, local.logScale);
  const total = hist.counts.reduce((a, b) => a + b, 0);
  const readout = h('p', { id: 'histogram-readout', class: 'readout', 'aria-live': 'polite' }, describeBin(bars, selectedBin, total));
  const rects = bars.map((b, i) =>
    svg(
      'rect',
      { class: i === selectedBin ? 'bar selected' : 'bar', x: b.x.toFixed(2), y: b.y.toFixed(2), width: Math.max(0.5, b.width - 0.5).toFixed(2), height: b.height.toFixed(2), 'data-bin': i },
      svg('title', {}, binText(b)),
    ),
  );
  const zeroX = hist.max > hist.min && hist.min < 0 && hist.max > 0 ? ((0 - hist.min) / (hist.max - hist.min)) * HIST_W : -1;
  const chart = svg(
    'svg',
    {
      id: 'tensor-histogram',
      class: 'histogram',
      viewBox: `0 0 ${HIST_W} ${HIST_H + 16}`,
      role: 'img',
      tabindex: 0,
      'aria-label': `Histogram of ${formatInteger(total)} values from ${formatNumber(hist.min)} to ${formatNumber(hist.max)} in ${hist.counts.length} bins${local.logScale ? ', log scale' : ''}. Use the arrow keys to read the bins.`,
      'data-bins': hist.counts.length,
      onkeydown: (e: Event) => {
        const k = (e as KeyboardEvent).key;
        const n = bars.length;
        const next = k === 'ArrowRight' ? Math.min(n - 1, selectedBin + 1) : k === 'ArrowLeft' ? Math.max(0, selectedBin < 0 ? 0 : selectedBin - 1) : k === 'Home' ? 0 : k === 'End' ? n - 1 : -2;
        if (next === -2) return;
        e.preventDefault();
        selectedBin = next;
        rects.forEach((r, i) => r.setAttribute('class', i === selectedBin ? 'bar selected' : 'bar'));
        readout.textContent = describeBin(bars, selectedBin, total);
      },
    },
    ...rects,
    zeroX >= 0 ? svg('line', { class: 'zero-line', x1: zeroX, x2: zeroX, y1: 0, y2: HIST_H }) : null,
    svg('text', { class: 'axis-label', x: 0, y: HIST_H + 13, 'text-anchor': 'start' }, formatNumber(hist.min)),
    zeroX > 30 && zeroX < HIST_W - 30 ? svg('text', { class: 'axis-label', x: zeroX, y: HIST_H + 13, 'text-anchor': 'middle' }, '0') : null,
    svg('text', { class: 'axis-label', x: HIST_W, y: HIST_H + 13, 'text-anchor': 'end' }, formatNumber(hist.max)),
  );
  const logToggle = h('input', {
    type: 'checkbox',
    id: 'histogram-log',
    checked: local.logScale,
    onchange: (e: Event) => {
      local = { ...local, logScale: (e.target as HTMLInputElement).checked };
      saveState(local);
      draw();
    },
  });
  return h(
    'div',
    { class: 'histogram-container' },
    chart,
    h('div', { class: 'controls' }, h('label', { for: 'histogram-log' }, logToggle, ' Log scale')),
    readout,
  );
}

function binText(b: { from: number; to: number; count: number }): string {
  return `[${formatNumber(b.from)}, ${formatNumber(b.to)}): ${formatInteger(b.count)}`;
}

function describeBin(bars: ReturnType<typeof histogramBars>, i: number, total: number): string {
  if (i < 0 || i >= bars.length) return '';
  const b = bars[i];
  const share = total > 0 ? ` (${((b.count / total) * 100).toFixed(2)}%)` : '';
  return `Bin ${i + 1} of ${bars.length}: ${binText(b)} values${share}`;
}

function heatmap(s: TensorViewState): HTMLElement {
  const reduceControl = h(
    'fieldset',
    { id: 'reduce-control', class: 'radio-group' },
    h('legend', {}, 'Downsampling of large tensors'),
    radio('maxabs', 'Block max-abs', s.reduce),
    radio('mean', 'Block mean', s.reduce),
  );
  let content: Node;
  if (s.imageStatus === 'loading') content = h('p', { id: 'heatmap-status', class: 'loading' }, 'Rendering…');
  else if (s.imageStatus === 'error') content = h('div', { id: 'heatmap-error', class: 'error', role: 'alert' }, s.imageError ?? 'The image could not be rendered.');
  else if (s.imageStatus === 'ready' && s.image) content = figure(s, s.image);
  else content = h('p', { class: 'note' }, 'No image.');
  return h('div', { class: 'heatmap-container', 'data-image-status': s.imageStatus }, reduceControl, content);
}

function radio(value: Reduce, label: string, selected: Reduce): HTMLElement {
  const input = h('input', {
    type: 'radio',
    name: 'reduce',
    id: `reduce-${value}`,
    value,
    checked: value === selected,
    onchange: () => post({ type: 'setReduce', reduce: value }),
  });
  return h('label', { for: `reduce-${value}` }, input, ` ${label}`);
}

function figure(s: TensorViewState, image: TensorImage): HTMLElement {
  const available = Math.max(200, (document.getElementById('modelvis-root')?.clientWidth ?? 800) - 90);
  const scale = displayScale(image.width, image.height, available);
  const width = image.width * scale;
  const height = image.height * scale;
  const img = h('img', {
    id: 'tensor-heatmap',
    class: 'heatmap',
    src: `data:image/png;base64,${image.png}`,
    width,
    height,
    alt: `Heatmap of ${s.tensor}: ${image.height}×${image.width} pixels, ${image.layout}`,
    'data-layout': image.layout,
    'data-loaded': 'false',
  });
  img.addEventListener('load', () => img.setAttribute('data-loaded', 'true'));
  img.addEventListener('error', () => img.setAttribute('data-loaded', 'error'));
  const labels = scaleLabels(image);
  const readout = h('p', { id: 'heatmap-readout', class: 'readout', 'aria-live': 'polite' }, image.layout === 'grid' ? '' : 'Hover the heatmap to read a value.');
  const values = image.values ? decodeFloat32(image.values.values) : null;
  img.addEventListener('mousemove', (e) => {
    const r = img.getBoundingClientRect();
    const cell = heatmapCellAt(image, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    if (!cell) return;
    const value = values && image.values ? values[cell.row * image.values.cols + cell.col] : undefined;
    readout.textContent = heatmapReadout(image, cell, value);
    readout.dataset.row = String(cell.rows[0]);
    readout.dataset.col = String(cell.cols[0]);
    readout.dataset.value = value === undefined ? '' : String(value);
  });
  const holder = h(
    'figure',
    { class: 'heatmap-figure', id: 'heatmap-figure' },
    h('div', { class: 'heatmap-scroll', tabindex: 0, role: 'group', 'aria-label': 'Heatmap (scrollable)' }, image.layout === 'grid' ? img : withAxes(image, img, width, height)),
    readout,
    h('figcaption', { id: 'heatmap-notes' }, ...imageNotes(image).map((n) => h('p', { class: 'note' }, n))),
    legend(image, labels),
  );
  const save = savePngButton(
    () => holder,
    () => ({ title: s.tensor, subtitle: `${s.modelName} · ${s.inspection ? tensorSummary(s.inspection) : ''}` }),
    () => `${s.modelName}-${s.tensor}`,
  );
  return h('div', {}, h('div', { class: 'controls' }, save), holder);
}

/** Row indices down the left and column indices across the top (the source tensor's, before downsampling). */
function withAxes(image: TensorImage, img: HTMLElement, width: number, height: number): HTMLElement {
  const ticks = (n: number, px: number) => niceTicks(0, n - 1, Math.max(2, Math.floor(px / 60))).filter((t) => t >= 0 && t <= n - 1 && Number.isInteger(t));
  const top = h('div', { class: 'heatmap-axis cols', 'aria-hidden': 'true' });
  top.style.width = `${width}px`;
  for (const c of ticks(image.source.cols, width)) {
    const t = h('span', { class: 'tick', 'data-index': c }, String(c));
    t.style.left = `${((c + 0.5) / image.source.cols) * width}px`;
    top.append(t);
  }
  const left = h('div', { class: 'heatmap-axis rows', 'aria-hidden': 'true' });
  left.style.height = `${height}px`;
  if (image.layout === 'matrix') {
    for (const r of ticks(image.source.rows, height)) {
      const t = h('span', { class: 'tick', 'data-index': r }, String(r));
      t.style.top = `${((r + 0.5) / image.source.rows) * height}px`;
      left.append(t);
    }
  }
  const corner = h('div', { class: 'heatmap-corner note' }, image.layout === 'matrix' ? 'row ↓ col →' : 'index →');
  return h('div', { class: 'heatmap-axes' }, corner, top, left, img);
}

function legend(image: TensorImage, labels: ReturnType<typeof scaleLabels>): HTMLElement {
  return h(
    'div',
    { id: 'heatmap-legend', class: 'legend', role: 'img', 'aria-label': labels.caption, 'data-colormap': image.scale.colormap },
    colourBar({ colormap: 'rdbu', low: labels.low, mid: labels.mid, high: labels.high, label: labels.caption }),
    h('p', { class: 'note legend-caption' }, labels.caption),
  );
}
