// The attention panel end to end on the real stories260K model: Visualize Attention on a selection,
// the tokens in the heatmap, layer/head switching, the model view and a thumbnail, the head view,
// rollout, the editor decorations and hover, clearing with Escape; screenshots in dark and light.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, makeSampleWorkspace, TIMEOUTS, waitFor, waitForLayers } from './harness.mjs';

let s;

before(async () => {
  s = await launch({
    name: 'attnpanel',
    vsix: process.env.MODELVIS_VSIX,
    workspace: (dir) => makeSampleWorkspace(dir, { models: ['tiny-gpt2', 'stories260K'] }),
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
});


test('attention panel: tokens, layers and heads, model view, head view, rollout, editor decorations', async () => {
  await s.guard('attention panel', async () => {
    const { pythonName, sentence } = s.workspaceInfo;
    await s.openFile(pythonName);
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Visualize Attention', box);

    const frame = await s.webview('#attention-heatmap img[data-loaded="true"]', { timeout: TIMEOUTS.host });
    // The tokens as stories260K reads them (Llama sentencepiece: BOS, then ▁-prefixed pieces).
    const labels = await frame.locator('#heatmap-figure .token-label.query').allTextContents();
    process.stderr.write(`[e2e] attention tokens: ${JSON.stringify(labels)}\n`);
    assert.ok(labels.length >= 8, 'a label per token');
    assert.ok(labels.some((l) => l.trim() === 'Lily'), 'readable " Lily"');
    assert.match(await frame.locator('#run-meta').innerText(), /tokens · 5 layers × 8 heads/);
    // The corner's "query ↓ / key →" ends left of every key label (the first, <s>, included), clear by a few px.
    const corner = await frame.locator('#heatmap-figure .corner .axis-name').boundingBox();
    const keyBoxes = await Promise.all((await frame.locator('#heatmap-figure .key-labels .token-label').all()).map((l) => l.boundingBox()));
    const keyLeft = Math.min(...keyBoxes.map((b) => b.x));
    assert.ok(corner.x + corner.width + 4 <= keyLeft, `axis name ${JSON.stringify(corner)} clear of the first key label at x = ${keyLeft}`);

    // Hover read-out from attention/matrix.
    const img = frame.locator('#heatmap-figure .matrix-plot img');
    const ib = await img.boundingBox();
    await s.page.mouse.move(ib.x + ib.width * 0.3, ib.y + ib.height * 0.8);
    await waitFor(async () => /query \d+ .* key \d+ .*: [\d.e-]+$/.test(await frame.locator('#heatmap-figure-readout').innerText()), { message: 'heatmap read-out' });

    // Layer and head: dropdowns (layers stream in; all 5 are done by now).
    await waitForLayers(frame, 5);
    await frame.locator('#layer-select').selectOption('3');
    await frame.locator('#head-select').selectOption('5');
    await frame.locator('#attention-heatmap[data-layer="3"][data-head="5"][data-status="ready"]').waitFor();
    await frame.locator('#head-select').selectOption('mean');
    await frame.locator('#attention-heatmap[data-head="mean"][data-status="ready"]').waitFor();
    await s.page.locator('.statusbar-item', { hasText: 'ModelVis: stories260K L3 Hmean' }).first().waitFor();
    await s.screenshot('attention-heatmap-dark');

    // Model view: a thumbnail opens its head.
    await frame.locator('#view-tabs button[data-view=grid]').click();
    await frame.locator('#grid img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#grid .grid-cell').count(), 40);
    await s.screenshot('attention-grid-dark');
    await frame.locator('#grid .grid-cell[data-layer="2"][data-head="4"]').click();
    await frame.locator('#attention-heatmap[data-layer="2"][data-head="4"][data-status="ready"]').waitFor();

    // Head view: lines; the threshold thins them.
    await frame.locator('#view-tabs button[data-view=headview]').click();
    await frame.locator('#headview[data-status="ready"] svg line').first().waitFor({ state: 'attached', timeout: TIMEOUTS.host });
    const before = await frame.locator('#headview svg line').count();
    await frame.locator('#headview-threshold').fill('0.5');
    const afterCount = await frame.locator('#headview svg line').count();
    assert.ok(afterCount < before, `threshold hides lines (${before} → ${afterCount})`);
    await frame.locator('#headview .hv-token.query').nth(3).hover();
    await s.screenshot('attention-headview-dark');

    // Rollout and flow.
    await frame.locator('#view-tabs button[data-view=rollout]').click();
    await frame.locator('#rollout[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    await frame.locator('#rollout-flow').check();
    await frame.locator('#rollout[data-method="flow"][data-status="ready"], #rollout[data-method="flow"][data-status="error"]').waitFor({ timeout: TIMEOUTS.host });

    // Logit lens.
    await frame.locator('#view-tabs button[data-view=lens]').click();
    await frame.locator('#lens[data-status="ready"] .lens-cell').first().waitFor({ timeout: TIMEOUTS.host });
    await frame.locator('#lens .lens-cell[data-layer="5"][data-pos="2"]').click();
    await frame.locator('#lens-next-rank').waitFor();
    await s.screenshot('attention-lens-dark');

    // Back to the heatmap; editor: put the cursor in "park" → decorations.
    await frame.locator('#view-tabs button[data-view=heatmap]').click();
    const park = await s.textBox('park');
    await s.page.mouse.click(park.x1 + 3, park.y);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'attention decorations in the editor' });
    await s.screenshot('attention-editor-dark');

    // Hover preview inside the range.
    const hover = await s.hoverText('mom', /Attention of/);
    assert.match(await hover.innerText(), /%/);
    assert.equal(await hover.locator('img[alt*="across layers"]').count(), 1);

    // Escape clears.
    await s.page.mouse.click(park.x1 + 3, park.y);
    await s.page.keyboard.press('Escape');
    await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'decorations cleared' });

    // Light theme.
    await s.runCommand('Preferences: Toggle between Light/Dark Themes');
    await waitFor(async () => (await s.page.locator('.monaco-workbench.vs').count()) > 0, { timeout: TIMEOUTS.action, message: 'light theme' });
    await frame.locator('#attention-heatmap[data-status="ready"]').waitFor();
    await s.screenshot('attention-heatmap-light');
    await frame.locator('#view-tabs button[data-view=headview]').click();
    await frame.locator('#headview[data-status="ready"] svg line').first().waitFor({ state: 'attached', timeout: TIMEOUTS.host });
    await s.screenshot('attention-headview-light');
  });
});
