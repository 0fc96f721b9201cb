// Issue 19's views end to end: the model graph of ultraface (an ONNX operator graph: search, a node's folded
// tensors) and of stories260K (its block diagram: a block opened into attention and MLP, parameters equal to the
// file's), the embedding projector on a selection (a token search whose neighbours and cosines are the CLI's
// `neighbors`, PCA 3-D), and the activation-function view (a chart per layer); screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, launch, makeSampleWorkspace, modelvisCli, TIMEOUTS, waitFor } from './harness.mjs';

let s;

before(async () => {
  s = await launch({
    name: 'structure',
    workspace: (dir) => {
      const info = makeSampleWorkspace(dir, { models: ['stories260K'] });
      mkdirSync(join(dir, 'onnx'), { recursive: true });
      copyFileSync(join(fixturesDir, 'models', 'ultraface-rfb320', 'version-RFB-320.onnx'), join(dir, 'onnx', 'ultraface.onnx'));
      return info;
    },
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
});

/** Right-clicks a file in the Explorer and picks a menu item (the explorer may re-render: retried). */
async function explorerMenu(fileName, item) {
  const page = s.page;
  await page.keyboard.press('Control+Shift+E');
  const row = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: fileName }) }).first();
  await row.waitFor({ state: 'visible', timeout: TIMEOUTS.action });
  const entry = page.locator('.monaco-menu .action-item', { has: page.locator('.action-label', { hasText: item }) }).first();
  for (let attempt = 0; ; attempt++) {
    await row.click();
    await row.click({ button: 'right' });
    try {
      await entry.waitFor({ state: 'visible', timeout: 10_000 });
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await s.chooseMenuItem(item);
}

test('model graph: ultraface operators (search, folded tensors) and stories260K blocks (opened into attention and MLP)', async () => {
  await s.guard('model graph', async () => {
    // Open the onnx/ folder in the Explorer, then right-click the model.
    await s.page.keyboard.press('Control+Shift+E');
    await s.page.locator('.explorer-folders-view .monaco-list-row', { has: s.page.locator('.label-name', { hasText: /^onnx$/ }) }).first().click();
    await explorerMenu('ultraface.onnx', 'Show Model Graph');
    let frame = await s.webview('body[data-panel="graph"][data-state="ready"] .box', { timeout: TIMEOUTS.host });
    const boxes = Number(await frame.locator('body').getAttribute('data-boxes'));
    process.stderr.write(`[e2e] ultraface graph: ${boxes} boxes, layout ${await frame.locator('body').getAttribute('data-layout-ms')} ms\n`);
    assert.ok(boxes >= 20, `${boxes} boxes drawn`);
    assert.match(await frame.locator('.toolbar').innerText(), /nodes · .* edges · .* parameters/);
    await s.screenshot('graph-ultraface-dark');

    // Search "Conv": matches highlighted, the first centred, its folded weights listed.
    await frame.locator('[data-role="search"]').fill('Conv');
    await frame.locator('[data-role="search"]').press('Enter');
    await waitFor(async () => Number(await frame.locator('body').getAttribute('data-matches')) > 10, { message: 'Conv matches' });
    await frame.locator('.box.match').first().waitFor({ timeout: TIMEOUTS.action });
    const tensors = await frame.locator('[data-role="details"] [data-tensor]').allTextContents();
    assert.ok(tensors.length >= 1, 'the Conv node lists its weights');
    await s.screenshot('graph-ultraface-search-dark');

    // stories260K (the model in use) from the palette: embedding → 5 blocks → norm → head; block 0 opens.
    await s.runCommand('ModelVis: Show Model Graph');
    frame = await s.webview('body[data-panel="graph"][data-state="ready"] .box[data-id="block:model.layers.0"]', { timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('.box[data-id^="block:"]').count(), 5);
    await frame.locator('.box[data-id="block:model.layers.0"]').click();
    await frame.locator('.box[data-id="block:model.layers.0/attention"]').waitFor({ timeout: TIMEOUTS.action });
    await frame.locator('.box[data-id="block:model.layers.0/mlp"]').waitFor({ timeout: TIMEOUTS.action });
    assert.match(await frame.locator('[data-role="details"]').innerText(), /parameters/);
    await frame.locator('.box[data-id="block:model.layers.0/attention"]').click();
    const names = await frame.locator('[data-role="details"] [data-tensor]').allTextContents();
    assert.ok(names.some((n) => n.includes('self_attn.q_proj')), `attention tensors: ${names.join(', ')}`);
    await s.screenshot('graph-stories260K-dark');
  });
});

test('embedding projector: a token search lists the CLI neighbours with their cosines; PCA 3-D', async () => {
  await s.guard('projector', async () => {
    const { pythonName, sentence } = s.workspaceInfo;
    const model = s.workspaceInfo.models.stories260K;
    await s.openFile(pythonName);
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Embedding Projector', box);
    const frame = await s.webview('body[data-panel="projector"][data-state="ready"]', { timeout: TIMEOUTS.host });
    process.stderr.write(`[e2e] projector first picture: ${await frame.locator('body').getAttribute('data-first-picture-ms')} ms\n`);
    assert.match(await frame.locator('[data-role="status"]').innerText(), /512 points/);
    // The selection's tokens are labelled on the cloud.
    await waitFor(async () => (await frame.locator('.labels .label').count()) >= 5, { message: 'selection labels' });

    const cli = JSON.parse(modelvisCli('neighbors', '--model', model, '--token', 'the', '--k', '10', '--json'));
    await frame.locator('[data-role="search"]').fill('the');
    await frame.locator('[data-role="find"]').click();
    await frame.locator('[data-role="neighbors"] li[data-point]').nth(9).waitFor({ timeout: TIMEOUTS.host });
    const rows = await frame.locator('[data-role="neighbors"] li[data-point]').evaluateAll((els) =>
      els.map((e) => [Number(e.getAttribute('data-point')), Number(e.querySelector('.cosine').getAttribute('data-cosine'))]));
    assert.deepEqual(rows.map((r) => r[0]), cli.neighbors.map((x) => x.id), 'the same neighbours as the CLI');
    rows.forEach(([, c], i) => assert.ok(Math.abs(c - cli.neighbors[i].cosine) < 1e-6, `cosine ${i}: ${c} vs ${cli.neighbors[i].cosine}`));
    await s.screenshot('projector-search-dark');

    await frame.locator('[data-role="projection"]').selectOption('pca3');
    await s.page.waitForTimeout(500);
    await s.screenshot('projector-pca3-dark');
  });
});

test('activation functions: a chart per layer, near-zero and flat shares', async () => {
  await s.guard('activations', async () => {
    const { sentence } = s.workspaceInfo;
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Activation Functions', box);
    const frame = await s.webview('body[data-panel="activations"][data-state="ready"] figure.layer', { timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('figure.layer').count(), 5);
    for (const f of await frame.locator('figure.layer').all()) {
      const near = Number(await f.getAttribute('data-near-zero')), flat = Number(await f.getAttribute('data-flat'));
      assert.ok(near >= 0 && near <= 1 && flat >= 0 && flat <= 1);
      assert.equal(await f.locator('rect.bar').count(), 80);
      assert.equal(await f.locator('polyline.curve').count(), 1);
    }
    assert.match(await frame.locator('.toolbar').innerText(), /SiLU gate of a gated MLP/);
    await s.screenshot('activations-dark');
  });
});
