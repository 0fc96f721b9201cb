// The choices the hidden-state views share and keep while switching tabs: the hidden state k = 0..L
// (0 = embeddings), the token whose trajectory is drawn, the NMF layer and number of components.

import { tokenLabel } from '../../../src/attention/attentionLogic';
import { hiddenLayerName } from '../../../src/attention/hiddenLogic';
import type { AttentionRun } from '../../../src/common/protocol';
import { h } from '../../webview/common';

/** Choices kept while switching tabs (hidden-state layer k = 0..L, the trajectory's token, NMF). */
export const hiddenChoices = { layer: -1, token: -1, nmfLayer: 0, components: 3 };

export function ensureChoices(r: AttentionRun): void {
  if (hiddenChoices.layer < 0 || hiddenChoices.layer > r.model.layers) hiddenChoices.layer = Math.ceil(r.model.layers / 2);
  if (hiddenChoices.token < 0 || hiddenChoices.token >= r.n) hiddenChoices.token = r.n - 1;
  hiddenChoices.nmfLayer = Math.min(hiddenChoices.nmfLayer, r.model.layers - 1);
}

/** A slider over the hidden states 0..L with the chosen one's name beside it. */
export function hiddenLayerControl(r: AttentionRun, id: string, onChange: (k: number) => void): HTMLElement {
  const L = r.model.layers;
  const slider = h('input', { type: 'range', id, min: 0, max: L, step: 1, value: hiddenChoices.layer, 'aria-label': 'Hidden state (0 = embeddings)' });
  const name = h('span', { id: `${id}-name`, class: 'layer-name' }, hiddenLayerName(hiddenChoices.layer, L));
  slider.addEventListener('input', () => {
    hiddenChoices.layer = Number(slider.value);
    name.textContent = hiddenLayerName(hiddenChoices.layer, L);
    onChange(hiddenChoices.layer);
  });
  return h('label', { class: 'control' }, h('span', {}, 'Hidden state'), slider, name);
}

export function tokenSelect(r: AttentionRun, id: string, label: string, onChange: (i: number) => void): HTMLSelectElement {
  const sel = h('select', { id, 'aria-label': label }, ...r.tokens.map((t, i) => h('option', { value: String(i) }, `${i}: ${tokenLabel(t, 20)}`)));
  sel.value = String(hiddenChoices.token);
  sel.addEventListener('change', () => onChange(Number(sel.value)));
  return sel;
}
