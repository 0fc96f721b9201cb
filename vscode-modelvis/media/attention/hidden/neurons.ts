// The most active MLP neurons of a layer on the selection; a click paints that neuron's activation over
// the tokens here and in the editor.

import { tokenLabel } from '../../../src/attention/attentionLogic';
import { viewJson } from '../../../src/attention/hiddenLogic';
import { formatNumber, h, post } from '../../webview/common';
import { snapshotOf, ViewContext } from '../view';

let neuronLayer = 0;

export async function drawNeurons(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const sel = h('select', { id: 'neuron-layer', 'aria-label': 'MLP layer' }, ...Array.from({ length: r.model.layers }, (_, i) => h('option', { value: String(i) }, `Layer ${i}`)));
  sel.value = String(neuronLayer);
  sel.addEventListener('change', () => {
    neuronLayer = Number(sel.value);
    c.redraw();
  });
  const holder = h('div', { id: 'neurons', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Finding the most active neurons…'));
  box.append(h('div', { class: 'controls' }, h('label', { class: 'control' }, h('span', {}, 'MLP layer'), sel)), holder);
  const l = neuronLayer;
  const top = await c.cached(`neurons/${r.runId}/${l}`, () =>
    c.request('neurons/top', { layer: l, top: 20 }),
  );
  if (!c.isCurrent()) return;
  const detail = h('div', { id: 'neuron-detail', 'aria-live': 'polite' });
  let painted: { neuron: number; activations: number[] } | undefined;
  const list = h('ol', { id: 'neuron-list', class: 'neuron-list' });
  for (const t of top.top) {
    const b = h(
      'button',
      { type: 'button', class: 'neuron', 'data-neuron': t.neuron },
      `#${t.neuron}`,
      h('span', { class: 'note' }, ` max ${formatNumber(t.max)} at “${tokenLabel(r.tokens[t.argMax] ?? { display: '?', text: '?' }, 16)}”, mean ${formatNumber(t.mean)}`),
    );
    b.addEventListener('click', async () => {
      const a = await c.request('neurons/activations', { layer: l, neuron: t.neuron });
      post({ type: 'paintNeuron', layer: l, neuron: t.neuron, activations: a.activations });
      painted = { neuron: t.neuron, activations: a.activations };
      detail.dataset.neuron = String(t.neuron);
      const max = Math.max(1e-9, Math.abs(a.max), Math.abs(a.min));
      detail.replaceChildren(
        h('h3', {}, `Neuron ${t.neuron} of layer ${l} (painted in the editor)`),
        h(
          'p',
          { class: 'neuron-tokens' },
          ...r.tokens.map((tok, i) => {
            const s = h('span', { class: 'neuron-token token-label', title: `${formatNumber(a.activations[i])}`, 'data-index': i }, tokenLabel(tok, 20));
            s.style.setProperty('--a', String(Math.max(0, a.activations[i]) / max));
            return s;
          }),
        ),
      );
    });
    list.append(h('li', {}, b));
  }
  holder.replaceChildren(h('p', { class: 'note' }, `Top ${top.top.length} of ${top.intermediate} MLP neurons of layer ${l} by their largest activation on the selection.`), list, detail);
  holder.dataset.status = 'ready';
  c.setExport({
    png: snapshotOf(holder),
    name: `neurons-${r.model.name}-L${l}`,
    json: () => viewJson(r, c.text, 'neurons', { layer: l, intermediate: top.intermediate, top: top.top, painted: painted ?? null }),
  });
}
