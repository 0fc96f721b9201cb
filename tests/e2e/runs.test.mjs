// Training runs in a real VS Code: the Runs view lists a Lightning run copied into the workspace, its panel draws
// the CLI's series (checked point by point), the smoothing slider changes the smoothed line and not the raw one;
// two checkpoints selected in the Models view → Compare → the table in the CLI's order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { join } from 'node:path';
import { fixturesDir, launch, makeSampleWorkspace, modelvisCli, screenshotsDir, TIMEOUTS, waitFor } from './harness.mjs';

let s;

before(async () => {
  s = await launch({
    name: 'runs',
    workspace: (dir) => {
      const info = makeSampleWorkspace(dir, { models: ['tiny-gpt2', 'tiny-gpt2-init0.1'] });
      const run = join(dir, 'lightning_logs', 'version_0');
      mkdirSync(run, { recursive: true });
      cpSync(join(fixturesDir, 'runs', 'lightning-lstm-shakespeare'), run, { recursive: true });
      return { ...info, run };
    },
  });
});
after(async () => {
  await s?.close();
});

async function plotted(frame, tag) {
  const chart = frame.locator(`.chart[data-tag="${tag}"]`);
  await waitFor(async () => (await chart.getAttribute('data-ready')) === 'true', { timeout: TIMEOUTS.host, message: `the ${tag} chart` });
  return JSON.parse(await chart.getAttribute('data-plotted'));
}

test('the Runs view lists the run; its panel draws the CLI\'s series and smoothing changes only the smoothed line', async () => {
  await s.guard('runs', async () => {
    const cli = JSON.parse(modelvisCli('scalars', '--run', s.workspaceInfo.run, '--json'));
    await s.openActivity('ModelVis', 'Runs');
    await s.clickRow('Runs', 'version_0');
    const frame = await s.webview('.chart[data-tag="train_loss"]');
    await s.panelScreenshot('runs-panel');

    // Smoothing 0: one series per run, equal to the CLI's values at the CLI's steps.
    await frame.locator('#runs-smoothing').fill('0');
    await waitFor(async () => (await frame.locator('#runs-smoothing-value').innerText()) === '0.00', { message: 'smoothing 0' });
    for (const tag of ['train_loss', 'val_loss']) {
      const p = await plotted(frame, tag);
      assert.equal(p.data.length, 2, `${tag}: x and one series`);
      assert.deepEqual(p.data[0], cli.tags[tag].steps, `${tag} steps`);
      assert.deepEqual(p.data[1], cli.tags[tag].values, `${tag} values`);
    }

    // Smoothing 0.9: the raw series is still the CLI's, the smoothed one differs from it.
    await frame.locator('#runs-smoothing').fill('0.9');
    await waitFor(async () => (await frame.locator('#runs-smoothing-value').innerText()) === '0.90', { message: 'smoothing 0.9' });
    const p = await plotted(frame, 'train_loss');
    assert.equal(p.data.length, 3);
    assert.deepEqual(p.data[1], cli.tags.train_loss.values);
    assert.notDeepEqual(p.data[2], cli.tags.train_loss.values);
    assert.equal(p.data[2][0], cli.tags.train_loss.values[0], 'debiased: the first smoothed point is the first value');
    await s.panelScreenshot('runs-panel-smoothed');

    // Save PNG: the legend and every chart under a title, at twice the size shown (the charts are canvases).
    const charts = await frame.locator('#runs-figure').boundingBox();
    const bytes = await s.saveFromPanel(frame, '#save-png', 'png');
    mkdirSync(screenshotsDir, { recursive: true });
    writeFileSync(join(screenshotsDir, 'runs-figure-export.png'), bytes);
    const png = PNG.sync.read(bytes);
    assert.ok(png.width >= 2 * charts.width && png.height >= 2 * charts.height, `${png.width}×${png.height} for ${Math.round(charts.width)}×${Math.round(charts.height)} shown`);
    // The charts' canvases are drawn: the series' colours appear below the title band.
    let coloured = 0;
    for (let i = png.width * 4 * 120; i < png.data.length; i += 4) {
      const [r, g, b] = png.data.subarray(i, i + 3);
      if (Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
    }
    assert.ok(coloured > 500, `series drawn in colour: ${coloured} pixels`);
  });
});

test('two checkpoints selected in the Models view → Compare: the table in the CLI\'s order', async () => {
  await s.guard('compare', async () => {
    const a = s.workspaceInfo.models['tiny-gpt2'];
    const b = s.workspaceInfo.models['tiny-gpt2-init0.1'];
    const cli = JSON.parse(modelvisCli('compare', '--a', a, '--b', b, '--json'));
    await s.openActivity('ModelVis', 'Models');
    const first = await s.clickRow('Models', 'tiny-gpt2');
    const second = s.treeRow('Models', 'tiny-gpt2-init0.1');
    await second.click({ modifiers: ['Control'] });
    await second.click({ button: 'right' });
    await s.chooseMenuItem('Compare Checkpoints');
    void first;
    const frame = await s.webview('#compare-table tbody tr');
    const names = await frame.locator('#compare-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
    assert.deepEqual(names, cli.tensors.map((t) => t.name));
    await frame.locator('#compare-diff-image').waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    await s.panelScreenshot('compare-panel');
    // Save PNG of the chosen tensor's difference and histograms, titled.
    const shown = await frame.locator('#compare-detail .compare-detail').boundingBox();
    const bytes = await s.saveFromPanel(frame, '#save-png', 'png');
    writeFileSync(join(screenshotsDir, 'compare-figure-export.png'), bytes);
    const png = PNG.sync.read(bytes);
    assert.ok(png.width >= 2 * shown.width && png.height > 2 * shown.height, `${png.width}×${png.height} for ${Math.round(shown.width)}×${Math.round(shown.height)} shown`);
  });
});
