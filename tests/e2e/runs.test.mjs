// Training runs in a real VS Code: the Runs view lists a Lightning run copied into the workspace, its panel draws
// the CLI's series (checked point by point), the smoothing slider changes the smoothed line and not the raw one;
// two checkpoints selected in the Models view → Compare → the table in the CLI's order; a folder of checkpoints →
// each tensor's distribution over them, its extremes the values written.
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
      // A run that saved three checkpoints: w[i] = (k+1)·((i mod 21) − 10)/10 in checkpoint k, so its min is −(k+1) and its max k+1.
      const series = join(dir, 'series_run');
      mkdirSync(series, { recursive: true });
      writeFileSync(join(series, 'metrics.csv'), 'step,train_loss\n10,1.0\n20,0.8\n30,0.6\n');
      for (let k = 0; k < 3; k++) {
        const w = Float32Array.from({ length: 64 }, (_, i) => ((k + 1) * ((i % 21) - 10)) / 10);
        const b = Float32Array.from({ length: 8 }, (_, i) => k + i);
        writeSafetensors(join(series, `epoch=${k}-step=${10 * (k + 1)}.safetensors`), { w: [w, [8, 8]], b: [b, [8]] });
      }
      // A file to train a tiny model on (the loss curve's test): a few kilobytes of Python.
      const lines = [];
      for (let i = 0; i < 150; i++) lines.push(`def step_${i}(x, y):\n    total = x * ${i} + y\n    return total - ${i % 7}\n`);
      writeFileSync(join(dir, 'corpus.py'), lines.join('\n'));
      return { ...info, run, series };
    },
  });
});
after(async () => {
  await s?.close();
});

/** A safetensors file of F32 tensors: {name: [Float32Array, shape]}. */
function writeSafetensors(file, tensors) {
  const header = {};
  let offset = 0;
  for (const [name, [data, shape]] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([length, json, ...Object.values(tensors).map(([data]) => Buffer.from(data.buffer))]));
}

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

test('a run folder of checkpoints → Weight Histograms over Checkpoints: each tensor\'s distribution over the steps in the names', async () => {
  await s.guard('series', async () => {
    await s.openActivity('ModelVis', 'Runs');
    const row = s.treeRow('Runs', 'series_run');
    await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    await row.scrollIntoViewIfNeeded();
    await row.click({ button: 'right' });
    await s.chooseMenuItem('Weight Histograms over Checkpoints');
    const frame = await s.webview('.chart[data-histogram="w"][data-ready="true"]', { timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#runs-status').innerText(), /^3 checkpoints \(epoch=0-step=10\.safetensors, epoch=1-step=20\.safetensors, epoch=2-step=30\.safetensors\)/);
    const w = JSON.parse(await frame.locator('.chart[data-histogram="w"]').getAttribute('data-plotted'));
    // x: the steps; series 1 and 9: the 0 % and 100 % bands = each checkpoint's min and max as written.
    assert.deepEqual(w.data[0], [10, 20, 30]);
    assert.deepEqual(w.labels, ['0%', '6.68%', '15.87%', '30.85%', '50%', '69.15%', '84.13%', '93.32%', '100%']);
    const close = (got, want) => got.every((v, i) => Math.abs(v - want[i]) < 1e-6);
    assert.ok(close(w.data[1], [-1, -2, -3]), `minima ${w.data[1]}`);
    assert.ok(close(w.data[9], [1, 2, 3]), `maxima ${w.data[9]}`);
    // The median of a symmetric spread is near 0 at every checkpoint (within a bucket of the 30 over −3…3).
    assert.ok(w.data[5].every((v) => Math.abs(v) <= 0.2), `medians ${w.data[5]}`);
    // The second tensor's card loads on its own: b = k + i, so min k and max k + 7.
    await frame.locator('.chart[data-histogram="b"][data-ready="true"]').waitFor({ timeout: TIMEOUTS.host });
    const b = JSON.parse(await frame.locator('.chart[data-histogram="b"]').getAttribute('data-plotted'));
    assert.ok(close(b.data[1], [0, 1, 2]) && close(b.data[9], [7, 8, 9]), `b: ${b.data[1]} … ${b.data[9]}`);
    await s.panelScreenshot('checkpoint-series-distribution');
    await frame.locator('#runs-hist-offset').click();
    await frame.locator('.chart[data-histogram="w"][data-ready="true"]').waitFor({ timeout: TIMEOUTS.action });
    await s.panelScreenshot('checkpoint-series-offset');
  });
});

test('Train a Tiny Model on This File → Show loss curve: the Runs panel\'s chart follows train/loss; Cancel is said', async () => {
  await s.guard('loss-curve', async () => {
    await s.openFile('corpus.py');
    await s.runCommand('ModelVis: Train a Tiny Model on This File');
    const offer = s.page.locator('.notifications-toasts .notification-toast', { hasText: 'Show loss curve' }).first();
    await offer.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    await offer.locator('.monaco-button', { hasText: 'Show loss curve' }).click();
    const frame = await s.webview('#runs-status', { timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#runs-title').innerText(), /^Tiny model on corpus/);
    const step = await waitFor(async () => {
      const m = /^step ([\d,]+) of ([\d,]+), loss ([\d.]+) \(moving average\)/.exec(await frame.locator('#runs-status').innerText());
      return m && Number(m[1].replace(/,/g, '')) >= 10 ? m : null;
    }, { timeout: TIMEOUTS.host * 3, interval: 500, message: 'ten training steps on the curve' });
    assert.equal(step[2], '2,800');
    // The chart is the Runs panel's uPlot chart of the train/loss tag: steps from 1, one loss per step.
    const loss = await plotted(frame, 'train/loss');
    assert.equal(loss.data[0][0], 1);
    assert.ok(loss.data[0].every((x, i) => x === i + 1), 'one point per step');
    assert.ok(loss.data[1].every((v) => v > 0 && v < 20), `plausible losses: ${loss.data[1].slice(0, 5)}`);
    assert.ok((await frame.locator('.chart[data-tag="train/learning_rate"]').count()) === 1, 'the learning rate beside it');
    // New steps redraw the charts, not the controls: the smoothing slider is the same element a few steps later.
    const slider = await frame.locator('#runs-smoothing').elementHandle();
    const before = (await frame.locator('#runs-status').innerText()).split(',')[0];
    await waitFor(async () => (await frame.locator('#runs-status').innerText()).split(',')[0] !== before, { timeout: TIMEOUTS.host, message: 'another step' });
    assert.ok(await slider.evaluate((el) => el.isConnected), 'the slider survives the update');
    await s.panelScreenshot('loss-curve-runs-chart');
    // Cancel the training: the panel says so.
    const progress = s.page.locator('.notifications-toasts .notification-toast', { hasText: 'training a tiny model' }).first();
    await progress.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
    await waitFor(async () => /Cancelled: nothing was saved\./.test(await frame.locator('#runs-status').innerText()), { timeout: TIMEOUTS.host, message: 'the curve says cancelled' });
  });
});
