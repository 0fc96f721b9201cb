// Feature visualisation in the feature-map panel (issue 17): optimise the input to excite a channel of a layer or
// raise a class score (activation maximisation), or to reproduce the picture's features at a layer (feature
// inversion). The image is shown as it evolves (features/visualizeStep notifications); Stop cancels the request and
// keeps the last image; Save PNG exports the image on screen as the host made it (the optimised input, pixel for pixel).

import type { FEATURE_VIEW_REQUESTS, FeatureLayerInfo, FeaturesRunResult, FeatureVisualizeStep, ViewRequester } from '../../src/common/protocol';
import { h, post } from '../webview/common';

type Goal = 'channel' | 'class' | 'invert';
/** Kept while the panel shows runs: the last choices. */
const choices = { goal: 'channel' as Goal, layer: '', index: 0, steps: 128 };

const png = (b64: string) => `data:image/png;base64,${b64}`;

/** The image on screen (base64 PNG) and what it is, for Save PNG. */
let shown: { png: string; step: number } | undefined;

/** The file name offered: goal, layer, channel or class, step. */
function fileName(step: number): string {
  const what = choices.goal === 'class' ? `class${choices.index}` : choices.goal === 'invert' ? `invert-${choices.layer}` : `${choices.layer}-channel${choices.index}`;
  return `feature-vis-${what}-step${step}`;
}

/** Puts an image on screen and lets Save PNG export it. */
function showImage(b64: string, step: number): void {
  const img = document.getElementById('vis-image') as HTMLImageElement | null;
  const save = document.getElementById('vis-save') as HTMLButtonElement | null;
  if (!img || !save) return;
  img.src = png(b64);
  img.hidden = false;
  shown = { png: b64, step };
  save.disabled = false;
}

export function visualizationSection(r: FeaturesRunResult, request: ViewRequester<typeof FEATURE_VIEW_REQUESTS>): HTMLElement {
  const maps: FeatureLayerInfo[] = r.layers.filter((l) => l.isFeatureMap);
  if (maps.length === 0) return h('section', { id: 'features-vis', hidden: true });
  if (!maps.some((l) => l.name === choices.layer)) choices.layer = maps[0].name;
  const goal = h('select', { id: 'vis-goal', 'aria-label': 'Goal' },
    h('option', { value: 'channel' }, 'Excite a channel of'), h('option', { value: 'class' }, 'Raise a class score'), h('option', { value: 'invert' }, 'Reproduce the picture\u2019s features at'));
  goal.value = choices.goal;
  const layer = h('select', { id: 'vis-layer', 'aria-label': 'Layer' }, ...maps.map((l) => h('option', { value: l.name }, `${l.name} (${l.opType}, ${l.shape.join('×')})`)));
  layer.value = choices.layer;
  const index = h('input', { id: 'vis-index', type: 'number', min: 0, value: choices.index, size: 4, 'aria-label': 'Channel or class' });
  const steps = h('select', { id: 'vis-steps', 'aria-label': 'Steps' }, ...[32, 128, 512, 2048, 10000].map((s) => h('option', { value: String(s) }, `${s} steps`)));
  steps.value = String(choices.steps);
  const start = h('button', { id: 'vis-start', type: 'button' }, 'Start');
  const stop = h('button', { id: 'vis-stop', type: 'button', class: 'secondary', disabled: true }, 'Stop');
  const save = h('button', { id: 'vis-save', type: 'button', class: 'secondary', disabled: true, title: 'The optimised input as a PNG, at the model\u2019s input size' }, 'Save PNG');
  shown = undefined;
  const img = h('img', { id: 'vis-image', alt: 'the optimised input', hidden: true });
  const status = h('p', { id: 'vis-status', class: 'note', 'aria-live': 'polite' },
    'Adam on the input, total-variation and L2 penalties, a random shift of a pixel each step (Olah et al. 2017).');
  const sync = () => {
    layer.disabled = goal.value === 'class';
    index.disabled = goal.value === 'invert';
  };
  goal.addEventListener('change', sync);
  sync();

  start.addEventListener('click', async () => {
    Object.assign(choices, { goal: goal.value as Goal, layer: layer.value, index: Math.max(0, Number(index.value) || 0), steps: Number(steps.value) });
    start.disabled = true;
    stop.disabled = false;
    section.dataset.status = 'running';
    delete section.dataset.firstObjective;
    delete section.dataset.bestObjective;
    status.textContent = 'Starting…';
    try {
      const done = await request('features/visualize', {
        goal: choices.goal, layer: choices.goal === 'class' ? undefined : choices.layer, index: choices.index, steps: choices.steps, every: 1,
      });
      showImage(done.image.png, done.steps);
      section.dataset.status = done.stopped ? 'stopped' : 'done';
      section.dataset.step = String(done.steps);
      status.textContent = `Done: ${done.steps} steps, objective ${done.objective.toPrecision(5)}.`;
    } catch (e) {
      const message = (e as Error).message;
      if (/cancel/i.test(message)) {
        section.dataset.status = 'stopped';
        status.textContent = `Stopped at step ${section.dataset.step ?? 0}; the image is the last one reached.`;
      } else {
        section.dataset.status = 'error';
        status.textContent = message;
      }
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => post({ type: 'stopVisualize' }));
  save.addEventListener('click', () => { if (shown) post({ type: 'savePng', png: shown.png, name: fileName(shown.step) }); });

  const section = h('section', { id: 'features-vis', 'aria-label': 'Feature visualisation', 'data-status': 'idle' },
    h('h2', {}, 'Feature visualisation'),
    h('div', { class: 'controls' }, goal, layer, h('label', {}, ' channel / class ', index), steps, start, stop, save),
    h('figure', { class: 'vis-figure' }, img, h('figcaption', {}, status)));
  return section;
}

/** A step of the running visualisation: the image so far and the objective. */
export function showVisualizeStep(m: FeatureVisualizeStep): void {
  const section = document.getElementById('features-vis');
  if (!section || section.dataset.status !== 'running') return;
  showImage(m.image.png, m.step);
  section.dataset.step = String(m.step);
  section.dataset.objective = String(m.objective);
  // The run's first and best objectives: with a random shift each step the objective is noisy step to step.
  section.dataset.firstObjective ??= String(m.objective);
  section.dataset.bestObjective = String(Math.max(m.objective, Number(section.dataset.bestObjective ?? -Infinity)));
  document.getElementById('vis-status')!.textContent = `Step ${m.step} of ${m.steps}: objective ${m.objective.toPrecision(5)}`;
}
