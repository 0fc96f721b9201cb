// The cells and grids the circuits views share: a score in [0, 1] or a signed value as a cell coloured
// from theme variables (--s, --v with pos/neg), and a layers × heads table of them.

import { signedIntensity } from '../../../src/attention/circuitsLogic';
import { formatNumber, h } from '../../webview/common';

/** A cell coloured by a score in [0, 1] (--s) or a signed value in [-1, 1] (--v, class pos/neg). */
export function scoreCell(text: string, score: number, title: string, attrs: Record<string, string | number> = {}): HTMLElement {
  const cell = h('button', { type: 'button', class: 'circuit-cell score', title, ...attrs }, text);
  cell.style.setProperty('--s', String(Math.max(0, Math.min(1, Number.isFinite(score) ? score : 0))));
  return cell;
}

export function signedCell(value: number, limit: number, title: string, attrs: Record<string, string | number> = {}): HTMLElement {
  const v = signedIntensity(value, limit);
  const cell = h('span', { class: `circuit-cell signed ${v < 0 ? 'neg' : 'pos'}`, title, tabindex: 0, 'data-value': value, ...attrs }, formatNumber(value, 3));
  cell.style.setProperty('--v', String(Math.abs(v)));
  return cell;
}

export function headGridTable(id: string, layers: number, heads: number, cell: (l: number, hd: number) => HTMLElement, extra?: { name: string; cell: (l: number) => HTMLElement }): HTMLTableElement {
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
