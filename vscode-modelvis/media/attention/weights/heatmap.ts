// The heatmap: one layer and head's attention as the host's picture (max-pooled to the pixels shown),
// token labels on both axes and the weight under the pointer; an encoder-decoder's cross-attention also
// paints the hovered target token's weights over the source in the editor and lists the alignment.

import { axesOf, crossAlignment, headName, tokenLabel } from '../../../src/attention/attentionLogic';
import { formatNumber, h, post } from '../../webview/common';
import { availableSize, matrixFigure } from '../figures';
import { ViewContext } from '../view';

export async function drawHeatmap(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const l = c.layer;
  const hd = c.head;
  const k = c.kind;
  const kindParam = () => (k ? { kind: k } : {});
  const axes = axesOf(r, k);
  const cols = axes.keys.length;
  const holder = h('div', { id: 'attention-heatmap', 'data-status': 'loading', 'data-layer': l, 'data-head': headName(hd) }, h('p', { class: 'loading' }, `Layer ${l}, head ${headName(hd)}…`));
  box.append(holder);
  // Ask for no more pixels than are shown: the host max-pools token blocks into them, where the browser's
  // pixelated downscale of a bigger image would drop whole token rows and columns (and decoding 1024² PNGs
  // is most of the drawing time at 2,048 tokens). Save PNG still gets the 1024 px picture.
  const size = availableSize();
  const shownPx = Math.min(1024, Math.ceil(size * (window.devicePixelRatio || 1)));
  const imageOf = (maxSize: number) =>
    c.cached(`img/${r.runId}/${k ?? 'self'}/${l}/${headName(hd)}/${maxSize}`, () =>
      c.request('attention/image', { layer: l, head: hd, maxSize, ...kindParam() }),
    );
  // The picture first; the numbers for the read-out (the whole matrix up to 512 tokens, 1 MB there) are asked
  // for once it is here, so they never queue ahead of it. Past 512 tokens each hovered row is asked for.
  const image = await imageOf(shownPx);
  if (!c.isCurrent()) return;
  const matrixP = r.n <= 512 ? c.matrixOf(l, hd) : Promise.resolve(null);
  let matrix: Float32Array | null = null;
  matrixP.then((m) => (matrix = m), () => undefined);
  const rows = new Map<number, Promise<number[]>>();
  const rowValue = (q: number, k: number): Promise<number> => {
    let p = rows.get(q);
    if (!p) {
      p = c.request('attention/row', { layer: l, head: hd, query: q, top: 5, ...kindParam() }).then((x) => x.weights);
      rows.set(q, p);
    }
    return p.then((w) => w[k]);
  };
  const valueAt = (q: number, key: number): number | Promise<number> => {
    if (matrix) return matrix[q * cols + key];
    return r.n <= 512 ? matrixP.then((m) => (m ? m[q * cols + key] : rowValue(q, key))) : rowValue(q, key);
  };
  const label = k
    ? `${axes.label} attention of layer ${l}, head ${headName(hd)}: ${axes.queries.length} ${k === 'encoder' ? 'source' : 'target'} tokens down, ${cols} ${k === 'decoder' ? 'target' : 'source'} tokens across`
    : `Attention of layer ${l}, head ${headName(hd)}: ${r.n} query tokens down, ${r.n} key tokens across${r.model.causal ? '' : ' (bidirectional)'}`;
  // Cross-attention reads as an alignment: the target token under the pointer paints its source weights on the selection.
  const onRow =
    k === 'cross'
      ? (q: number) =>
          void matrixP.then((m) => {
            if (!c.isCurrent()) return;
            const weights = m ? Array.from(m.subarray(q * cols, (q + 1) * cols)) : null;
            if (weights) post({ type: 'paintAlignment', weights, target: q });
          })
      : undefined;
  const figure = matrixFigure(r, {
    id: 'heatmap-figure',
    png: image.png,
    label,
    valueAt,
    size,
    queries: axes.queries,
    keys: axes.keys,
    onRow,
    axisName: k === 'cross' ? 'target ↓ / source →' : undefined,
  });
  holder.replaceChildren(figure);
  if (k === 'cross') {
    const list = h('ol', { id: 'alignment-list', class: 'alignment', 'aria-label': 'Alignment: each target token and the source token it attends to most' });
    holder.append(h('h3', {}, 'Alignment (each target token → its strongest source token)'), list);
    matrixP.then((m) => {
      if (!m || !c.isCurrent()) return;
      for (const a of crossAlignment(m, axes.queries, axes.keys))
        list.append(
          h('li', { 'data-target': a.target, 'data-source': a.source }, `${tokenLabel(axes.queries[a.target], 24)} → ${tokenLabel(axes.keys[a.source], 24)} (${formatNumber(a.weight)})`),
        );
    }, () => undefined);
  }
  if (image.factor > 1) holder.append(h('p', { class: 'note' }, `Each pixel covers ${image.factor}×${image.factor} token pairs.`));
  holder.dataset.status = 'ready';
  c.setExport({ png: async () => (r.n > shownPx ? (await imageOf(1024)).png : image.png), name: `attention-${r.model.name}${k ? `-${k}` : ''}-L${l}-H${headName(hd)}` });
}
