// The raw hidden state as an image: tokens down, dimensions across, blue negative and red positive, with
// the (token, dimension) value under the pointer.

import { decodeFloat32, tokenLabel } from '../../../src/attention/attentionLogic';
import { hiddenLayerName, niceTicks, rowsOf, viewJson } from '../../../src/attention/hiddenLogic';
import { formatNumber, h } from '../../webview/common';
import { tokenRowsFigure } from '../figures';
import { pageWidth, ViewContext } from '../view';
import { ensureChoices, hiddenChoices, hiddenLayerControl } from './choices';

export async function drawHiddenImage(c: ViewContext, box: HTMLElement): Promise<void> {
  const r = c.run;
  ensureChoices(r);
  const k = hiddenChoices.layer;
  const holder = h('div', { id: 'hidden-image', 'data-status': 'loading', 'data-layer': k }, h('p', { class: 'loading' }, `Hidden state ${k}…`));
  box.append(h('div', { class: 'controls' }, hiddenLayerControl(r, 'hidden-layer', () => c.redraw())), holder);
  const img = await c.cached(`hidden/${r.runId}/${k}`, () => c.request('hidden/image', { layer: k, maxSize: 1024 }));
  if (!c.isCurrent()) return;
  const values = img.values ? decodeFloat32(img.values) : null;
  const rows = img.rows;
  const cols = img.cols;
  const width = Math.max(240, Math.min(900, pageWidth() - 160));
  const readout = h('p', { id: 'hidden-readout', class: 'readout', 'aria-live': 'polite' }, values ? 'Hover the image (or focus it and use Shift+arrows) to read a value.' : 'Too many numbers to send for a read-out; the picture is the whole hidden state.');
  const figure = tokenRowsFigure({
    run: r,
    png: img.png,
    alt: `Hidden state ${k}: ${rows} tokens down, ${cols} dimensions across`,
    label: `Hidden state ${k} as an image`,
    rows,
    cols,
    width,
    ticks: niceTicks(0, cols - 1, 6).filter((d) => d < cols).map((d) => [d, String(d)]),
    show: (row, col) => {
      const v = values ? values[row * cols + col] : undefined;
      readout.textContent = `token ${row} “${tokenLabel(r.tokens[row], 30)}” · dimension ${col}: ${v === undefined ? 'n/a' : formatNumber(v)}`;
      readout.dataset.row = String(row);
      readout.dataset.col = String(col);
      readout.dataset.value = v === undefined ? '' : String(v);
    },
  });
  holder.replaceChildren(
    h('p', { class: 'note' }, `${hiddenLayerName(k, r.model.layers)}: ${rows} tokens × ${cols} dimensions; blue negative, white 0, red positive, ±${formatNumber(img.limit)}.${img.note ? ` ${img.note}.` : ''}`),
    figure,
    readout,
  );
  holder.dataset.status = 'ready';
  c.setExport({
    name: `hidden-${r.model.name}-h${k}`,
    png: async () => img.png,
    json: () => viewJson(r, c.text, 'hidden-image', { layer: k, rows, cols, limit: img.limit, values: values ? rowsOf(values, rows, cols) : null }),
  });
}
