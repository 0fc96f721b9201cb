// Attention rollout and attention flow through all layers (the host computes both), drawn as a matrix
// with token labels and a read-out.

import { decodeFloat32 } from '../../../src/attention/attentionLogic';
import { rowsOf, viewJson } from '../../../src/attention/hiddenLogic';
import type { RolloutResult } from '../../../src/common/protocol';
import { h } from '../../webview/common';
import { matrixFigure } from '../figures';
import { ViewContext } from '../view';

let rolloutMethod: 'rollout' | 'flow' = 'rollout';

export async function drawRollout(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const method = rolloutMethod;
  const radios = h('fieldset', { class: 'radio-group', id: 'rollout-method' }, h('legend', {}, 'Method'));
  for (const [m, label] of [['rollout', 'Attention rollout'], ['flow', 'Attention flow']] as const) {
    const input = h('input', { type: 'radio', name: 'rollout-method', id: `rollout-${m}`, value: m, checked: m === method });
    input.addEventListener('change', () => {
      rolloutMethod = m;
      c.redraw();
    });
    radios.append(h('label', { for: `rollout-${m}` }, input, ` ${label}`));
  }
  const holder = h('div', { id: 'rollout', 'data-status': 'loading', 'data-method': method }, h('p', { class: 'loading' }, `Computing ${method}…`));
  box.append(radios, holder);
  let res: RolloutResult;
  try {
    res = await c.cached(`rollout/${r.runId}/${method}`, () => c.request('attention/rollout', { method, maxSize: 1024 }));
  } catch (e) {
    if (!c.isCurrent()) return;
    holder.replaceChildren(h('div', { id: 'rollout-error', class: 'error', role: 'alert' }, (e as Error).message));
    holder.dataset.status = 'error';
    return;
  }
  if (!c.isCurrent()) return;
  const values = res.values ? decodeFloat32(res.values) : null;
  const png = res.image.png;
  holder.replaceChildren();
  if (res.note) holder.append(h('p', { id: 'rollout-note', class: 'note', role: 'note' }, res.note));
  holder.append(
    matrixFigure(r, {
      id: 'rollout-figure',
      png,
      label: `Attention ${method} through all layers: query tokens down, key tokens across`,
      valueAt: (q, k) => (values ? values[q * r.n + k] : undefined),
    }),
  );
  holder.dataset.status = 'ready';
  c.setExport({
    png: async () => png,
    name: `attention-${r.model.name}-${method}`,
    json: values ? () => viewJson(r, c.text, method, { n: r.n, values: rowsOf(values, r.n, r.n), note: res.note }) : undefined,
  });
}
