// The checkpoint browser in a real VS Code: the Models view lists the tiny-gpt2 copy in the
// workspace, expands it down to a tensor, and the tensor panel shows the tensor's statistics
// (checked against values computed here from the file) and the host's heatmap image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { launch, TIMEOUTS, waitFor } from './harness.mjs';
import { readF32, statistics, totalParameters } from './lib/safetensors.mjs';

const TENSOR = 'transformer.h.0.attn.c_attn.weight';
let s;

before(async () => {
  s = await launch({ name: 'models-view' });
});
after(async () => {
  await s?.close();
});

/** Parses a statistic as the panel writes it ("-0.0123", "1.5e-4", "12,288", "0% (0)"). */
function parseShown(text) {
  return Number(text.trim().split(' ')[0].replace(/,/g, '').replace(/%$/, ''));
}

/** Shown with 4 significant digits: equal to `expected` to within rounding of the 4th digit. */
function assertClose(shown, expected, label) {
  const value = parseShown(shown);
  const tolerance = expected === 0 ? 1e-9 : Math.abs(expected) * 6e-4;
  assert.ok(Math.abs(value - expected) <= tolerance, `${label}: shown ${shown}, expected ${expected}`);
}

test('the Models view lists the workspace checkpoint with parameters, dtype and architecture', async () => {
  await s.guard('models view', async () => {
    await s.openActivity('ModelVis', 'Models');
    const row = s.treeRow('Models', 'tiny-gpt2');
    await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    const total = totalParameters(join(s.workspaceInfo.model, 'model.safetensors'));
    // The description fills in once the host has read the header (models/tree).
    const description = await waitFor(async () => {
      const d = await row.locator('.label-description').innerText().catch(() => '');
      return d.includes('params') ? d : null;
    }, { timeout: TIMEOUTS.host, message: 'the checkpoint row\'s description' });
    // "172K params": a compact count, equal to the file's total to within its 3 significant digits.
    const [, number, unit] = /([\d.]+)\s*([KMB]?) params/.exec(description) ?? [];
    const shown = Number(number) * ({ K: 1e3, M: 1e6, B: 1e9 }[unit] ?? 1);
    assert.ok(Math.abs(shown - total) <= total * 0.005, `parameters: shown "${description}", the file has ${total}`);
    assert.match(description, /F32/);
    assert.match(description, /GPT2LMHeadModel/);
    // The palette command refreshes the view: the checkpoint comes back with its description.
    await s.runCommand('ModelVis: Refresh Models');
    await waitFor(async () => (await row.locator('.label-description').innerText().catch(() => '')).includes('GPT2LMHeadModel'),
      { timeout: TIMEOUTS.host, message: 'the checkpoint row after Refresh Models' });
  });
});

test('expanding the checkpoint shows modules, collapsed layers and tensors with dtype and shape', async () => {
  await s.guard('expand', async () => {
    await s.expandRow('Models', 'tiny-gpt2');
    await s.expandRow('Models', 'transformer');
    // Numbered layers (h.0, h.1) are collapsed into one row, labelled "h [0–1]" (checked at the end).
    const layers = await s.expandRow('Models', /^h \[0.1\]/);
    const layersLabel = await layers.locator('.label-name').innerText();
    await s.expandRow('Models', '0');
    await s.expandRow('Models', 'attn');
    await s.expandRow('Models', 'c_attn');
    const tensorRow = s.viewPane('Models').locator(`.monaco-list-row[aria-label^="Tensor ${TENSOR}"]`);
    await tensorRow.waitFor({ state: 'visible' });
    const description = await tensorRow.locator('.label-description').innerText();
    assert.match(description, /F32/);
    assert.match(description, /64×192/);
    await s.screenshot('models-view-expanded');
    assert.equal(layersLabel.trim(), 'h [0–1]', 'the collapsed layers row names the range once');
  });
});

