// Head detectors: every head scored as previous-token, induction, duplicate-token… on the selection or a
// repeated random probe, as a layers × heads grid with a threshold filter; a click opens the head's heatmap.

import { HEAD_KINDS, headsAbove, headTable } from '../../../src/attention/circuitsLogic';
import type { HeadKind } from '../../../src/common/protocol';
import { formatNumber, h } from '../../webview/common';
import { ViewContext } from '../view';
import { headGridTable, scoreCell } from './cells';

/** Kept while switching tabs. */
const choices = { kind: 'previous-token' as HeadKind, threshold: 0.4, probe: false };

/** The cache key of a run's head scores, on its selection or on the probe (the panel's head list reads the selection's). */
export const headScoresKey = (runId: string, probe: boolean): string => `circuits/heads/${runId}/${probe ? 'probe' : 'selection'}`;

export async function drawHeads(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const holder = h('div', { id: 'heads-view', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Scoring every head…'));
  box.append(holder);
  const probe = choices.probe;
  const scores = await c.cached(headScoresKey(r.runId, probe), () => c.request('circuits/heads', probe ? { probeBlock: 20, seed: 0, blocks: 4 } : {}));
  if (!c.isCurrent()) return;
  if (!probe) c.labelHeads(scores.labels);

  const kindSelect = h('select', { id: 'heads-kind', 'aria-label': 'Detector' }, ...HEAD_KINDS.map((k) => h('option', { value: k.id }, k.label)));
  kindSelect.value = choices.kind;
  kindSelect.addEventListener('change', () => { choices.kind = kindSelect.value as HeadKind; c.redraw(); });
  const sourceSelect = h('select', { id: 'heads-source', 'aria-label': 'Tokens scored' },
    h('option', { value: 'selection' }, 'The selection'),
    h('option', { value: 'probe' }, 'Probe: random block ×2 (T = 20, 4 blocks)'));
  sourceSelect.value = probe ? 'probe' : 'selection';
  sourceSelect.addEventListener('change', () => { choices.probe = sourceSelect.value === 'probe'; c.redraw(); });
  const threshold = h('input', { id: 'heads-threshold', type: 'number', min: 0, max: 1, step: 0.05, value: choices.threshold, 'aria-label': 'Show heads above' });

  const table = headTable(scores, choices.kind);
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
    choices.threshold = Number.isFinite(t) ? t : 0;
    const passing = headsAbove(table, choices.threshold);
    const keep = new Set(passing.map((p) => `${p.layer}.${p.head}`));
    grid.querySelectorAll<HTMLElement>('.circuit-cell').forEach((el) => el.classList.toggle('filtered-out', !keep.has(`${el.dataset.layer}.${el.dataset.head}`)));
    const kindLabel = HEAD_KINDS.find((k) => k.id === choices.kind)?.label.toLowerCase();
    list.textContent = passing.length === 0
      ? `No ${kindLabel} head above ${choices.threshold}.`
      : `${passing.length} ${kindLabel} head${passing.length === 1 ? '' : 's'} above ${choices.threshold}: ${passing.slice(0, 12).map((p) => `L${p.layer}H${p.head} ${p.score.toFixed(2)}`).join(', ')}${passing.length > 12 ? ', …' : ''}`;
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
  c.setExport({ name: `heads-${choices.kind}`, png: c.snapshot(holder, `head detectors: ${HEAD_KINDS.find((k) => k.id === choices.kind)?.label ?? choices.kind}`), json: () => scores });
}
