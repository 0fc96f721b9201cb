// The run panel's webview: one uPlot chart per scalar tag with every run overlaid (raw faint, smoothed solid),
// TensorBoard's smoothing slider, log scale, step / relative / wall-time x axes, hover read-out in the legend,
// drag to zoom (double-click resets); histogram tags as TensorBoard's distribution bands over steps.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './runs.css';
import type { RunHistogramsResult, ScalarSeriesWire } from '../../src/common/protocol';
import { alignSeries, emaSmooth, forLogScale, formatDuration, groupTags, num, resampleHistogram, runStartTime, spreadIndices, XMode, xValues } from '../../src/common/runsChart';
import { histogramKey, RunsViewState, RunView } from '../../src/common/runsView';
import { axisTheme, seriesColor, withAlpha } from './chartTheme';
import { connect, formatNumber, h, loadState, post, render, saveState } from './common';

interface LocalState {
  smoothing: number;
  xMode: XMode;
  logScale: boolean;
  /** Histogram cards: TensorBoard's distribution bands, or the histograms stacked with an offset per step. */
  histogramMode: 'distribution' | 'offset';
}

let local: LocalState = { smoothing: 0.6, xMode: 'step', logScale: false, histogramMode: 'distribution', ...(loadState<LocalState>() ?? {}) };
let current: RunsViewState | undefined;
let charts: uPlot[] = [];
const requested = new Set<string>();
/** When the state now drawn arrived (performance.now()): each chart says how long after it it was painted. */
let stateArrived = 0;

connect<{ type: 'state'; state: RunsViewState }>((message) => {
  if (message.type !== 'state') return;
  stateArrived = performance.now();
  const stale = current && message.state.revision !== current.revision;
  // A run that grew (a followed file, a training's loss curve several times a second): redraw the header, messages
  // and charts, and keep the controls, so a slider being dragged is not replaced under the pointer.
  const grew = current?.status === 'ready' && message.state.status === 'ready' && document.querySelector('.runs-controls') !== null;
  current = message.state;
  if (stale) requested.clear();
  if (grew) redrawData(current);
  else draw();
});

const resize = new ResizeObserver(() => {
  for (const c of charts) {
    const width = c.root.parentElement?.clientWidth ?? 400;
    if (Math.abs(width - c.width) > 2) c.setSize({ width, height: c.height });
  }
});

function setLocal(patch: Partial<LocalState>): void {
  local = { ...local, ...patch };
  saveState(local);
  drawCharts();
}

function draw(): void {
  const s = current;
  if (!s) return;
  const focused = document.activeElement?.id;
  render(
    s.status,
    header(s),
    s.status === 'error' ? h('div', { id: 'runs-error', class: 'error', role: 'alert' }, s.error ?? 'Unknown error') : null,
    s.status === 'loading' ? h('p', { id: 'runs-loading', class: 'loading' }, 'Reading the runs…') : null,
    s.status === 'ready' ? controls() : null,
    s.status === 'ready' ? legend(s.runs) : null,
    s.status === 'ready' ? messages(s.runs) : null,
    h('div', { id: 'runs-charts' }),
  );
  if (focused) document.getElementById(focused)?.focus();
  drawCharts();
}

function redrawData(s: RunsViewState): void {
  document.querySelector('header.panel-header')?.replaceWith(header(s));
  document.getElementById('runs-messages')?.remove();
  const messagesNow = messages(s.runs);
  if (messagesNow) document.getElementById('runs-charts')?.before(messagesNow);
  drawCharts();
}

function header(s: RunsViewState): HTMLElement {
  const names = s.runs.map((r) => r.name).join(', ');
  return h(
    'header',
    { class: 'panel-header' },
    h('h1', { id: 'runs-title' }, s.runs.length > 1 ? `${s.runs.length} runs` : names || 'Run'),
    h('p', { class: 'meta', title: s.runs.map((r) => r.path).join('\n') }, names, s.following ? ' · following new records' : ''),
    s.statusLine ? h('p', { id: 'runs-status', class: 'meta', role: 'status' }, s.statusLine) : null,
    h('button', { id: 'runs-reload', class: 'secondary', type: 'button', onclick: () => post({ type: 'reload' }) }, 'Reload'),
  );
}

