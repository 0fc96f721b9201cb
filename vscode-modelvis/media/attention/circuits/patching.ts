// Activation patching: the clean run's residual stream (layer × position) and head outputs (layer × head)
// patched into a corrupted prompt's run, each cell the fraction of the logit difference recovered. The metric's two
// tokens (the clean answer and the corrupted one) default to the runs' predictions; the user may type others.

import { readableToken, tokenLabel } from '../../../src/attention/attentionLogic';
import { oneWordChanged } from '../../../src/attention/circuitsLogic';
import type { CircuitPatchResult } from '../../../src/common/protocol';
import { formatNumber, h } from '../../webview/common';
import { runFromButton, ViewContext } from '../view';
import { headGridTable, signedCell } from './cells';

/** Kept while switching tabs: the corrupted prompt, for the run it was made from, and the metric's tokens typed. */
const choices = { corrupt: undefined as string | undefined, corruptFor: '', target: '', contrast: '' };

export async function drawPatching(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  if (choices.corrupt === undefined || choices.corruptFor !== r.runId) {
    choices.corrupt = oneWordChanged(c.text);
    choices.corruptFor = r.runId;
    choices.target = '';
    choices.contrast = '';
  }
  const text = h('textarea', { id: 'patch-corrupt', rows: 2, 'aria-label': 'Corrupted prompt (the selection with a word changed, same number of tokens)' });
  text.value = choices.corrupt;
  // The metric M = logit(clean answer) − logit(corrupted answer) at the last position: a token as the grid shows it
  // (" She"), as the vocabulary spells it ("▁She"), or an id; empty = the run's own prediction.
  const targetInput = h('input', { id: 'patch-target', type: 'text', value: choices.target, size: 10, placeholder: 'clean prediction', 'aria-label': 'Clean answer: a token or its id (empty: the clean run\'s prediction)' });
  const contrastInput = h('input', { id: 'patch-contrast', type: 'text', value: choices.contrast, size: 10, placeholder: 'corrupted prediction', 'aria-label': 'Corrupted answer: a token or its id (empty: the corrupted run\'s prediction)' });
  const runButton = h('button', { type: 'button', id: 'patch-run' }, 'Patch');
  const result = h('div', { id: 'patch-result', 'aria-live': 'polite' },
    h('p', { class: 'note' }, `Corrupted prompt: the selection with one word changed. Patching runs ${r.model.layers} × ${r.n} + ${r.model.layers} × ${r.model.heads} forward passes.`));
  const holder = h('div', { id: 'patch-view', 'data-status': 'idle' },
    h('label', { class: 'control patch-input' }, h('span', {}, 'Corrupted'), text),
    h('div', { class: 'controls', id: 'patch-metric-controls' },
      h('label', { class: 'control' }, h('span', {}, 'Clean answer'), targetInput),
      h('label', { class: 'control' }, h('span', {}, 'Corrupted answer'), contrastInput),
      runButton),
    h('p', { class: 'note' }, 'Metric: logit(clean answer) − logit(corrupted answer) at the last position. Type a token as the grid shows it or its id; empty: each run\'s own prediction.'),
    result);
  box.append(holder);

  const show = (p: CircuitPatchResult) => {
    const limit = 1;
    const table = h('table', { id: 'patch-resid', class: 'circuit-grid patch' });
    const head = h('tr', {}, h('th', { scope: 'col' }, 'layer'));
    p.tokens.forEach((t, i) => head.append(h('th', { scope: 'col', class: `token-label${t !== p.corruptTokens[i] ? ' changed' : ''}`, title: `${i}: ${JSON.stringify(t)} / corrupted ${JSON.stringify(p.corruptTokens[i])}` }, tokenLabel({ display: readableToken(t), text: t }, 8))));
    table.append(h('thead', {}, head));
    const body = h('tbody', {});
    p.resid.forEach((row, l) => {
      const tr = h('tr', {}, h('th', { scope: 'row' }, `L${l}`));
      row.forEach((v, i) => tr.append(h('td', {}, signedCell(v, limit, `residual entering layer ${l} at ${i} “${readableToken(p.tokens[i])}”: ${formatNumber(v, 4)} recovered`, { 'data-layer': l, 'data-pos': i }))));
      body.append(tr);
    });
    table.append(body);
    const heads = p.heads
      ? headGridTable('patch-heads', p.heads.length, p.heads[0]?.length ?? 0, (l, hd) => signedCell(p.heads![l][hd], limit, `layer ${l} head ${hd}: ${formatNumber(p.heads![l][hd], 4)} recovered`, { 'data-layer': l, 'data-head': hd }))
      : h('p', {}, '');
    result.replaceChildren(
      h('p', { id: 'patch-metric', 'data-t-clean': p.tClean, 'data-t-corrupt': p.tCorrupt }, `Metric: logit(“${readableToken(p.tCleanToken)}” ${p.tClean}) − logit(“${readableToken(p.tCorruptToken)}” ${p.tCorrupt}) at the last position: ${formatNumber(p.clean, 4)} clean, ${formatNumber(p.corrupt, 4)} corrupted. Cells: fraction recovered when the clean activation is patched into the corrupted run (1 = fully, 0 = no effect).`),
      h('h3', {}, 'Residual stream (layer × position)'),
      h('div', { class: 'circuit-scroll' }, table),
      h('h3', {}, 'Head outputs (layer × head, every position)'),
      h('div', { class: 'circuit-scroll' }, heads),
    );
    holder.dataset.status = 'ready';
    c.setExport({ name: 'patching', png: c.snapshot(holder, 'activation patching'), json: () => p });
  };

  const go = async () => {
    choices.corrupt = text.value;
    choices.target = targetInput.value;
    choices.contrast = contrastInput.value;
    const params: { corruptText: string; targetToken?: string; contrastToken?: string } = { corruptText: text.value };
    if (choices.target.trim() !== '') params.targetToken = choices.target;
    if (choices.contrast.trim() !== '') params.contrastToken = choices.contrast;
    await runFromButton(c, holder, result, runButton, 'Patching… (progress and Cancel in the notification)',
      () => c.cached(`circuits/patch/${r.runId}/${JSON.stringify(params)}`, () => c.request('circuits/patch', params)), show);
  };
  runButton.addEventListener('click', () => void go());
}
