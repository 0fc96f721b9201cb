// The checkpoint comparison webview: tensors sorted by relative change ‖A−B‖/‖A‖; for the chosen tensor the host's
// heatmap of A−B (diverging colours, centred at 0) and the two value histograms overlaid (uPlot).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './runs.css';
import type { CompareDiffResult, TensorChange } from '../../src/common/protocol';
import { num } from '../../src/common/runsChart';
import type { CompareViewState } from '../../src/common/runsView';
import { axisTheme, seriesColor, withAlpha } from './chartTheme';
import { connect, formatNumber, h, post, render } from './common';
import { savePngButton } from './snapshot';

let current: CompareViewState | undefined;
let chart: uPlot | undefined;

connect<{ type: 'state'; state: CompareViewState }>((message) => {
  if (message.type === 'state') {
    current = message.state;
    draw();
  }
});

function draw(): void {
  const s = current;
  if (!s) return;
  const focused = document.activeElement?.id;
  chart?.destroy();
  chart = undefined;
  const histEl = h('div', { id: 'compare-histograms', class: 'chart' });
  render(
    s.status,
    h(
      'header',
      { class: 'panel-header' },
      h('h1', { id: 'compare-title' }, 'Checkpoints compared'),
      h('p', { class: 'meta' }, h('span', { title: s.a }, `A: ${s.a}`), h('br'), h('span', { title: s.b }, `B: ${s.b}`)),
      h('button', { id: 'compare-reload', class: 'secondary', type: 'button', onclick: () => post({ type: 'reload' }) }, 'Reload'),
    ),
    s.status === 'error' ? h('div', { class: 'error', role: 'alert', id: 'compare-error' }, s.error ?? 'Unknown error') : null,
    s.status === 'loading' ? h('p', { class: 'loading' }, 'Comparing every tensor…') : null,
    s.result ? notes(s) : null,
    s.result ? h('div', { class: 'compare-split' }, table(s.result.tensors, s.selected), detail(s, histEl)) : null,
  );
  if (focused) document.getElementById(focused)?.focus();
  if (s.diff) queueMicrotask(() => drawHistograms(histEl, s.diff!));
}

function notes(s: CompareViewState): HTMLElement {
  const r = s.result!;
  const lines = [
    ...r.notes,
    r.onlyInA.length ? `${r.onlyInA.length} tensors only in A: ${r.onlyInA.slice(0, 8).join(', ')}${r.onlyInA.length > 8 ? ', …' : ''}` : '',
    r.onlyInB.length ? `${r.onlyInB.length} tensors only in B: ${r.onlyInB.slice(0, 8).join(', ')}${r.onlyInB.length > 8 ? ', …' : ''}` : '',
    ...r.notCompared.map((n) => `Not compared: ${n}`),
  ].filter(Boolean);
  return h('div', { id: 'compare-notes' }, h('p', { class: 'meta' }, `${r.tensors.length} tensors compared; relative change = ‖A−B‖ / ‖A‖.`), ...lines.map((l) => h('p', { class: 'note' }, l)));
}

function table(rows: TensorChange[], selected: string | undefined): HTMLElement {
  const body = h('tbody');
  rows.forEach((t, i) => {
    const tr = h(
      'tr',
      {
        tabindex: t.name === selected || (!selected && i === 0) ? 0 : -1,
        'aria-selected': String(t.name === selected),
        'data-name': t.name,
        onclick: () => post({ type: 'select', tensor: t.name }),
        onkeydown: (e: Event) => {
          const k = (e as KeyboardEvent).key;
          if (k === 'Enter' || k === ' ') post({ type: 'select', tensor: t.name });
          else if (k === 'ArrowDown' || k === 'ArrowUp') {
            const next = (k === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
            next?.focus();
            e.preventDefault();
          }
        },
      },
      h('td', {}, t.name),
      h('td', {}, `[${t.shape.join(', ')}]`),
      h('td', {}, formatNumber(num(t.relChange))),
      h('td', {}, formatNumber(num(t.maxAbsDiff))),
    );
    body.appendChild(tr);
  });
  return h(
    'div',
    { class: 'table-scroll' },
    h('table', { class: 'compare-table', id: 'compare-table', 'aria-label': 'Tensors by relative change' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Tensor'), h('th', {}, 'Shape'), h('th', {}, 'Relative change'), h('th', {}, 'Max |A−B|'))),
      body),
  );
}

function detail(s: CompareViewState, histEl: HTMLElement): HTMLElement {
  if (!s.selected) return h('div');
  const d = s.diff;
  return h(
    'div',
    { id: 'compare-detail' },
    h('h2', {}, s.selected),
    d
      ? h('div', { class: 'controls' }, savePngButton(
          () => document.querySelector<HTMLElement>('#compare-detail .compare-detail'),
          () => ({ title: `${s.selected}: A − B`, subtitle: `A: ${s.a} · B: ${s.b}` }),
          () => `compare-${s.selected}`,
        ))
      : null,
    s.diffStatus === 'loading' ? h('p', { class: 'loading' }, 'Reading both tensors…') : null,
    s.diffStatus === 'error' ? h('div', { class: 'error' }, s.diffError ?? 'Unknown error') : null,
    d
      ? h(
          'div',
          { class: 'compare-detail' },
          h(
            'figure',
            {},
            h('img', { id: 'compare-diff-image', src: `data:image/png;base64,${d.difference.png}`, width: d.difference.width, height: d.difference.height, alt: `Heatmap of A−B for ${d.name}` }),
            h('figcaption', { class: 'note' }, `A−B, diverging colours centred at 0 (±${formatNumber(d.difference.scale.limit)})`, d.difference.note ? ` · ${d.difference.note}` : ''),
          ),
          h('figure', {}, histEl, h('figcaption', { class: 'note' }, 'Values of A and B, overlaid (shared buckets)')),
        )
      : null,
  );
}

function drawHistograms(el: HTMLElement, d: CompareDiffResult): void {
  if (!el.isConnected) return;
  const { edges, countsA, countsB } = d.histograms;
  // Each bucket drawn as a step from its left edge to the next (the last edge closes it).
  const lefts = edges.slice();
  const closeA = [...countsA, countsA.at(-1) ?? 0];
  const closeB = [...countsB, countsB.at(-1) ?? 0];
  const theme = axisTheme();
  const axis = (): uPlot.Axis => ({ stroke: theme.stroke, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.ticks, width: 1 } });
  const bars = uPlot.paths.stepped!({ align: 1 });
  const a = seriesColor(0);
  const b = seriesColor(1);
  chart = new uPlot(
    {
      width: 360,
      height: 220,
      scales: { x: { time: false } },
      axes: [{ ...axis(), values: (_u, s) => s.map((v) => (v === null || v === undefined ? '' : formatNumber(v))) }, { ...axis(), size: 50 }],
      series: [
        { label: 'value', value: (_u, v) => (v === null ? '–' : formatNumber(v)) },
        { label: 'A', stroke: a, fill: withAlpha(a, 0.25), paths: bars, points: { show: false } },
        { label: 'B', stroke: b, fill: withAlpha(b, 0.25), paths: bars, points: { show: false } },
      ],
      legend: { live: true },
    },
    [lefts, closeA, closeB],
    el,
  );
}