function controls(): HTMLElement {
  const value = h('span', { id: 'runs-smoothing-value' }, local.smoothing.toFixed(2));
  const slider = h('input', {
    id: 'runs-smoothing',
    type: 'range',
    min: 0,
    max: 0.99,
    step: 0.01,
    value: local.smoothing,
    'aria-label': 'Smoothing',
    oninput: (e: Event) => {
      const v = Number((e.target as HTMLInputElement).value);
      value.textContent = v.toFixed(2);
      setLocal({ smoothing: v });
    },
  });
  const mode = h(
    'select',
    { id: 'runs-xmode', 'aria-label': 'Horizontal axis', onchange: (e: Event) => setLocal({ xMode: (e.target as HTMLSelectElement).value as XMode }) },
    ...(['step', 'relative', 'wall'] as XMode[]).map((m) =>
      h('option', { value: m, selected: m === local.xMode }, m === 'step' ? 'Step' : m === 'relative' ? 'Relative time' : 'Wall time'),
    ),
  );
  const log = h('input', { id: 'runs-log', type: 'checkbox', checked: local.logScale, onchange: (e: Event) => setLocal({ logScale: (e.target as HTMLInputElement).checked }) });
  return h(
    'div',
    { class: 'runs-controls', role: 'group', 'aria-label': 'Chart settings' },
    h('label', {}, 'Smoothing', slider, value),
    h('label', {}, 'X axis', mode),
    h('label', {}, log, 'Log scale'),
    h('span', { class: 'note' }, 'Drag to zoom, double-click to reset.'),
  );
}

function legend(runs: RunView[]): HTMLElement | null {
  if (runs.length < 2) return null;
  return h(
    'div',
    { class: 'run-legend', id: 'runs-legend' },
    ...runs.map((r, i) => h('span', { title: r.path }, h('span', { class: 'run-swatch', 'data-color': i }), r.name)),
  );
}

function messages(runs: RunView[]): HTMLElement | null {
  const problems = runs.flatMap((r) => r.problems.map((p) => (runs.length > 1 ? `${r.name}: ${p}` : p)));
  const notes = runs.flatMap((r) => r.notes.map((n) => (runs.length > 1 ? `${r.name}: ${n}` : n)));
  if (problems.length === 0 && notes.length === 0) return null;
  return h(
    'div',
    { id: 'runs-messages' },
    problems.length > 0 ? h('ul', { class: 'problems', 'aria-label': 'Damaged records skipped' }, ...problems.slice(0, 20).map((p) => h('li', {}, p))) : null,
    problems.length > 20 ? h('p', { class: 'note' }, `… and ${problems.length - 20} more damaged records`) : null,
    ...notes.map((n) => h('p', { class: 'note' }, n)),
  );
}

