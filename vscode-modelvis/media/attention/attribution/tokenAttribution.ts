// The attribution tab of the attention panel (issue 17): which tokens of the selection a logit comes from, by
// integrated gradients, input × gradient, saliency or occlusion. The target is the next-token prediction at a
// position, a token the user types, or the difference of two tokens' logits; integrated gradients has its steps, its
// baseline (zero embeddings, or the pad/unk token with BOS kept) and its completeness error on screen. The scores
// colour the tokens here (blue raises the logit, red lowers it), are listed strongest first, painted on the editor in
// the theme's two attribution colours, and exported as JSON or PNG. Every token reaches the DOM as text.

import { isEncoderDecoder, tokenLabel, readableToken } from '../../../src/attention/attentionLogic';
import { ATTRIBUTION_METHODS, AttributionChoices, attributionJson, attributionParams, completenessText } from '../../../src/attention/attributionLogic';
import { absMax, signedIntensity } from '../../../src/attention/circuitsLogic';
import type { AttributionMethod, AttributionRunResult } from '../../../src/common/protocol';
import { formatNumber, h, post } from '../../webview/common';
import { signedCell } from '../circuits/cells';
import { runFromButton, ViewContext } from '../view';

/** Paints signed per-token scores on the selection in the editor (null: back to the cursor's attention). */
const paintAttribution = (scores: number[] | null) => post({ type: 'paintAttribution', scores });

/** Choices kept while switching tabs. */
export const attributionChoices: AttributionChoices & { paint: boolean } = {
  method: 'ig',
  target: 'prediction',
  position: -1,
  token: '',
  contrast: '',
  steps: 64,
  baseline: 'zero',
  paint: true,
};

