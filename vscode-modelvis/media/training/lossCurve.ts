// The loss-curve webview: the training run's per-step loss (faint) and its moving average (bold) as SVG,
// redrawn from the state the extension posts a few times a second. Colours come from the theme (CSS).

import { connect, formatInteger, h, render, svg } from '../webview/common';
import { savePngButton } from '../webview/snapshot';
import { Box, linePath, lossScales, LossPoint, niceTicks, smooth } from '../../src/training/lossCurve';

interface CurveState {
  title: string;
  steps: number;
  points: Array<[number, number]>;
  status: 'waiting' | 'training' | 'done' | 'cancelled' | 'failed';
  note?: string;
}

const BOX: Box = { width: 640, height: 320, left: 48, right: 16, top: 12, bottom: 36 };

const STATUS_TEXT: Record<CurveState['status'], string> = {
  waiting: 'No training has started in this window yet.',
  training: 'Training…',
  done: 'Done.',
  cancelled: 'Cancelled.',
  failed: 'Failed.',
};

function draw(state: CurveState): void {
  const points: LossPoint[] = state.points.map(([step, loss]) => ({ step, loss }));
  const last = points[points.length - 1];
  const smoothed = smooth(points);
  const lastSmooth = smoothed[smoothed.length - 1];
  const header = h(
    'p',
    { class: 'meta', id: 'loss-status' },
    last
      ? `step ${formatInteger(last.step)} of ${formatInteger(state.steps)}, loss ${lastSmooth ? lastSmooth.loss.toFixed(3) : '?'} (moving average)`
      : STATUS_TEXT[state.status],
  );
  const note = state.status !== 'training' && state.status !== 'waiting' ? h('p', { class: `note status-${state.status}` }, state.note ?? STATUS_TEXT[state.status]) : null;
  const figure = points.length ? h('div', { id: 'loss-figure' }, chart(points, smoothed, state.steps)) : null;
  const save = figure
    ? h('div', { class: 'controls' }, savePngButton(() => figure, () => ({ title: `${state.title}: training loss`, subtitle: header.textContent ?? '' }), () => `loss-${state.title}`))
    : null;
  render('ready', h('h1', {}, state.title), header, note, save, figure);
}

function chart(points: LossPoint[], smoothed: LossPoint[], steps: number): SVGElement {
  const s = lossScales(points, steps, BOX);
  const plotLeft = BOX.left;
  const plotRight = BOX.width - BOX.right;
  const plotTop = BOX.top;
  const plotBottom = BOX.height - BOX.bottom;
  const grid: SVGElement[] = [];
  for (const t of niceTicks(s.yDomain[0], s.yDomain[1], 5)) {
    const y = s.y(t);
    grid.push(svg('line', { class: 'grid', x1: plotLeft, x2: plotRight, y1: y, y2: y }));
    grid.push(svg('text', { class: 'tick', x: plotLeft - 6, y: y + 4, 'text-anchor': 'end' }, Number(t.toPrecision(4)).toString()));
  }
  for (const t of niceTicks(s.xDomain[0], s.xDomain[1], 6)) {
    const x = s.x(t);
    grid.push(svg('line', { class: 'grid', x1: x, x2: x, y1: plotTop, y2: plotBottom }));
    grid.push(svg('text', { class: 'tick', x, y: plotBottom + 16, 'text-anchor': 'middle' }, formatInteger(t)));
  }
  return svg(
    'svg',
    { class: 'loss-chart', viewBox: `0 0 ${BOX.width} ${BOX.height}`, role: 'img', 'aria-label': `training loss over ${points.length} steps` },
    ...grid,
    svg('line', { class: 'axis', x1: plotLeft, x2: plotRight, y1: plotBottom, y2: plotBottom }),
    svg('line', { class: 'axis', x1: plotLeft, x2: plotLeft, y1: plotTop, y2: plotBottom }),
    svg('path', { class: 'loss-raw', d: linePath(points, s) }),
    svg('path', { class: 'loss-smooth', d: linePath(smoothed, s) }),
    svg('text', { class: 'axis-label', x: (plotLeft + plotRight) / 2, y: BOX.height - 4, 'text-anchor': 'middle' }, 'step'),
    svg('text', { class: 'axis-label', x: 12, y: plotTop + 10 }, 'loss'),
  );
}

connect<{ type: string; state?: CurveState }>((m) => {
  if (m.type === 'state' && m.state) draw(m.state);
});
