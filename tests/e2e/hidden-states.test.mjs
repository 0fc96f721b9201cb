// The hidden-state tabs of the attention panel end to end on the real stories260K model: the logit
// lens against the CLI's `lens`, the neurons tab against the CLI's `neurons` and a neuron painted in
// the editor (and cleared), the NMF components over the tokens, the geometry view (PCA points, the
// similarity diagonal, a token's trajectory, norms), the hidden-state image against the CLI's
// `capture`, Save JSON / Save PNG through VS Code's save dialog; screenshots in dark and light.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, makeSampleWorkspace, makeTempDir, modelvisCli, screenshotsDir, TIMEOUTS, waitFor, waitForLayers } from './harness.mjs';
import { readF32 } from './lib/safetensors.mjs';

let s;
let scratch;


before(async () => {
  scratch = makeTempDir('mv-hidden-ref-');
  s = await launch({
    name: 'hidden',
    workspace: (dir) => makeSampleWorkspace(dir, { models: ['stories260K'] }),
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('hidden-state tabs: lens and neurons match the CLI, a neuron painted in the editor, NMF, geometry, hidden image, export', async () => {
  await s.guard('hidden-state tabs', async () => {
    const { pythonName, sentence } = s.workspaceInfo;
    const model = s.workspaceInfo.models.stories260K;
    await s.openFile(pythonName);
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Visualize Attention', box);
    const frame = await s.webview('#attention-heatmap img[data-loaded="true"]', { timeout: TIMEOUTS.host });
    const n = Number(await frame.locator('#run-meta').getAttribute('data-n'));
    await waitForLayers(frame, 5);

    // ---- Logit lens: every cell's top-1 token is the CLI's.
    const lens = JSON.parse(modelvisCli('lens', '--model', model, '--text', sentence, '--top', '1', '--json'));
    assert.equal(lens.ids.length, n, 'the panel and the CLI read the same tokens');
    await frame.locator('#view-tabs button[data-view=lens]').click();
    await frame.locator('#lens[data-status="ready"] .lens-cell').first().waitFor({ timeout: TIMEOUTS.host });
    const cells = await frame.locator('#lens .lens-cell').evaluateAll((els) => els.map((e) => [Number(e.dataset.layer), Number(e.dataset.pos), Number(e.dataset.id)]));
    assert.equal(cells.length, lens.layers.length * n, 'a cell per hidden state and position');
    for (const [k, pos, id] of cells) assert.equal(id, lens.layers[k][pos][0].id, `top-1 at hidden state ${k}, position ${pos}`);
    // The last layer after "<s> Lily" reads the model's own prediction; the rank read-out names the next token.
    await frame.locator(`#lens .lens-cell[data-layer="${lens.layers.length - 1}"][data-pos="1"]`).click();
    assert.match(await frame.locator('#lens-next-rank').innerText(), /Actual next token “.+”: rank \d+, probability [\d.]+%/);
    // The rank image: a label per token down the side, hidden states 0..5 across, clear of the corner's name.
    const K = lens.layers.length;
    const rankFig = frame.locator('#lens-rank-figure');
    assert.deepEqual(await rankFig.locator('.dim-tick').allTextContents(), Array.from({ length: K }, (_, k) => String(k)), 'a tick per hidden state');
    assert.equal(await rankFig.locator('.token-label').count(), n, 'a label per token');
    const cornerBox = await rankFig.locator('.corner .axis-name').boundingBox();
    const firstTick = await rankFig.locator('.dim-tick').first().boundingBox();
    assert.ok(cornerBox.x + cornerBox.width <= firstTick.x, `corner name ${JSON.stringify(cornerBox)} left of tick 0 ${JSON.stringify(firstTick)}`);
    // Hover read-out = the rank from the CLI's lens over the whole vocabulary (512 tokens): where the next
    // token stands in hidden state k's ranking at that position, from 1.
    const full = JSON.parse(modelvisCli('lens', '--model', model, '--text', sentence, '--top', '512', '--json'));
    // Hovered through the locator, which scrolls the picture into view each time (the page below it changes height).
    const rankImg = rankFig.locator('.matrix-plot img');
    const rb = await rankImg.boundingBox();
    for (const [pos, k] of [[1, K - 1], [3, 2], [n - 2, 0]]) {
      const expected = full.layers[k][pos].findIndex((e) => e.id === full.ids[pos + 1]) + 1;
      assert.ok(expected >= 1, `the next token is in the CLI's ranking at ${pos}, ${k}`);
      await rankImg.hover({ position: { x: ((k + 0.5) * rb.width) / K, y: ((pos + 0.5) * rb.height) / n } });
      const readout = frame.locator(`#lens-rank-readout[data-row="${pos}"][data-col="${k}"]`);
      await readout.waitFor();
      assert.equal(Number(await readout.getAttribute('data-rank')), expected, `rank at position ${pos}, hidden state ${k}`);
      assert.match(await readout.innerText(), new RegExp(`^\\(“.+” ${pos}, (hidden state ${k}|model output)\\) = rank ${expected}$`));
    }
    await rankImg.hover({ position: { x: rb.width / (2 * K), y: rb.height - rb.height / (2 * n) } });
    await frame.locator(`#lens-rank-readout[data-row="${n - 1}"][data-col="0"]`).waitFor();
    assert.match(await frame.locator('#lens-rank-readout').innerText(), /= no next token$/);
    await s.panelScreenshot('hidden-lens-dark');
    // Export: the numbers are the CLI's, the picture is the grid and the rank image as shown.
    const lensJson = JSON.parse(await s.saveFromPanel(frame, '#save-json', 'json'));
    assert.equal(lensJson.view, 'logit-lens');
    assert.deepEqual(lensJson.layers.map((l) => l.map((p) => p[0].id)), lens.layers.map((l) => l.map((p) => p[0].id)));
    assert.equal(lensJson.nextRank[lens.layers.length - 1][n - 1], -1, 'no next token after the last');
    writeFileSync(join(screenshotsDir, 'hidden-lens-dark-export.png'), await s.saveFromPanel(frame, '#save-png', 'png'));

    // ---- Neurons of layer 1: the CLI's top 20, in order; the first painted in the editor.
    const neurons = JSON.parse(modelvisCli('neurons', '--model', model, '--text', sentence, '--layer', '1', '--top', '20', '--json'));
    await frame.locator('#view-tabs button[data-view=neurons]').click();
    await frame.locator('#neurons[data-status="ready"]').waitFor({ timeout: TIMEOUTS.host });
    await frame.locator('#neuron-layer').selectOption('1');
    await frame.locator('#neurons[data-status="ready"] .neuron').first().waitFor({ timeout: TIMEOUTS.host });
    const listed = await frame.locator('#neuron-list .neuron').evaluateAll((els) => els.map((e) => Number(e.dataset.neuron)));
    assert.deepEqual(listed, neurons.neurons.map((x) => x.neuron));
    const top = neurons.neurons[0];
    // The run's attention paints the token under the cursor: clear it, so what follows is the neuron's.
    await s.runCommand('ModelVis: Clear Attention');
    await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'attention decorations cleared' });
    await frame.locator(`#neuron-list .neuron[data-neuron="${top.neuron}"]`).click();
    await frame.locator(`#neuron-detail[data-neuron="${top.neuron}"] .neuron-token`).first().waitFor();
    assert.equal(await frame.locator('#neuron-detail .neuron-token').count(), n);
    // Tokens with a positive activation and a place in the text get a colour (the BOS has none).
    const positive = top.activations.filter((a, i) => a > 0 && i > 0).length;
    const count = await waitFor(async () => { const c = await s.paintedDecorations(); return c > 0 ? c : null; }, { timeout: TIMEOUTS.host, message: 'neuron decorations in the editor' });
    assert.ok(count <= positive, `at most one decoration per positive token (${count} for ${positive})`);
    // The deepest colour sits on the token where the neuron peaks (CLI's argMax), not where the cursor is.
    const peak = neurons.tokens[top.argMax].replace(/^▁/, '');
    const word = sentence.split(/[\s.]/).find((w) => w.endsWith(peak) || w === peak);
    const wb = await s.textBox(word);
    const strongest = await s.editor().evaluate((el) => {
      const alpha = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); const p = m ? m[1].split(',').map(Number) : []; return p.length === 4 ? p[3] : 1; };
      const ds = [...el.querySelectorAll('.view-overlays div')].filter((e) => /ced-/.test(e.className) && getComputedStyle(e).backgroundColor !== 'rgba(0, 0, 0, 0)');
      const best = ds.sort((a, b) => alpha(getComputedStyle(b).backgroundColor) - alpha(getComputedStyle(a).backgroundColor))[0];
      const r = best.getBoundingClientRect();
      return { x1: r.left, x2: r.right };
    });
    const charWidth = (wb.x2 - wb.x1) / word.length;
    assert.ok(Math.abs(strongest.x2 - wb.x2) < charWidth / 2 && Math.abs(strongest.x2 - strongest.x1 - peak.length * charWidth) < charWidth / 2,
      `strongest decoration ${JSON.stringify(strongest)} covers “${peak}” at the end of “${word}” ${JSON.stringify(wb)}`);
    await s.panelScreenshot('hidden-neurons-editor-dark');
    const neuronsJson = JSON.parse(await s.saveFromPanel(frame, '#save-json', 'json'));
    assert.deepEqual(neuronsJson.top.map((x) => x.neuron), listed);
    assert.equal(neuronsJson.painted.neuron, top.neuron);
    neuronsJson.painted.activations.forEach((a, i) => assert.ok(Math.abs(a - top.activations[i]) < 1e-5, `activation ${i}: ${a} vs CLI ${top.activations[i]}`));
    await s.runCommand('ModelVis: Clear Attention');
    await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'neuron decorations cleared' });

    // ---- NMF: a colour per token, the component count control, one component alone.
    await frame.locator('#view-tabs button[data-view=nmf]').click();
    await frame.locator('#nmf[data-status="ready"][data-components="3"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#nmf-tokens .nmf-token').count(), n);
    await frame.locator('#nmf-layer').selectOption('2');
    await frame.locator('#nmf-components').selectOption('2');
    await frame.locator('#nmf[data-status="ready"][data-layer="2"][data-components="2"]').waitFor({ timeout: TIMEOUTS.host });
    const colouring = await frame.locator('#nmf-tokens .nmf-token').evaluateAll((els) => els.map((e) => [Number(e.dataset.component), Number(e.dataset.strength)]));
    assert.equal(colouring.length, n);
    // Strength is a share of the component's peak: within 0..1, and 1 where the peak is.
    assert.ok(colouring.every(([comp, st]) => comp >= -1 && comp < 2 && st >= 0 && st <= 1), JSON.stringify(colouring));
    assert.ok(colouring.some(([comp, st]) => comp >= 0 && st === 1), `some token at full colour: ${JSON.stringify(colouring)}`);
    await frame.locator('#nmf-legend .nmf-component[data-component="1"]').click();
    await frame.locator('#nmf-tokens[data-focus="1"]').waitFor();
    assert.ok((await frame.locator('#nmf-tokens .nmf-token').evaluateAll((els) => els.every((e) => e.dataset.component === '1'))), 'one component alone');
    await s.panelScreenshot('hidden-nmf-dark');
    const nmfJson = JSON.parse(await s.saveFromPanel(frame, '#save-json', 'json'));
    assert.equal(nmfJson.view, 'nmf');
    assert.equal(nmfJson.tokenWeights.length, 2);
    assert.equal(nmfJson.tokenWeights[0].length, n);
    assert.deepEqual(nmfJson.dominant.map((d) => d.component), colouring.map(([c]) => c), 'the colours are the exported factorisation\'s');
    writeFileSync(join(screenshotsDir, 'hidden-nmf-dark-export.png'), await s.saveFromPanel(frame, '#save-png', 'png'));

    // ---- Geometry: a PCA point per token, the similarity diagonal is 1, trajectories, norms.
    await frame.locator('#view-tabs button[data-view=geometry]').click();
    await frame.locator('#geometry[data-status="ready"] #similarity[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#pca-chart .pca-point').count(), n);
    assert.equal(await frame.locator('#pca-trajectory').getAttribute('data-points'), '6', 'the path visits hidden states 0..5');
    assert.equal(await frame.locator('#norm-chart .norm-line').count(), n);
    await frame.locator('#geometry-layer').fill('4');
    await frame.locator('#similarity[data-layer="4"][data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#pca-chart').getAttribute('data-layer'), '4');
    const sim = frame.locator('#similarity-figure .matrix-plot img');
    const sb = await sim.boundingBox();
    const cell = sb.width / n;
    for (const i of [2, n - 1]) {
      await s.page.mouse.move(sb.x + (i + 0.5) * cell, sb.y + (i + 0.5) * cell);
      await waitFor(async () => new RegExp(`” ${i}, “.*” ${i}\\) = 1$`).test(await frame.locator('#similarity-figure-readout').innerText()), { message: `cos(token ${i}, itself) = 1` });
    }
    await frame.locator('#pca-chart .pca-point[data-index="3"]').click();
    await frame.locator('#pca-trajectory[data-token="3"]').waitFor();
    // PCA labels: none covers another, every point has one or shows it on hover.
    const pcaLabels = await frame.locator('#pca-chart .pca-labels .pca-label').evaluateAll((els) => els.map((e) => { const b = e.getBoundingClientRect(); return { i: Number(e.dataset.index), x0: b.left, x1: b.right, y0: b.top, y1: b.bottom }; }));
    for (const a of pcaLabels) for (const b of pcaLabels) {
      if (a.i < b.i) assert.ok(a.x1 <= b.x0 + 0.5 || b.x1 <= a.x0 + 0.5 || a.y1 <= b.y0 + 0.5 || b.y1 <= a.y0 + 0.5, `labels ${a.i} and ${b.i} overlap`);
    }
    const onHover = await frame.locator('#pca-chart .pca-point[data-label="hover"]').evaluateAll((els) => els.map((e) => Number(e.dataset.index)));
    assert.deepEqual([...pcaLabels.map((l) => l.i), ...onHover].sort((a, b) => a - b), [...Array(n).keys()], 'each point labelled, or on hover');
    if (onHover.length > 0) {
      await frame.locator(`#pca-chart .pca-point[data-index="${onHover[0]}"]`).hover();
      await frame.locator(`#pca-chart .pca-hover-label .pca-label[data-index="${onHover[0]}"]`).waitFor();
    }
    assert.equal(await frame.locator('#trajectory-token').inputValue(), '3');
    await s.panelScreenshot('hidden-geometry-dark');

    // Save JSON: the view's numbers through VS Code's save dialog.
    const geometryJson = JSON.parse(await s.saveFromPanel(frame, '#save-json', 'json'));
    assert.equal(geometryJson.view, 'geometry');
    assert.equal(geometryJson.layer, 4);
    assert.equal(geometryJson.pca.length, 6);
    assert.equal(geometryJson.pca[4].x.length, n);
    assert.equal(geometryJson.similarity.length, n);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(geometryJson.similarity[i][i] - 1) < 1e-5, 'diagonal 1');
    // Save PNG: the view as drawn (kept beside the screenshots: it shows the whole view, not the panel's window).
    const png = await s.saveFromPanel(frame, '#save-png', 'png');
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
    assert.ok(png.readUInt32BE(16) > 300 && png.readUInt32BE(20) > 600, 'a picture of the whole view');
    writeFileSync(join(screenshotsDir, 'hidden-geometry-dark-export.png'), png);

    // ---- Hidden-state image: (token, dimension) read-out equals the CLI's capture of hidden_states.4.
    const captured = join(scratch, 'hidden.safetensors');
    modelvisCli('capture', '--model', model, '--text', sentence, '--what', 'hidden_states', '--out', captured);
    const h4 = readF32(captured, 'hidden_states.4');
    const width = h4.values.length / n;
    await frame.locator('#view-tabs button[data-view=hidden]').click();
    await frame.locator('#hidden-image[data-status="ready"][data-layer="4"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#hidden-image .token-label').count(), n, 'a label per token');
    const hb = await frame.locator('#hidden-image .matrix-plot img').boundingBox();
    for (const [row, col] of [[1, 0], [n - 1, width - 1], [5, 17]]) {
      await s.page.mouse.move(hb.x + ((col + 0.5) * hb.width) / width, hb.y + ((row + 0.5) * hb.height) / n);
      const readout = frame.locator(`#hidden-readout[data-row="${row}"][data-col="${col}"]`);
      await readout.waitFor();
      const v = Number(await readout.getAttribute('data-value'));
      assert.ok(Math.abs(v - h4.values[row * width + col]) < 1e-5, `h4[${row}, ${col}] = ${v}, CLI ${h4.values[row * width + col]}`);
    }
    const hiddenJson = JSON.parse(await s.saveFromPanel(frame, '#save-json', 'json'));
    assert.equal(hiddenJson.view, 'hidden-image');
    assert.equal(hiddenJson.values.length, n);
    assert.ok(Math.abs(hiddenJson.values[5][17] - h4.values[5 * width + 17]) < 1e-4);
    await s.panelScreenshot('hidden-image-dark');

    // ---- Light theme: the same tabs.
    await s.runCommand('Preferences: Toggle between Light/Dark Themes');
    await waitFor(async () => (await s.page.locator('.monaco-workbench.vs').count()) > 0, { timeout: TIMEOUTS.action, message: 'light theme' });
    await frame.locator('#hidden-image[data-status="ready"] img[data-loaded="true"]').waitFor();
    await s.panelScreenshot('hidden-image-light');
    await frame.locator('#view-tabs button[data-view=geometry]').click();
    await frame.locator('#geometry[data-status="ready"] #similarity[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    await s.panelScreenshot('hidden-geometry-light');
    writeFileSync(join(screenshotsDir, 'hidden-geometry-light-export.png'), await s.saveFromPanel(frame, '#save-png', 'png'));
    await frame.locator('#view-tabs button[data-view=nmf]').click();
    await frame.locator('#nmf[data-status="ready"]').waitFor({ timeout: TIMEOUTS.host });
    await s.panelScreenshot('hidden-nmf-light');
    // Keyboard: the tabs move with the arrow keys (Geometry is left of Hidden image).
    await frame.locator('#tab-nmf').focus();
    await s.page.keyboard.press('ArrowRight');
    await frame.locator('#tab-geometry[aria-selected="true"]').waitFor();
    await frame.locator('#geometry[data-status="ready"]').waitFor({ timeout: TIMEOUTS.host });
    await frame.locator('#view-tabs button[data-view=lens]').click();
    await frame.locator('#lens[data-status="ready"]').waitFor({ timeout: TIMEOUTS.host });
    await s.panelScreenshot('hidden-lens-light');
  });
});