function drawCharts(): void {
  for (const c of charts) c.destroy();
  charts = [];
  resize.disconnect();
  const host = document.getElementById('runs-charts');
  const s = current;
  if (!host || !s || s.status !== 'ready') return;
  host.replaceChildren();
  // Colour swatches of the legend (set through the CSSOM: the CSP allows no inline style attributes).
  document.querySelectorAll<HTMLElement>('.run-swatch').forEach((el) => (el.style.background = seriesColor(Number(el.dataset.color))));

  const tags: string[] = [];
  for (const r of s.runs) for (const t of Object.keys(r.tags)) if (!tags.includes(t)) tags.push(t);
  if (tags.length === 0 && s.runs.every((r) => r.histograms.length === 0)) {
    host.appendChild(h('p', { class: 'note', id: 'runs-empty' }, 'No scalars or histograms in these files yet.'));
    return;
  }
  // Tags without a "group/" prefix share one grid; each prefix gets its own heading, as TensorBoard's cards.
  let loose: HTMLElement | undefined;
  for (const { group, tags: inGroup } of groupTags(tags)) {
    const grouped = inGroup.length > 1 || inGroup[0] !== group;
    let cards: HTMLElement;
    if (grouped) {
      host.appendChild(h('h2', { class: 'group-title' }, group));
      cards = host.appendChild(h('div', { class: 'tag-cards' }));
      loose = undefined;
    } else cards = loose ??= host.appendChild(h('div', { class: 'tag-cards' }));
    for (const tag of inGroup) cards.appendChild(scalarCard(s.runs, tag));
  }
  const histogramCards = s.runs.flatMap((r) => r.histograms.map((hg) => ({ run: r, tag: hg.tag, count: hg.count })));
  if (histogramCards.length > 0) {
    const modeButton = (mode: LocalState['histogramMode'], label: string) =>
      h('button', { type: 'button', id: `runs-hist-${mode}`, class: local.histogramMode === mode ? '' : 'secondary', 'aria-pressed': String(local.histogramMode === mode), onclick: () => setLocal({ histogramMode: mode }) }, label);
    host.appendChild(h('h2', { class: 'group-title' }, 'Histograms ', modeButton('distribution', 'Distribution'), ' ', modeButton('offset', 'Offset stack')));
    const cards = h('div', { class: 'tag-cards' });
    host.appendChild(cards);
    histogramCards.forEach((c, i) => cards.appendChild(histogramCard(c.run, c.tag, c.count, i < 6)));
  }
}

function scalarCard(runs: RunView[], tag: string): HTMLElement {
  const chartEl = h('div', { class: 'chart', 'data-tag': tag });
  const card = h('section', { class: 'tag-card', 'aria-label': tag }, h('h3', {}, tag), chartEl);
  const present = runs.map((r, i) => ({ run: r, i, series: r.tags[tag] as ScalarSeriesWire | undefined })).filter((x) => x.series && x.series.steps.length > 0);
  const missingTime: string[] = [];
  const lines: Array<{ x: number[]; y: Array<number | null> }> = [];
  const seriesOpts: uPlot.Series[] = [];
  for (const { run, i, series } of present) {
    const runStart = runStartTime(run.tags);
    const x = xValues(series!, local.xMode, runStart);
    if (!x) {
      missingTime.push(run.name);
      continue;
    }
    const raw = series!.values.map(num);
    const smoothed = local.smoothing > 0 ? emaSmooth(raw, local.smoothing) : raw;
    const shape = (v: number[]) => (local.logScale ? forLogScale(v) : v.map((y) => (Number.isFinite(y) ? y : null)));
    const color = seriesColor(i);
    if (local.smoothing > 0) {
      lines.push({ x, y: shape(raw) });
      seriesOpts.push({ label: `${run.name} (raw)`, stroke: withAlpha(color, 0.3), width: 1, spanGaps: true, points: { show: false }, value: readout });
    }
    lines.push({ x, y: shape(smoothed) });
    seriesOpts.push({ label: local.smoothing > 0 ? `${run.name} (smoothed)` : run.name, stroke: color, width: 1.5, spanGaps: true, points: { fill: color }, value: readout });
  }
  if (missingTime.length > 0)
    card.appendChild(h('p', { class: 'note' }, `${missingTime.join(', ')}: the log has no wall times; choose Step to see ${missingTime.length > 1 ? 'them' : 'it'}.`));
  if (lines.length === 0) return card;
  const { x, ys } = alignSeries(lines);
  queueMicrotask(() => mount(chartEl, [x, ...ys], seriesOpts, card));
  return card;
}

function readout(_u: uPlot, v: number | null): string {
  return v === null || v === undefined ? '–' : formatNumber(v);
}

/** Tick labels; a log axis leaves some splits unlabelled (null). */
function ticks(format: (v: number) => string): uPlot.Axis['values'] {
  return (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : format(v)));
}

function xAxisOptions(): Pick<uPlot.Axis, 'values'> {
  if (local.xMode === 'relative') return { values: ticks(formatDuration) };
  if (local.xMode === 'step') return { values: ticks((v) => formatNumber(v)) };
  return {};
}

