// The circuits tabs of the attention panel (issue 16): head detectors (layers × heads coloured by score, a filter,
// a click opens that head's heatmap), direct logit attribution (signed layers × heads, the MLPs and the embedding
// beside them) and activation patching (layers × positions with the tokens on the axis, and layers × heads).
// Every number and token reaches the DOM as text (h() sets textContent); colours come from theme variables.

import { tokenLabel, readableToken } from '../../src/attention/attentionLogic';
import { absMax, HEAD_KINDS, headsAbove, headTable, oneWordChanged, signedIntensity } from '../../src/attention/circuitsLogic';
import type { CircuitPatchResult, HeadKind } from '../../src/common/protocol';
import { formatNumber, h } from '../webview/common';
import type { HiddenViewContext } from './hiddenViews';
import { snapshotPng } from './snapshot';

export interface CircuitsViewContext extends HiddenViewContext {
  /** Shows head (layer, head) in the heatmap tab. */
  openHead(layer: number, head: number): void;
}

/** Choices kept while switching tabs. */
export const circuitChoices = {
  kind: 'previous-token' as HeadKind,
  threshold: 0.4,
  probe: false,
  dlaPosition: -1,
  dlaTarget: '',
  dlaContrast: '',
  corrupt: undefined as string | undefined,
  corruptFor: '',
};

const background = () => getComputedStyle(document.body).backgroundColor;

/** A cell coloured by a score in [0, 1] (--s) or a signed value in [-1, 1] (--v, class pos/neg). */
function scoreCell(text: string, score: number, title: string, attrs: Record<string, string | number> = {}): HTMLElement {
  const cell = h('button', { type: 'button', class: 'circuit-cell score', title, ...attrs }, text);
  cell.style.setProperty('--s', String(Math.max(0, Math.min(1, Number.isFinite(score) ? score : 0))));
  return cell;
}

function signedCell(value: number, limit: number, title: string, attrs: Record<string, string | number> = {}): HTMLElement {
  const v = signedIntensity(value, limit);
  const cell = h('span', { class: `circuit-cell signed ${v < 0 ? 'neg' : 'pos'}`, title, tabindex: 0, 'data-value': value, ...attrs }, formatNumber(value, 3));
  cell.style.setProperty('--v', String(Math.abs(v)));
  return cell;
}

function headGridTable(id: string, layers: number, heads: number, cell: (l: number, hd: number) => HTMLElement, extra?: { name: string; cell: (l: number) => HTMLElement }): HTMLTableElement {
  const table = h('table', { id, class: 'circuit-grid' });
  const head = h('tr', {}, h('th', { scope: 'col' }, 'layer'));
  for (let hd = 0; hd < heads; hd++) head.append(h('th', { scope: 'col' }, `H${hd}`));
  if (extra) head.append(h('th', { scope: 'col', class: 'extra' }, extra.name));
  table.append(h('thead', {}, head));
  const body = h('tbody', {});
  for (let l = 0; l < layers; l++) {
    const tr = h('tr', {}, h('th', { scope: 'row' }, `L${l}`));
    for (let hd = 0; hd < heads; hd++) tr.append(h('td', {}, cell(l, hd)));
    if (extra) tr.append(h('td', { class: 'extra' }, extra.cell(l)));
    body.append(tr);
  }
  table.append(body);
  return table;
}

// ---- head detectors ----

