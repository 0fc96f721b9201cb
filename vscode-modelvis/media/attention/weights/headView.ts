// The head view: every head of one layer as lines from each query (left) to the keys it attends to
// (right), coloured by head, as wide and opaque as the weight; heads toggled, weak lines hidden.

import { headColor, headViewLines, tokenLabel } from '../../../src/attention/attentionLogic';
import { h, svg } from '../../webview/common';
import { snapshotOf, ViewContext } from '../view';

/** Lines below this weight are hidden (kept while switching tabs). */
let threshold = 0.1;
/** The heads drawn, for the run they were chosen in (a new run shows every head). */
let shown: { runId: string; heads: Set<number> } | undefined;

export async function drawHeadView(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  if (shown?.runId !== r.runId) shown = { runId: r.runId, heads: new Set(Array.from({ length: r.model.heads }, (_, i) => i)) };
  const shownHeads = shown.heads;
  const l = c.layer;
  const holder = h('div', { id: 'headview', 'data-status': 'loading', 'data-layer': l }, h('p', { class: 'loading' }, `Layer ${l}: every head…`));
  box.append(holder);
  if (r.n > 512) {
    holder.replaceChildren(h('p', { class: 'note', role: 'note' }, `The head view draws at most 512 tokens (this run has ${r.n}); use the heatmap.`));
    holder.dataset.status = 'none';
    return;
  }
  const heads = Array.from({ length: r.model.heads }, (_, i) => i);
  const mats = await Promise.all(heads.map((hd) => c.matrixOf(l, hd)));
  if (!c.isCurrent()) return;
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
  c.setExport({ png: snapshotOf(holder), name: `attention-${r.model.name}-L${l}-headview` });
}
