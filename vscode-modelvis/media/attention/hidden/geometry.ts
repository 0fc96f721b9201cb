// Representation geometry: cosine similarity of every pair of tokens at a hidden state, the tokens' 2-D
// PCA with one token's path across layers, and each token's norm across layers.

import { decodeFloat32, tokenLabel } from '../../../src/attention/attentionLogic';
import { alignedPca, hiddenLayerName, linearScale, niceTicks, placeLabels, rowsOf, viewJson } from '../../../src/attention/hiddenLogic';
import type { AttentionRun, GeometryResult } from '../../../src/common/protocol';
import { formatNumber, h, svg } from '../../webview/common';
import { matrixFigure } from '../figures';
import { snapshotOf, ViewContext } from '../view';
import { ensureChoices, hiddenChoices, hiddenLayerControl, tokenSelect } from './choices';

export async function drawGeometry(c: ViewContext, box: HTMLElement): Promise<void> {
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
    const figure = matrixFigure(r, {
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
