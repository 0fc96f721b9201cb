// The logit lens: every hidden state read through the final norm and the unembedding; a grid of each
// position's top token per layer (click for the top 10 and the actual next token's rank) and the rank
// picture of the next token at every position and hidden state.

import { labelIndices, readableToken, tokenLabel } from '../../../src/attention/attentionLogic';
import { viewJson } from '../../../src/attention/hiddenLogic';
import { h } from '../../webview/common';
import { tokenRowsFigure } from '../figures';
import { snapshotOf, ViewContext } from '../view';

export async function drawLens(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const holder = h('div', { id: 'lens', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Logit lens over every layer…'));
  box.append(holder);
  const lens = await c.cached(`lens/${r.runId}`, () => c.request('hidden/lens', { top: 10 }));
  if (!c.isCurrent()) return;
  const detail = h('div', { id: 'lens-detail', class: 'lens-detail', 'aria-live': 'polite' }, h('p', { class: 'note' }, 'Click a cell for its top tokens and the rank of the actual next token.'));
  const table = h('table', { id: 'lens-grid', class: 'lens-grid' });
  const headRow = h('tr', {}, h('th', { scope: 'col' }, 'token'));
  for (let k = 0; k < lens.layers; k++) headRow.append(h('th', { scope: 'col' }, k === lens.layers - 1 ? `out` : `h${k}`));
  table.append(h('thead', {}, headRow));
  const body = h('tbody', {});
  for (let pos = 0; pos < lens.n; pos++) {
    const tr = h('tr', {}, h('th', { scope: 'row', class: 'token-label', title: JSON.stringify(r.tokens[pos]?.text ?? '') }, tokenLabel(r.tokens[pos] ?? { display: '', text: '' })));
    for (let k = 0; k < lens.layers; k++) {
      const top1 = lens.top[k]?.[pos]?.[0];
      const btn = h(
        'button',
        { type: 'button', class: 'lens-cell', 'data-layer': k, 'data-pos': pos, 'data-id': top1?.id, title: top1 ? `${JSON.stringify(top1.token)} ${(top1.prob * 100).toFixed(1)}%` : '' },
        top1 ? tokenLabel({ display: readableToken(top1.token), text: top1.token }, 10) : '',
      );
      btn.style.setProperty('--p', String(top1 ? Math.max(0, Math.min(1, top1.prob)) : 0));
      btn.addEventListener('click', () => {
        const list = lens.top[k][pos];
        const rank = lens.nextRank[k]?.[pos];
        const next = r.tokens[pos + 1];
        detail.replaceChildren(
          h('h3', {}, `Position ${pos} “${tokenLabel(r.tokens[pos], 30)}”, ${k === lens.layers - 1 ? 'model output' : `hidden state ${k}`}`),
          h('ol', { class: 'lens-top' }, ...list.map((t) => h('li', {}, h('code', {}, tokenLabel({ display: readableToken(t.token), text: t.token }, 30)), ` ${(t.prob * 100).toFixed(2)}%`))),
          h(
            'p',
            { id: 'lens-next-rank' },
            rank === undefined || rank < 0 || !next
              ? 'Last position: no next token.'
              : `Actual next token “${tokenLabel(next, 30)}”: rank ${rank + 1}, probability ${((lens.nextProb[k][pos] ?? 0) * 100).toFixed(2)}%`,
          ),
        );
      });
      tr.append(h('td', {}, btn));
    }
    body.append(tr);
  }
  table.append(body);
  // The rank picture (the host's: a row per position, a column per hidden state 0..L, as the grid above), labelled
  // like the hidden-state image: tokens down the side, hidden states across, the rank under the pointer.
  const K = lens.layers;
  const layerName = (k: number) => (k === K - 1 ? 'model output' : `hidden state ${k}`);
  const rankReadout = h('p', { id: 'lens-rank-readout', class: 'readout', 'aria-live': 'polite' }, 'Hover the image (or focus it and use Shift+arrows) to read a rank.');
  const readoutRank = (pos: number, k: number, rank: number | undefined) => {
    rankReadout.textContent = `(“${tokenLabel(r.tokens[pos], 30)}” ${pos}, ${layerName(k)}) = ${rank === undefined ? 'no next token' : `rank ${rank}`}`;
    rankReadout.dataset.row = String(pos);
    rankReadout.dataset.col = String(k);
    rankReadout.dataset.rank = rank === undefined ? '' : String(rank);
  };
  const rankWidth = Math.max(120, Math.min(480, K * 40));
  const rankFigure = tokenRowsFigure({
    run: r,
    id: 'lens-rank-figure',
    png: lens.rankImage.png,
    alt: `Rank of the actual next token: ${lens.n} tokens down, hidden states 0 to ${K - 1} across`,
    label: 'Rank of the actual next token at every position and hidden state',
    rows: lens.n,
    cols: K,
    width: rankWidth,
    axisName: 'hidden state →',
    ticks: labelIndices(K, rankWidth, 18).map((k) => [k, String(k)]),
    // Ranks from 1 (the layer's top prediction), as the cell detail above reads them.
    show: (pos, k) => {
      const rank = lens.nextRank[k]?.[pos];
      readoutRank(pos, k, rank !== undefined && rank >= 0 ? rank + 1 : undefined);
    },
  });
  rankFigure.querySelector('img')?.setAttribute('id', 'lens-rank-image');
  holder.replaceChildren(
    h('div', { class: 'lens-layout' }, h('div', { class: 'lens-scroll' }, table), detail),
    h('h2', {}, 'Rank of the actual next token'),
    rankFigure,
    rankReadout,
  );
  if (lens.rankNote) holder.append(h('p', { class: 'note' }, lens.rankNote));
  holder.dataset.status = 'ready';
  // PNG: the grid and the rank picture as shown; JSON: every layer's top tokens and the next token's rank.
  c.setExport({
    png: snapshotOf(holder),
    name: `lens-${r.model.name}`,
    json: () => viewJson(r, c.text, 'logit-lens', { layers: lens.top, nextRank: lens.nextRank, nextProb: lens.nextProb, rankNote: lens.rankNote }),
  });
}
