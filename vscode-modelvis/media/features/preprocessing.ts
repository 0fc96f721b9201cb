// The feature-map panel's preprocessing section (issue 20): what turned the picture into the model's input, where
// that came from (a guess says so, in the warning colour), and a form to pick a preset or custom values, the
// aspect handling and the channel order, then run again. The choice is remembered per model by the extension.

import type { FeaturesRunResult, PreprocessingParams } from '../../src/common/protocol';
import { h } from '../webview/common';
import { choiceOf, choiceToParams, PreprocessingChoice, RESIZE_MODES, sourceText } from '../../src/features/featuresLogic';

/** The section for a run; <paramref name="rerun"/> sends the user's choice (null: back to the model's own). */
export function preprocessingSection(r: FeaturesRunResult, rerun: (p: PreprocessingParams | null) => void): HTMLElement {
  const p = r.preprocessing, own = r.modelPreprocessing;
  const choice: PreprocessingChoice = choiceOf(p);
  const error = h('span', { class: 'error', id: 'pre-error', role: 'alert', hidden: true });
  const customFields = h('span', { id: 'pre-custom', class: 'pre-custom', hidden: choice.preset !== 'custom' },
    field('mean', 'pre-mean', choice.mean, (v) => { choice.mean = v; }),
    field('std', 'pre-std', choice.std, (v) => { choice.std = v; }),
    field('pixel scale', 'pre-scale', choice.pixelScale, (v) => { choice.pixelScale = v; }));
  const presetSelect = h('select', {
    id: 'pre-preset', 'aria-label': 'normalisation preset',
    onchange: (e: Event) => {
      choice.preset = (e.target as HTMLSelectElement).value;
      customFields.hidden = choice.preset !== 'custom';
    },
  },
  ...r.presets.map((x) => h('option', { value: x.id, selected: x.id === choice.preset }, x.label + (x.id === own.preset ? (own.guess ? ' (the guess)' : ' (the model\u2019s)') : ''))),
  h('option', { value: 'custom', selected: choice.preset === 'custom' }, 'custom values…'));
  const resizeSelect = h('select', { id: 'pre-resize', 'aria-label': 'aspect ratio', onchange: (e: Event) => { choice.resize = (e.target as HTMLSelectElement).value as PreprocessingChoice['resize']; } },
    ...RESIZE_MODES.map((m) => h('option', { value: m.id, selected: m.id === choice.resize }, m.label)));
  const orderSelect = p.channels === 3
    ? h('select', { id: 'pre-order', 'aria-label': 'channel order', onchange: (e: Event) => { choice.channelOrder = (e.target as HTMLSelectElement).value as 'rgb' | 'bgr'; } },
      h('option', { value: 'rgb', selected: choice.channelOrder === 'rgb' }, 'RGB'),
      h('option', { value: 'bgr', selected: choice.channelOrder === 'bgr' }, 'BGR'))
    : null;
  const apply = () => {
    const { params, error: message } = choiceToParams(choice, p.channels);
    error.textContent = message ?? '';
    error.hidden = !message;
    if (params) rerun(params);
  };
  const userSet = p.source === 'user';
  return h('section', { id: 'features-preprocessing-section', 'aria-label': 'Preprocessing', 'data-source': p.source, 'data-guess': String(p.guess), 'data-preset': p.preset ?? '' },
    h('h2', {}, 'Preprocessing'),
    h('p', { id: 'features-preprocessing-now' }, `In force: ${p.describe}`),
    h('p', { id: 'features-preprocessing-source', class: p.guess ? 'pre-source guess' : 'pre-source' }, sourceText(p)),
    userSet ? h('p', { class: 'note', id: 'features-preprocessing-own' }, `The model\u2019s own: ${own.describe}. ${sourceText(own)}`) : null,
    h('div', { class: 'pre-form', id: 'features-preprocessing-form' },
      h('label', {}, 'Normalisation ', presetSelect),
      customFields,
      h('label', {}, 'Aspect ', resizeSelect),
      orderSelect ? h('label', {}, 'Channels ', orderSelect) : null,
      h('button', { id: 'pre-apply', onclick: apply }, 'Apply and run again'),
      userSet ? h('button', { id: 'pre-reset', class: 'secondary', onclick: () => rerun(null) }, 'Use the model\u2019s own') : null,
      error));
}

function field(label: string, id: string, value: string, set: (v: string) => void): HTMLElement {
  return h('label', {}, `${label} `, h('input', { type: 'text', id, value, size: 18, spellcheck: 'false', oninput: (e: Event) => set((e.target as HTMLInputElement).value) }));
}
