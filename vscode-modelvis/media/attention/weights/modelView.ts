// The model view: every layer (rows) and head (columns) as thumbnails from one host sprite sheet,
// labelled L/H; a click opens that head in the heatmap.

import { h } from '../../webview/common';
import { pageWidth, ViewContext } from '../view';

export async function drawModelView(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  const holder = h('div', { id: 'grid', 'data-status': 'loading' }, h('p', { class: 'loading' }, 'Rendering every layer and head…'));
  box.append(holder);
  const cellPx = Math.max(24, Math.min(96, Math.floor((pageWidth() - 80) / r.model.heads) - 6));
  const grid = await c.cached(`grid/${r.runId}/${cellPx}`, () => c.request('attention/grid', { cell: cellPx }));
  if (!c.isCurrent()) return;
  const scale = Math.min(2, Math.max(0.25, (pageWidth() - 60) / grid.width));
  const img = h('img', { src: `data:image/png;base64,${grid.png}`, alt: `Model view: ${grid.layers} layers × ${grid.heads} heads`, 'data-loaded': 'false', draggable: 'false' });
  img.style.width = `${grid.width * scale}px`;
  img.style.height = `${grid.height * scale}px`;
  img.addEventListener('load', () => img.setAttribute('data-loaded', 'true'));
  const sheet = h('div', { class: 'grid-sheet' }, img);
  sheet.style.width = `${grid.width * scale}px`;
  sheet.style.height = `${grid.height * scale}px`;
  for (const cell of grid.cells) {
    const b = h('button', {
      type: 'button',
      class: 'grid-cell',
      'data-layer': cell.layer,
      'data-head': cell.head,
      'aria-label': `Layer ${cell.layer} head ${cell.head}`,
      title: `Layer ${cell.layer}, head ${cell.head}: open in the heatmap`,
    });
    b.style.left = `${cell.x * scale}px`;
    b.style.top = `${cell.y * scale}px`;
    b.style.width = `${cell.width * scale}px`;
    b.style.height = `${cell.height * scale}px`;
    b.addEventListener('click', () => c.openHead(cell.layer, cell.head));
    sheet.append(b);
  }
  // Labels: layer at the left of its row, head above its column (positions from the cells).
  const rowsY = new Map<number, number>();
  const colsX = new Map<number, number>();
  for (const cell of grid.cells) {
    rowsY.set(cell.layer, Math.min(rowsY.get(cell.layer) ?? Infinity, cell.y + cell.height / 2));
    colsX.set(cell.head, Math.min(colsX.get(cell.head) ?? Infinity, cell.x + cell.width / 2));
  }
  const left = h('div', { class: 'grid-layer-labels', 'aria-hidden': 'true' });
  left.style.height = `${grid.height * scale}px`;
  for (const [l, y] of rowsY) {
    const s = h('span', { class: 'grid-label' }, `L${l}`);
    s.style.top = `${y * scale}px`;
    left.append(s);
  }
  const top = h('div', { class: 'grid-head-labels', 'aria-hidden': 'true' });
  top.style.width = `${grid.width * scale}px`;
  for (const [hd, x] of colsX) {
    const s = h('span', { class: 'grid-label' }, `H${hd}`);
    s.style.left = `${x * scale}px`;
    top.append(s);
  }
  holder.replaceChildren(
    h('p', { class: 'note' }, 'Every layer (rows) and head (columns). Click a thumbnail to open it in the heatmap.'),
    h('div', { class: 'grid-figure' }, h('div', {}), top, left, sheet),
  );
  holder.dataset.status = 'ready';
  c.setExport({ png: async () => grid.png, name: `attention-${r.model.name}-model-view` });
}