function xLabel(): uPlot.Series {
  if (local.xMode === 'relative') return { label: 'Relative', value: (_u, v) => (v === null ? '–' : formatDuration(v)) };
  if (local.xMode === 'wall') return { label: 'Wall time', value: (_u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleString()) };
  return { label: 'Step', value: (_u, v) => (v === null ? '–' : String(v)) };
}

function mount(el: HTMLElement, data: uPlot.AlignedData, series: uPlot.Series[], card: HTMLElement, extra: Partial<uPlot.Options> = {}): void {
  if (!el.isConnected) return;
  const theme = axisTheme();
  const axis = (): uPlot.Axis => ({ stroke: theme.stroke, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.ticks, width: 1 } });
  const opts: uPlot.Options = {
    width: Math.max(280, card.clientWidth - 16),
    height: 220,
    scales: { x: { time: local.xMode === 'wall' }, y: { distr: local.logScale ? 3 : 1 } },
    axes: [{ ...axis(), ...xAxisOptions() }, { ...axis(), size: 60, values: ticks((v) => formatNumber(v)) }],
    series: [xLabel(), ...series],
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    legend: { live: true },
    ...extra,
  };
  const chart = new uPlot(opts, data, el);
  charts.push(chart);
  // What was plotted (x and every series), for tests and for a person checking a chart against the CLI's numbers.
  if (data[0].length <= 200_000) el.dataset.plotted = JSON.stringify({ labels: series.map((x) => x.label ?? ''), data });
  // Draw time for the benchmark (bench/runs): from the state's arrival to the frame that shows this chart.
  const arrived = stateArrived;
  requestAnimationFrame(() => setTimeout(() => {
    el.dataset.drawMs = (performance.now() - arrived).toFixed(1);
    el.dataset.paintedAt = (performance.timeOrigin + performance.now()).toFixed(1);
  }));
  el.dataset.ready = 'true';
  resize.observe(el);
}

function histogramCard(run: RunView, tag: string, count: number, autoload: boolean): HTMLElement {
  const key = histogramKey(run.path, tag);
  const data = current?.histograms[key];
  const chartEl = h('div', { class: 'chart', 'data-histogram': tag });
  const title = current && current.runs.length > 1 ? `${tag} · ${run.name}` : tag;
  const card = h('section', { class: 'tag-card', 'aria-label': `Distribution of ${title}` }, h('h3', {}, title), chartEl);
  if (!data) {
    if (autoload && !requested.has(key)) {
      requested.add(key);
      post({ type: 'loadHistogram', run: run.path, tag });
    }
    card.appendChild(
      requested.has(key)
        ? h('p', { class: 'loading' }, 'Reading the histograms…')
        : h('button', { class: 'secondary', type: 'button', onclick: () => { requested.add(key); post({ type: 'loadHistogram', run: run.path, tag }); drawCharts(); } }, `Show ${count} histograms`),
    );
    return card;
  }
  if ('error' in data) {
    card.appendChild(h('div', { class: 'error' }, data.error));
    return card;
  }
  queueMicrotask(() => (local.histogramMode === 'offset' ? mountOffsetStack(chartEl, data, card) : mountDistribution(chartEl, data, card)));
  return card;
}

/**
 * TensorBoard's offset view: each step's histogram over a shared value axis, stacked with an offset per step (the
 * earliest at the back, at the top; the latest in front), each scaled to its own tallest bin. Up to 16 steps.
 */