export async function drawHeads(c: CircuitsViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const holder = h('div', { id: 'heads-view', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Scoring every head…'));
  box.append(holder);
  const probe = circuitChoices.probe;
  const key = `circuits/heads/${r.runId}/${probe ? 'probe' : 'selection'}`;
  const scores = await c.cached(key, () => c.request('circuits/heads', probe ? { probeBlock: 20, seed: 0, blocks: 4 } : {}));
  if (!c.isCurrent()) return;

  const kindSelect = h('select', { id: 'heads-kind', 'aria-label': 'Detector' }, ...HEAD_KINDS.map((k) => h('option', { value: k.id }, k.label)));
  kindSelect.value = circuitChoices.kind;
  kindSelect.addEventListener('change', () => { circuitChoices.kind = kindSelect.value as HeadKind; c.redraw(); });
  const sourceSelect = h('select', { id: 'heads-source', 'aria-label': 'Tokens scored' },
    h('option', { value: 'selection' }, 'The selection'),
    h('option', { value: 'probe' }, 'Probe: random block ×2 (T = 20, 4 blocks)'));
  sourceSelect.value = probe ? 'probe' : 'selection';
  sourceSelect.addEventListener('change', () => { circuitChoices.probe = sourceSelect.value === 'probe'; c.redraw(); });
  const threshold = h('input', { id: 'heads-threshold', type: 'number', min: 0, max: 1, step: 0.05, value: circuitChoices.threshold, 'aria-label': 'Show heads above' });

  const table = headTable(scores, circuitChoices.kind);
  const grid = headGridTable('heads-grid', scores.layers, scores.heads, (l, hd) => {
    const s = table[l][hd];
    const label = scores.labels[l][hd];
    const cell = scoreCell(s.toFixed(2), s, `layer ${l} head ${hd}: ${formatNumber(s, 4)}${label ? ` (${label})` : ''}. Click for its attention heatmap.`,
      { 'data-layer': l, 'data-head': hd, 'data-score': s });
    cell.addEventListener('click', () => c.openHead(l, hd));
    return cell;
  });
  const list = h('p', { id: 'heads-filtered', class: 'note', 'aria-live': 'polite' });
  const applyFilter = () => {
    const t = Number(threshold.value);
    circuitChoices.threshold = Number.isFinite(t) ? t : 0;
    const passing = headsAbove(table, circuitChoices.threshold);
    const keep = new Set(passing.map((p) => `${p.layer}.${p.head}`));
    grid.querySelectorAll<HTMLElement>('.circuit-cell').forEach((el) => el.classList.toggle('filtered-out', !keep.has(`${el.dataset.layer}.${el.dataset.head}`)));
    const kindLabel = HEAD_KINDS.find((k) => k.id === circuitChoices.kind)?.label.toLowerCase();
    list.textContent = passing.length === 0
      ? `No ${kindLabel} head above ${circuitChoices.threshold}.`
      : `${passing.length} ${kindLabel} head${passing.length === 1 ? '' : 's'} above ${circuitChoices.threshold}: ${passing.slice(0, 12).map((p) => `L${p.layer}H${p.head} ${p.score.toFixed(2)}`).join(', ')}${passing.length > 12 ? ', …' : ''}`;
  };
  threshold.addEventListener('input', applyFilter);
  applyFilter();

  const labelled = scores.labels.flatMap((row, l) => row.map((k, hd) => (k ? `L${l}H${hd} ${k}` : ''))).filter(Boolean);
  holder.replaceChildren(
    h('div', { class: 'controls' },
      h('label', { class: 'control' }, h('span', {}, 'Detector'), kindSelect),
      h('label', { class: 'control' }, h('span', {}, 'Tokens'), sourceSelect),
      h('label', { class: 'control' }, h('span', {}, 'Show heads above'), threshold)),
    grid,
    list,
    h('p', { id: 'heads-labels', class: 'note' }, labelled.length ? `Heads labelled by what they do (score ≥ 0.4): ${labelled.join(', ')}` : 'No head scores 0.4 or more on any detector.'),
    h('p', { class: 'note' }, scores.source === 'probe'
      ? 'Scored on 4 seeded blocks of 20 random distinct tokens, each repeated twice (after BOS where the model has one).'
      : 'Scored on the selection. Induction and duplicate-token need a repeat: on text without one they are near 0; use the probe.'),
  );
  holder.dataset.status = 'ready';
  c.setExport({ name: `heads-${circuitChoices.kind}`, png: () => snapshotPng(holder, background()), json: () => scores });
}

// ---- direct logit attribution ----

export async function drawDla(c: CircuitsViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  if (circuitChoices.dlaPosition < 0 || circuitChoices.dlaPosition >= r.n) circuitChoices.dlaPosition = r.n - 1;
  const holder = h('div', { id: 'dla-view', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Attributing the logit…'));
  box.append(holder);
  const params: Record<string, unknown> = { position: circuitChoices.dlaPosition };
  const target = parseInt(circuitChoices.dlaTarget, 10);
  const contrast = parseInt(circuitChoices.dlaContrast, 10);
  if (Number.isInteger(target)) params.target = target;
  if (Number.isInteger(contrast)) params.contrast = contrast;
  const d = await c.cached(`circuits/dla/${r.runId}/${JSON.stringify(params)}`, () => c.request('circuits/dla', params));
  if (!c.isCurrent()) return;

  const position = h('select', { id: 'dla-position', 'aria-label': 'Position' }, ...r.tokens.map((t, i) => h('option', { value: String(i) }, `${i}: ${tokenLabel(t, 20)}`)));
  position.value = String(d.position);
  position.addEventListener('change', () => { circuitChoices.dlaPosition = Number(position.value); c.redraw(); });
  const targetInput = h('input', { id: 'dla-target', type: 'text', inputmode: 'numeric', placeholder: 'prediction', value: circuitChoices.dlaTarget, size: 8, 'aria-label': 'Target token id' });
  const contrastInput = h('input', { id: 'dla-contrast', type: 'text', inputmode: 'numeric', placeholder: 'none', value: circuitChoices.dlaContrast, size: 8, 'aria-label': 'Contrast token id' });
  const apply = h('button', { type: 'button', id: 'dla-apply', class: 'secondary' }, 'Attribute');
  apply.addEventListener('click', () => { circuitChoices.dlaTarget = targetInput.value.trim(); circuitChoices.dlaContrast = contrastInput.value.trim(); c.redraw(); });

  const limit = absMax(d.heads, d.mlp, [d.embed, d.rest]);
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
    h('p', { id: 'dla-what' }, `${what} at position ${d.position} “${tokenLabel(r.tokens[d.position], 30)}”`),
    h('div', { class: 'circuit-scroll' }, grid),
    h('div', { class: 'dla-rest' },
      h('span', {}, 'Embedding '), signedCell(d.embed, limit, 'the token (and position) embedding', { id: 'dla-embed' }),
      h('span', {}, ' Biases '), signedCell(d.rest, limit, 'attention output biases and the final norm bias', { id: 'dla-rest' })),
    h('p', { id: 'dla-sum', class: 'note' },
      `Parts sum to ${formatNumber(d.total, 6)}; the forward's ${d.contrast !== null ? 'logit difference' : 'logit'} is ${formatNumber(d.logit, 6)}. ` +
      `Each part is read through the final norm with its scale frozen at s = ${formatNumber(d.scale, 5)} from the full residual. Blue adds to it, red takes away.`),
  );
  holder.dataset.status = 'ready';
  c.setExport({ name: `dla-pos${d.position}-t${d.target}`, png: () => snapshotPng(holder, background()), json: () => d });
}

// ---- activation patching ----

export async function drawPatching(c: CircuitsViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  if (circuitChoices.corrupt === undefined || circuitChoices.corruptFor !== r.runId) {
    circuitChoices.corrupt = oneWordChanged(c.text);
    circuitChoices.corruptFor = r.runId;
  }
  const text = h('textarea', { id: 'patch-corrupt', rows: 2, 'aria-label': 'Corrupted prompt (the selection with a word changed, same number of tokens)' });
  text.value = circuitChoices.corrupt;
  const runButton = h('button', { type: 'button', id: 'patch-run' }, 'Patch');
  const result = h('div', { id: 'patch-result', 'aria-live': 'polite' },
    h('p', { class: 'note' }, `Corrupted prompt: the selection with one word changed. Patching runs ${r.model.layers} × ${r.n} + ${r.model.layers} × ${r.model.heads} forward passes.`));
  const holder = h('div', { id: 'patch-view', 'data-status': 'idle' },
    h('label', { class: 'control patch-input' }, h('span', {}, 'Corrupted'), text), runButton, result);
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
      h('p', { id: 'patch-metric' }, `Metric: logit(“${readableToken(p.tCleanToken)}”) − logit(“${readableToken(p.tCorruptToken)}”) at the last position: ${formatNumber(p.clean, 4)} clean, ${formatNumber(p.corrupt, 4)} corrupted. Cells: fraction recovered when the clean activation is patched into the corrupted run (1 = fully, 0 = no effect).`),
      h('h3', {}, 'Residual stream (layer × position)'),
      h('div', { class: 'circuit-scroll' }, table),
      h('h3', {}, 'Head outputs (layer × head, every position)'),
      h('div', { class: 'circuit-scroll' }, heads),
    );
    holder.dataset.status = 'ready';
    c.setExport({ name: 'patching', png: () => snapshotPng(holder, background()), json: () => p });
  };

  const go = async () => {
    circuitChoices.corrupt = text.value;
    holder.dataset.status = 'loading';
    runButton.disabled = true;
    result.replaceChildren(h('p', { class: 'loading' }, 'Patching… (progress and Cancel in the notification)'));
    try {
      const p = await c.cached(`circuits/patch/${r.runId}/${text.value}`, () => c.request('circuits/patch', { corruptText: text.value }));
      if (c.isCurrent()) show(p);
    } catch (e) {
      if (c.isCurrent()) {
        result.replaceChildren(h('div', { class: 'error view-error', role: 'alert' }, (e as Error).message));
        holder.dataset.status = 'error';
      }
    } finally {
      runButton.disabled = false;
    }
  };
  runButton.addEventListener('click', () => void go());
}