function select<T extends string | number>(id: string, label: string, options: Array<[T, string]>, value: T, onChange: (v: string) => void): HTMLSelectElement {
  const s = h('select', { id, 'aria-label': label }, ...options.map(([v, text]) => h('option', { value: String(v) }, text)));
  s.value = String(value);
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

export async function drawAttribution(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const ch = attributionChoices;
  // An encoder-decoder's logits are its decoder's: the positions are the target's tokens; the scores stay on the source's.
  const positions = isEncoderDecoder(r) ? r.target!.tokens : r.tokens;
  if (ch.position < 0 || ch.position >= positions.length) ch.position = positions.length - 1;

  const method = select('attr-method', 'Method', ATTRIBUTION_METHODS.map((m) => [m.id, m.label]), ch.method, (v) => { ch.method = v as AttributionMethod; c.redraw(); });
  const target = select('attr-target', 'Target', [['prediction', 'Next-token prediction'], ['token', 'A token I type'], ['difference', 'Difference of two tokens']], ch.target,
    (v) => { ch.target = v as AttributionChoices['target']; c.redraw(); });
  const position = select('attr-position', 'Position', positions.map((t, i): [number, string] => [i, `${i}: ${tokenLabel(t, 20)}`]), ch.position, (v) => { ch.position = Number(v); });
  const token = h('input', { id: 'attr-token', type: 'text', placeholder: 'e.g. " She"', value: ch.token, size: 10, 'aria-label': 'Target token' });
  const contrast = h('input', { id: 'attr-contrast', type: 'text', placeholder: 'e.g. " He"', value: ch.contrast, size: 10, 'aria-label': 'minus token' });
  const steps = select('attr-steps', 'Integrated-gradients steps', [16, 32, 64, 128, 256].map((s): [number, string] => [s, `${s} steps`]), ch.steps, (v) => { ch.steps = Number(v); });
  const baseline = select('attr-baseline', 'Integrated-gradients baseline', [['zero', 'Baseline: zero embeddings'], ['token', 'Baseline: pad/unk token, BOS kept']], ch.baseline,
    (v) => { ch.baseline = v as AttributionChoices['baseline']; });
  const paint = h('input', { id: 'attr-paint', type: 'checkbox', 'aria-label': 'Paint the scores in the editor' });
  paint.checked = ch.paint;
  const runButton = h('button', { type: 'button', id: 'attr-run' }, 'Attribute');

  const controls = h('div', { class: 'controls' },
    h('label', { class: 'control' }, h('span', {}, 'Method'), method),
    h('label', { class: 'control' }, h('span', {}, 'Target'), target),
    h('label', { class: 'control' }, h('span', {}, 'at'), position));
  if (ch.target !== 'prediction') controls.append(h('label', { class: 'control' }, h('span', {}, 'token'), token));
  if (ch.target === 'difference') controls.append(h('label', { class: 'control' }, h('span', {}, 'minus'), contrast));
  if (ch.method === 'ig') controls.append(steps, baseline);
  controls.append(h('label', { class: 'control' }, paint, h('span', {}, 'Paint in editor')), runButton);

  const result = h('div', { id: 'attr-result', 'aria-live': 'polite' });
  const holder = h('div', { id: 'attribution-view', 'data-status': 'idle' }, controls, result);
  box.append(holder);

  let shown: AttributionRunResult | undefined;
  paint.addEventListener('change', () => {
    ch.paint = paint.checked;
    paintAttribution(ch.paint && shown ? shown.scores : null);
  });

  const show = (a: AttributionRunResult) => {
    shown = a;
    const limit = absMax(a.scores);
    const what = a.contrast !== null
      ? `logit(“${readableToken(a.targetToken)}”) − logit(“${readableToken(a.contrastToken ?? '')}”)`
      : `logit of “${readableToken(a.targetToken)}” (${a.target})`;
    const label = ATTRIBUTION_METHODS.find((m) => m.id === a.method)?.label ?? a.method;
    const chips = h('div', { id: 'attr-tokens', class: 'attr-tokens' });
    a.scores.forEach((s, i) => {
      const v = signedIntensity(s, limit);
      const chip = h('span', {
        class: `attr-token ${v < 0 ? 'neg' : 'pos'}${i === a.position && positions === r.tokens ? ' explained' : ''}`,
        title: `${i}: ${JSON.stringify(a.tokens[i])} ${formatNumber(s, 5)}`, tabindex: 0, 'data-pos': i, 'data-value': s,
      }, tokenLabel({ display: a.tokens[i], text: a.tokens[i] }, 24));
      chip.style.setProperty('--v', String(Math.abs(v)));
      chips.append(chip);
    });
    const order = a.scores.map((s, i) => i).sort((x, y) => Math.abs(a.scores[y]) - Math.abs(a.scores[x]) || x - y);
    const list = h('table', { id: 'attr-list', class: 'circuit-grid attr-list' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'position'), h('th', { scope: 'col' }, 'token'), h('th', { scope: 'col' }, 'score'))));
    const body = h('tbody', {});
    order.forEach((i, rank) => {
      const cell = signedCell(a.scores[i], limit, `${i}: ${formatNumber(a.scores[i], 6)}`);
      body.append(h('tr', { 'data-pos': i }, h('td', {}, String(rank + 1)), h('td', {}, String(i)), h('td', { class: 'token' }, tokenLabel({ display: a.tokens[i], text: a.tokens[i] }, 30)), h('td', {}, cell)));
    });
    list.append(body);
    const parts: HTMLElement[] = [h('p', { id: 'attr-what' }, `${label} of the ${what} at ${positions === r.tokens ? '' : 'target '}position ${a.position} “${tokenLabel(positions[a.position], 30)}” (f = ${formatNumber(a.value, 5)}). Blue raises it, red lowers it.`)];
    const k = completenessText(a);
    if (k) {
      const poor = (a.completeness?.relativeError ?? 0) > 0.01;
      parts.push(h('p', { id: 'attr-completeness', class: poor ? 'warning' : 'note', 'data-relative-error': a.completeness!.relativeError },
        k + (a.baselineToken ? `; baseline “${readableToken(a.baselineToken)}”` : '; baseline zero') +
        (poor && a.baselineToken === null ? '. On RMSNorm models the zero baseline\'s path jumps near α = 0: try the pad/unk baseline or more steps.' : '')));
    }
    if (a.method === 'occlusion') parts.push(h('p', { class: 'note' }, 'Occlusion: f minus f with the token\'s embedding row set to zero (one forward pass per token, no gradients).'));
    result.replaceChildren(...parts, chips, h('h3', {}, 'Tokens by |score|'), h('div', { class: 'circuit-scroll' }, list));
    holder.dataset.status = 'ready';
    paintAttribution(ch.paint ? a.scores : null);
    c.setExport({ name: `attribution-${a.method}-pos${a.position}-t${a.target}`, png: c.snapshot(result, `token attribution (${a.method}, position ${a.position})`), json: () => attributionJson(a, r.model.name, c.text) });
  };

  const go = async () => {
    ch.token = token.value;
    ch.contrast = contrast.value;
    let params;
    try {
      params = attributionParams(ch, positions.length);
    } catch (e) {
      result.replaceChildren(h('div', { class: 'error view-error', role: 'alert' }, (e as Error).message));
      holder.dataset.status = 'error';
      return;
    }
    await runFromButton(c, holder, result, runButton,
      ch.method === 'ig' || ch.method === 'occlusion' ? 'Attributing… (progress and Cancel in the notification)' : 'Attributing…',
      () => c.cached(`attribution/run/${r.runId}/${JSON.stringify(params)}`, () => c.request('attribution/run', params)), show);
  };
  runButton.addEventListener('click', () => void go());
  // The next-token prediction needs nothing typed: show it at once.
  if (ch.target === 'prediction') await go();
}
