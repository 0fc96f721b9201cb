// NMF of an MLP layer's activations: tokens coloured by their strongest component (or one component's
// weight alone), with each component's top tokens and neurons in the legend.

import { tokenLabel } from '../../../src/attention/attentionLogic';
import { componentColor, MAX_COMPONENTS, nmfColouring, viewJson } from '../../../src/attention/hiddenLogic';
import { formatNumber, h } from '../../webview/common';
import { snapshotOf, ViewContext } from '../view';
import { ensureChoices, hiddenChoices } from './choices';

export async function drawNmf(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  ensureChoices(r);
  const layerSel = h('select', { id: 'nmf-layer', 'aria-label': 'MLP layer' }, ...Array.from({ length: r.model.layers }, (_, i) => h('option', { value: String(i) }, `Layer ${i}`)));
  layerSel.value = String(hiddenChoices.nmfLayer);
  layerSel.addEventListener('change', () => {
    hiddenChoices.nmfLayer = Number(layerSel.value);
    c.redraw();
  });
  const maxComponents = Math.max(1, Math.min(MAX_COMPONENTS, r.n));
  const countSel = h('select', { id: 'nmf-components', 'aria-label': 'Number of components' }, ...Array.from({ length: maxComponents }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
  hiddenChoices.components = Math.min(hiddenChoices.components, maxComponents);
  countSel.value = String(hiddenChoices.components);
  countSel.addEventListener('change', () => {
    hiddenChoices.components = Number(countSel.value);
    c.redraw();
  });
  const l = hiddenChoices.nmfLayer;
  const want = hiddenChoices.components;
  const holder = h('div', { id: 'nmf', 'data-status': 'loading', 'data-layer': l }, h('p', { class: 'loading' }, `Factorising the MLP activations of layer ${l} into ${want} components…`));
  box.append(h('div', { class: 'controls' }, h('label', { class: 'control' }, h('span', {}, 'MLP layer'), layerSel), h('label', { class: 'control' }, h('span', {}, 'Components'), countSel)), holder);
  const nmf = await c.cached(`nmf/${r.runId}/${l}/${want}`, () => c.request('neurons/nmf', { layer: l, components: want }));
  if (!c.isCurrent()) return;
  const colouring = nmfColouring(nmf.tokenWeights);
  let focus = -1;
  const tokens = h('p', { id: 'nmf-tokens', class: 'nmf-tokens' });
  const paintTokens = () => {
    tokens.replaceChildren(
      ...r.tokens.map((t, i) => {
        // Dominant component, or (a component chosen in the legend) that component's share alone.
        const comp = focus >= 0 ? focus : colouring[i].component;
        const peak = focus >= 0 ? Math.max(...nmf.tokenWeights[focus]) : 0;
        const strength = focus >= 0 ? (peak > 0 ? nmf.tokenWeights[focus][i] / peak : 0) : colouring[i].strength;
        const weights = nmf.tokenWeights.map((w, cc) => `c${cc} ${formatNumber(w[i], 3)}`).join(', ');
        const s = h('span', { class: 'nmf-token token-label', 'data-index': i, 'data-component': comp, 'data-strength': strength.toFixed(3), title: `${i}: ${JSON.stringify(t.text)} · ${weights}` }, tokenLabel(t, 24));
        // (No colour at strength 0: color-mix with 0% of a colour is not a colour.)
        if (comp >= 0 && strength > 0) {
          s.style.setProperty('--c', componentColor(comp));
          s.style.setProperty('--s', String(strength));
        }
        // Deep backgrounds take the background's colour for the text, so it stays readable.
        s.classList.toggle('strong', strength > 0.55);
        return s;
      }),
    );
    tokens.dataset.focus = String(focus);
  };
  const legend = h('div', { id: 'nmf-legend', class: 'nmf-legend', role: 'group', 'aria-label': 'Components: choose one to show its weight alone' });
  const legendButtons = nmf.tokenWeights.map((w, cc) => {
    const top = w.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => `“${tokenLabel(r.tokens[i], 12)}”`);
    const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.background = componentColor(cc);
    const b = h(
      'button',
      { type: 'button', class: 'nmf-component secondary', 'data-component': cc, 'aria-pressed': 'false', title: `Neurons ${nmf.topNeurons[cc].map((n) => `#${n}`).join(', ')}` },
      sw,
      ` Component ${cc}`,
      h('span', { class: 'note' }, ` · ${top.join(' ')} · neurons ${nmf.topNeurons[cc].slice(0, 3).map((n) => `#${n}`).join(' ')}`),
    );
    b.addEventListener('click', () => {
      focus = focus === cc ? -1 : cc;
      legendButtons.forEach((x, j) => x.setAttribute('aria-pressed', String(j === focus)));
      paintTokens();
    });
    legend.append(b);
    return b;
  });
  paintTokens();
  holder.replaceChildren(
    h('p', { class: 'note' }, `The MLP activations of layer ${l} (${r.n} tokens × neurons, negative parts set to 0) ≈ token weights × ${nmf.components} components; relative error ${(nmf.relativeError * 100).toFixed(1)}%. Each token takes the colour of its strongest component, as deep as its share of that component's peak. Choose a component to see its weight alone.`),
    legend,
    tokens,
  );
  holder.dataset.status = 'ready';
  holder.dataset.components = String(nmf.components);
  c.setExport({
    name: `nmf-${r.model.name}-L${l}-${nmf.components}`,
    png: snapshotOf(holder),
    json: () =>
      viewJson(r, c.text, 'nmf', {
        layer: l,
        components: nmf.components,
        relativeError: nmf.relativeError,
        tokenWeights: nmf.tokenWeights,
        topNeurons: nmf.topNeurons,
        dominant: colouring,
      }),
  });
}