test('clicking a tensor opens its panel with statistics and the heatmap image', async () => {
  await s.guard('tensor panel', async () => {
    const tensorRow = s.viewPane('Models').locator(`.monaco-list-row[aria-label^="Tensor ${TENSOR}"]`);
    await tensorRow.click();
    const panel = await s.webview('#tensor-stats', { timeout: TIMEOUTS.host });
    const stat = (key) => panel.locator(`#tensor-stats tr[data-stat="${key}"] .stat-value`).innerText();

    const { values, shape } = readF32(join(s.workspaceInfo.model, 'model.safetensors'), TENSOR);
    const expected = statistics(values);
    assert.deepEqual(shape, [64, 192]);
    assert.equal(parseShown(await stat('count')), expected.count);
    assertClose(await stat('min'), expected.min, 'min');
    assertClose(await stat('max'), expected.max, 'max');
    assertClose(await stat('mean'), expected.mean, 'mean');
    assertClose(await stat('std'), expected.std, 'std');
    assert.equal(parseShown(await stat('nan')), 0);
    assert.equal(parseShown(await stat('inf')), 0);
    assert.match(await stat('zeros'), new RegExp(`\\(${expected.zeros}\\)`));
    assert.match(await panel.locator('#tensor-title').innerText(), new RegExp(TENSOR.replace(/\./g, '\\.')));

    // The histogram has bars.
    assert.ok((await panel.locator('#tensor-histogram rect.bar').count()) > 0, 'histogram bars');

    // The heatmap: the <img> decoded in the browser, and its PNG is a real diverging heatmap.
    const img = panel.locator('#tensor-heatmap');
    await img.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    await waitFor(async () => (await img.getAttribute('data-loaded')) === 'true', { message: 'heatmap loaded' });
    const { naturalWidth, naturalHeight, src } = await img.evaluate((el) => ({ naturalWidth: el.naturalWidth, naturalHeight: el.naturalHeight, src: el.src }));
    assert.ok(naturalWidth > 0 && naturalHeight > 0, `image decoded (${naturalWidth}×${naturalHeight})`);
    assert.ok(src.startsWith('data:image/png;base64,'), 'image is a PNG from the host');
    const png = PNG.sync.read(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64'));
    assert.equal(png.width, naturalWidth);
    assert.equal(png.height, naturalHeight);
    // 64 rows × 192 columns: three times as wide as tall (whatever integer scale the host used).
    assert.equal(png.width * 64, png.height * 192, `aspect of ${png.width}×${png.height}`);
    // Random weights centred at zero: both warm (positive) and cool (negative) pixels.
    let warm = 0, cool = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, , b] = png.data.subarray(i, i + 3);
      if (r > b + 30) warm++;
      else if (b > r + 30) cool++;
    }
    const pixels = png.width * png.height;
    assert.ok(warm > pixels * 0.1 && cool > pixels * 0.1, `diverging colours: ${warm} warm, ${cool} cool of ${pixels}`);
    // The colour scale is diverging and centred at zero.
    assert.match(await panel.locator('#heatmap-legend').getAttribute('aria-label'), /centred at 0/);
    // Axes: the tensor's row and column indices; the read-out under the pointer is the file's value there.
    assert.ok((await panel.locator('.heatmap-axis.rows .tick').count()) >= 2 && (await panel.locator('.heatmap-axis.cols .tick').count()) >= 2, 'row and column ticks');
    const ib = await img.boundingBox();
    for (const [fx, fy] of [[0.3, 0.6], [0.9, 0.1]]) {
      await s.page.mouse.move(ib.x + ib.width * fx, ib.y + ib.height * fy);
      const readout = panel.locator('#heatmap-readout');
      const row = Number(await waitFor(() => readout.getAttribute('data-row'), { message: 'heatmap read-out' }));
      await waitFor(async () => Math.abs(Number(await readout.getAttribute('data-row')) - Math.floor(fy * 64)) <= 1, { message: 'the read-out follows the pointer' });
      const r = Number(await readout.getAttribute('data-row'));
      const c = Number(await readout.getAttribute('data-col'));
      assert.ok(Math.abs(c - Math.floor(fx * 192)) <= 1 && row >= 0, `cell (${r}, ${c}) under (${fx}, ${fy})`);
      assert.equal(Number(await readout.getAttribute('data-value')), values[r * 192 + c], `value at (${r}, ${c})`);
      assert.match(await readout.innerText(), new RegExp(`^row ${r}, column ${c}: `));
    }
    await s.screenshot('tensor-panel');
  });
});
