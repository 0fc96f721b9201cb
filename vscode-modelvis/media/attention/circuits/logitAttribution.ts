// Direct logit attribution: the logit (or a logit difference) at one position split into each head's,
// each MLP's, the embedding's and the biases' parts, read through the final norm at its frozen scale (and, on
// Gemma and OLMo 2, each post-attention norm at its own); an encoder-decoder's decoder adds its cross-attention heads.

import { isEncoderDecoder, readableToken, tokenLabel } from '../../../src/attention/attentionLogic';
import { absMax } from '../../../src/attention/circuitsLogic';
import { formatNumber, h } from '../../webview/common';
import { snapshotOf, ViewContext } from '../view';
import { headGridTable, signedCell } from './cells';

/** Kept while switching tabs: the position (-1: the last) and the token ids typed. */
const choices = { position: -1, target: '', contrast: '' };

export async function drawDla(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  // An encoder-decoder's logits are its decoder's: the positions are the target's tokens.
  const tokens = isEncoderDecoder(r) ? r.target!.tokens : r.tokens;
  if (choices.position < 0 || choices.position >= tokens.length) choices.position = tokens.length - 1;
  const holder = h('div', { id: 'dla-view', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Attributing the logit…'));
  box.append(holder);
  const params: Record<string, unknown> = { position: choices.position };
  const target = parseInt(choices.target, 10);
  const contrast = parseInt(choices.contrast, 10);
  if (Number.isInteger(target)) params.target = target;
  if (Number.isInteger(contrast)) params.contrast = contrast;
  const d = await c.cached(`circuits/dla/${r.runId}/${JSON.stringify(params)}`, () => c.request('circuits/dla', params));
  if (!c.isCurrent()) return;

  const position = h('select', { id: 'dla-position', 'aria-label': 'Position' }, ...tokens.map((t, i) => h('option', { value: String(i) }, `${i}: ${tokenLabel(t, 20)}`)));
  position.value = String(d.position);
  position.addEventListener('change', () => { choices.position = Number(position.value); c.redraw(); });
  const targetInput = h('input', { id: 'dla-target', type: 'text', inputmode: 'numeric', placeholder: 'prediction', value: choices.target, size: 8, 'aria-label': 'Target token id' });
  const contrastInput = h('input', { id: 'dla-contrast', type: 'text', inputmode: 'numeric', placeholder: 'none', value: choices.contrast, size: 8, 'aria-label': 'Contrast token id' });
  const apply = h('button', { type: 'button', id: 'dla-apply', class: 'secondary' }, 'Attribute');
  apply.addEventListener('click', () => { choices.target = targetInput.value.trim(); choices.contrast = contrastInput.value.trim(); c.redraw(); });

  const limit = absMax(d.heads, d.crossHeads ?? [], d.mlp, [d.embed, d.rest]);
  const grid = headGridTable('dla-grid', d.heads.length, d.heads[0]?.length ?? 0,
    (l, hd) => signedCell(d.heads[l][hd], limit, `layer ${l} head ${hd}: ${formatNumber(d.heads[l][hd], 5)}`, { 'data-layer': l, 'data-head': hd }),
    { name: 'MLP', cell: (l) => signedCell(d.mlp[l], limit, `MLP ${l}: ${formatNumber(d.mlp[l], 5)}`, { 'data-mlp': l }) });
  const what = d.contrast !== null
    ? `logit(“${readableToken(d.targetToken)}” ${d.target}) − logit(“${readableToken(d.contrastToken ?? '')}” ${d.contrast})`
    : `logit of “${readableToken(d.targetToken)}” (${d.target})`;
  holder.replaceChildren(
    h('div', { class: 'controls' },
      h('label', { class: 'control' }, h('span', {}, 'Position'), position),
      h('label', { class: 'control' }, h('span', {}, 'Target id'), targetInput),
      h('label', { class: 'control' }, h('span', {}, 'minus id'), contrastInput),
      apply),
    h('p', { id: 'dla-what' }, `${what} at position ${d.position} “${tokenLabel(tokens[d.position], 30)}”`),
    ...(d.crossHeads ? [h('h3', {}, 'Self-attention heads')] : []),
    h('div', { class: 'circuit-scroll' }, grid),
    ...(d.crossHeads ? [
      h('h3', {}, 'Cross-attention heads (the decoder reading the encoder)'),
      h('div', { class: 'circuit-scroll' }, headGridTable('dla-cross-grid', d.crossHeads.length, d.crossHeads[0]?.length ?? 0,
        (l, hd) => signedCell(d.crossHeads![l][hd], limit, `layer ${l} cross-attention head ${hd}: ${formatNumber(d.crossHeads![l][hd], 5)}`, { 'data-layer': l, 'data-head': hd }))),
    ] : []),
    h('div', { class: 'dla-rest' },
      h('span', {}, 'Embedding '), signedCell(d.embed, limit, 'the token (and position) embedding', { id: 'dla-embed' }),
      h('span', {}, ' Biases '), signedCell(d.rest, limit, 'attention output biases and the final norm bias', { id: 'dla-rest' })),
    h('p', { id: 'dla-sum', class: 'note', 'data-residual': d.residual },
      `Parts sum to ${formatNumber(d.total, 6)}; the forward's ${d.contrast !== null ? 'logit difference' : 'logit'} is ${formatNumber(d.logit, 6)} ` +
      `(residual ${formatNumber(d.residual, 3)}). Each part is read through the final norm with its scale frozen at s = ${formatNumber(d.scale, 5)} from the full residual. Blue adds to it, red takes away.`),
    h('ul', { id: 'dla-approximations', class: 'note', 'aria-label': 'What was held fixed' }, ...d.approximations.map((a) => h('li', {}, a))),
  );
  holder.dataset.status = 'ready';
  c.setExport({ name: `dla-pos${d.position}-t${d.target}`, png: snapshotOf(holder), json: () => d });
}