function mountOffsetStack(el: HTMLElement, data: RunHistogramsResult, card: HTMLElement): void {
  const chosen = spreadIndices(data.steps.length, 16).map((i) => data.steps[i]).filter((s) => s.counts.length > 0);
  if (chosen.length === 0) return;
  const lo = Math.min(...chosen.map((s) => s.left[0]));
  const hi = Math.max(...chosen.map((s) => s.right[s.right.length - 1]));
  const bins = 80;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const x = Array.from({ length: bins }, (_, k) => lo + (k + 0.5) * width);
  const gap = 1;
  const height = 3 * gap;
  const n = chosen.length;
  const offsetOf = (j: number) => (n - 1 - j) * gap;
  const columns = chosen.map((s, j) => {
    const r = resampleHistogram(s.left, s.right, s.counts, lo, hi > lo ? hi : lo + 1, bins);
    const top = Math.max(...r) || 1;
    return r.map((c) => offsetOf(j) + (c / top) * height);
  });
  const color = seriesColor(0);
  const series: uPlot.Series[] = chosen.map((s, j) => ({
    label: `step ${s.step}`,
    stroke: withAlpha(color, 0.25 + (0.75 * (j + 1)) / n),
    width: 1,
    points: { show: false },
    value: (_u, v) => (v === null ? '–' : formatNumber(v - offsetOf(j))),
  }));
  const offsets = chosen.map((_, j) => offsetOf(j));
  const stepAt = new Map(chosen.map((s, j) => [offsetOf(j), s.step]));
  const theme = axisTheme();
  const yAxis: uPlot.Axis = {
    stroke: theme.stroke,
    grid: { show: false },
    ticks: { stroke: theme.ticks, width: 1 },
    size: 60,
    splits: () => offsets.filter((_, j) => j % Math.ceil(n / 8) === 0 || j === n - 1),
    values: (_u, splits) => splits.map((v) => (stepAt.has(v) ? String(stepAt.get(v)) : '')),
    label: 'step',
  };
  const saved = local.xMode;
  local.xMode = 'step';
  mount(el, [x, ...columns], series, card, {
    scales: { x: { time: false }, y: { distr: 1, range: [0, offsetOf(0) + height + gap * 0.2] } },
    axes: [
      { stroke: theme.stroke, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.ticks, width: 1 }, values: ticks((v) => formatNumber(v)) },
      yAxis,
    ],
    legend: { show: false },
    height: 320,
  });
  local.xMode = saved;
}

/**
 * TensorBoard's distribution chart: at each step, bands between the percentiles (min–max, ±1.5σ, ±1σ, ±0.5σ of a
 * normal distribution's basis points) and the median line. The x axis is steps (or the chosen time axis).
 */
function mountDistribution(el: HTMLElement, data: RunHistogramsResult, card: HTMLElement): void {
  const steps = data.steps;
  const haveTimes = steps.every((s) => s.wallTime !== null);
  const mode = local.xMode !== 'step' && haveTimes ? local.xMode : 'step';
  const t0 = haveTimes ? steps.reduce((m, s) => Math.min(m, s.wallTime as number), Infinity) : 0;
  const xs = steps.map((s) => (mode === 'step' ? s.step : mode === 'wall' ? (s.wallTime as number) : (s.wallTime as number) - t0));
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const n = data.basisPoints.length;
  const columns: Array<Array<number | null>> = [];
  for (let k = 0; k < n; k++) columns.push(order.map((i) => { const v = num(steps[i].percentiles[k]); return Number.isFinite(v) ? v : null; }));
  const color = seriesColor(0);
  const median = data.basisPoints.indexOf(5000);
  const series: uPlot.Series[] = data.basisPoints.map((bp, k) => ({
    label: `${(bp / 100).toFixed(bp % 100 === 0 ? 0 : 2)}%`,
    stroke: k === median ? color : withAlpha(color, 0.25),
    width: k === median ? 1.5 : 0.5,
    points: { show: false },
    value: readout,
  }));
  // Bands from the outside in: series index k+1 (after the x series), paired with its mirror.
  const bands: uPlot.Band[] = [];
  for (let k = 0; k < Math.floor(n / 2); k++) bands.push({ series: [n - k, k + 1], fill: withAlpha(color, 0.12 + 0.08 * k) });
  const saved = local.xMode;
  local.xMode = mode;
  mount(el, [order.map((i) => xs[i]), ...columns], series, card, { bands, scales: { x: { time: mode === 'wall' }, y: { distr: 1 } } });
  local.xMode = saved;
}
