// CNN feature maps end to end (issue 7): a workspace with a copy of the LeNet-5 ONNX model (and its
// architecture sidecar beside it: MNIST mean/std and labels) and one MNIST digit; right-click the PNG in
// the Explorer → "Show CNN Feature Maps" → pick lenet.onnx → the predicted digit, the layer grids, the
// kernels, a map enlarged over the input; screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, launchLenetSession, openLenetFeatureMaps, TIMEOUTS, waitFor } from './harness.mjs';

const digit = 'mnist_test_00_label7.png';
const expected = JSON.parse(readFileSync(join(fixturesDir, 'expected', 'lenet5-mnist', digit.replace('.png', '.json')), 'utf8'));

let s;

before(async () => {
  s = await launchLenetSession('features', digit);
});
after(async () => {
  await s?.close();
});

test('right-click a PNG → Show CNN Feature Maps → prediction, layer grids, kernels, overlay', async () => {
  await s.guard('features panel', async () => {
    const page = s.page;
    const frame = await openLenetFeatureMaps(s, digit);
    const prediction = await frame.locator('#features-prediction').innerText();
    process.stderr.write(`[e2e] features prediction: ${prediction}\n`);
    assert.equal(await frame.locator('#features-prediction').getAttribute('data-class'), String(expected.predicted_class));
    assert.match(prediction, new RegExp(`Predicted: ${expected.predicted_class} `));
    assert.equal(await frame.locator('#features-top5 tbody tr').count(), 5);
    assert.match(await frame.locator('#features-preprocessing').innerText(), /grey 28×28.*0\.1307.*0\.3081/);
    assert.equal(await frame.locator('#features-input').evaluate((img) => img.complete && img.naturalWidth), 28);

    // Every feature-map layer's grid loaded.
    await frame.locator('body[data-grids="ready"]').waitFor({ timeout: TIMEOUTS.host });
    const layers = await frame.locator('section.layer').count();
    assert.ok(layers >= 4, `${layers} layer sections`);
    assert.equal(await frame.locator('section.layer[data-status="ready"] img.layer-grid[data-loaded="true"]').count(), layers);
    assert.equal(await frame.locator('section.layer[data-status="error"]').count(), 0);
    await frame.locator('#features-kernels[data-status="ready"] img#kernels-image[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#features-scaling-note').innerText(), /per channel/);
    await s.screenshot('features-panel-dark');
    await frame.locator('section.layer').first().scrollIntoViewIfNeeded();
    await s.screenshot('features-grids-dark');

    // Click a map of the first layer → enlarged over the input.
    const grid = frame.locator('section.layer').first().locator('img.layer-grid');
    await grid.click({ position: { x: 3, y: 3 } });
    await frame.locator('#features-overlay[data-kind="map"]:not([hidden])').waitFor({ timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#features-overlay-caption').innerText(), /channel 0/);

    // Per-layer scaling and sorting re-render the grids; the order is reported.
    await frame.locator('#scaling-layer').check();
    await frame.locator('#sort-mean').check();
    await frame.locator('body[data-grids="ready"] section.layer[data-scaling="layer"]').first().waitFor({ timeout: TIMEOUTS.host });
    await waitFor(async () => (await frame.locator('section.layer[data-scaling="layer"][data-status="ready"]').count()) === layers, { timeout: TIMEOUTS.host, message: 'grids with per-layer scaling' });
    assert.match(await frame.locator('#features-scaling-note').innerText(), /per layer.*sorted by mean/);

    // Keyboard: focus the second grid, move right, Enter → overlay of that layer.
    const second = frame.locator('section.layer').nth(1);
    await second.locator('.grid-box').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const layerName = await second.getAttribute('data-layer');
    await waitFor(async () => (await frame.locator('#features-overlay').getAttribute('data-layer')) === layerName, { timeout: TIMEOUTS.host, message: 'overlay from the keyboard' });
    await frame.locator('#features-input-stack').scrollIntoViewIfNeeded();
    await s.screenshot('features-overlay-dark');
  });
});
