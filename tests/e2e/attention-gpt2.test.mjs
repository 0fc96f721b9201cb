// The attention panel end to end on a tiny GPT-2 (random weights, causal) and then a tiny BERT
// (bidirectional), each paired with the stories260K tokenizer in the test's own workspace (the
// fixtures ship no tokenizer for the tiny models; 512 ids fit their 1,000-id vocabularies).
// What the panel shows is checked against the CLI on the same folder: the token ids (`tokenize`)
// and the weights (`capture`): GPT-2's read-out above the diagonal is exactly 0, BERT's is not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, makeTempDir, modelvisCli, TIMEOUTS, waitFor, waitForLayers, withStoriesTokenizer } from './harness.mjs';
import { readF32 } from './lib/safetensors.mjs';

const sentence = 'Lily went to the park with her mom.';
let s;
let scratch;


/** What the CLI computes for the sentence: ids and attentions.{l} as [heads, n, n]. */
function reference(model) {
  const { ids } = JSON.parse(modelvisCli('tokenize', '--model', model, '--text', sentence, '--json'));
  const file = join(scratch, `${model.split('/').pop()}.safetensors`);
  modelvisCli('capture', '--model', model, '--text', sentence, '--what', 'attentions', '--out', file);
  const n = ids.length;
  const weight = (l, hd, q, k) => readF32(file, `attentions.${l}`).values[(hd * n + q) * n + k];
  return { ids, n, weight };
}

before(async () => {
  scratch = makeTempDir('mv-attn-gpt2-ref-');
  s = await launch({
    name: 'attngpt2',
    workspace: (dir) => {
      const gpt2 = withStoriesTokenizer(dir, 'tiny-gpt2');
      const bert = withStoriesTokenizer(dir, 'tiny-bert');
      writeFileSync(join(dir, 'story.txt'), `Once upon a time.\n${sentence}\nThe end.\n`);
      return { gpt2, bert };
    },
    settings: (ws) => ({ 'modelvis.model': ws.gpt2, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Visualize Attention on the sentence; the heatmap frame once its PNG decoded. */
async function visualize() {
  await s.openFile('story.txt');
  const box = await s.selectText(sentence);
  await s.rightClickMenu('Visualize Attention', box);
  return s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
}


test('tiny GPT-2: tokens as the CLI reads them, causal heatmap, layers and heads, model view, editor hover and decorations', async () => {
  await s.guard('gpt2', async () => {
    const ref = reference(s.workspaceInfo.gpt2);
    const frame = await visualize();
    const meta = frame.locator('#run-meta');
    assert.match(await meta.innerText(), new RegExp(`^${ref.n} tokens · 2 layers × 4 heads · gpt2 \\(causal\\)`));
    assert.deepEqual(await s.heatmapLabelIds(frame), ref.ids, 'one label per token, the ids the CLI tokenizes');
    const labels = (await frame.locator('#heatmap-figure .token-label.query').allTextContents()).map((l) => l.trim());
    assert.ok(labels.includes('Lily') && labels.includes('<s>'), `readable labels: ${JSON.stringify(labels)}`);

    // Layer 1, head 2 (both layers streamed in by now), then the causal triangle in the data shown.
    await waitForLayers(frame, 2);
    await frame.locator('#layer-select').selectOption('1');
    await frame.locator('#head-select').selectOption('2');
    await frame.locator('#attention-heatmap[data-layer="1"][data-head="2"][data-status="ready"] img[data-loaded="true"]').waitFor();
    await s.page.locator('.statusbar-item', { hasText: 'ModelVis: tiny-gpt2 L1 H2' }).first().waitFor();
    const above = await s.readHeatmapCell(frame, ref.n, 3, 9);
    assert.equal(above, 0, 'GPT-2 is causal: query 3 never sees key 9');
    const below = await s.readHeatmapCell(frame, ref.n, 9, 3);
    assert.ok(Math.abs(below - ref.weight(1, 2, 9, 3)) < 1e-6, `read-out ${below} = capture ${ref.weight(1, 2, 9, 3)}`);
    assert.ok(below > 0);
    await s.screenshot('attention-gpt2-heatmap-dark');

    // Model view: 2 × 4 thumbnails; one opens its head in the heatmap.
    await frame.locator('#view-tabs button[data-view=grid]').click();
    await frame.locator('#grid img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#grid .grid-cell').count(), 8);
    await s.screenshot('attention-gpt2-grid-dark');
    await frame.locator('#grid .grid-cell[data-layer="0"][data-head="3"]').click();
    await frame.locator('#attention-heatmap[data-layer="0"][data-head="3"][data-status="ready"] img[data-loaded="true"]').waitFor();
    await s.page.locator('.statusbar-item', { hasText: 'ModelVis: tiny-gpt2 L0 H3' }).first().waitFor();

    // Editor: the cursor in "park" paints the range; hovering "mom" shows its keys (none after it).
    const park = await s.textBox('park');
    await s.page.mouse.click(park.x1 + 3, park.y);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'attention decorations in the editor' });
    await s.screenshot('attention-gpt2-editor-dark');
    const mom = ref.ids.indexOf(357); // "▁mom"
    const hover = await s.hoverText('mom', /Attention of/);
    assert.match(await hover.innerText(), new RegExp(`\\(token ${mom}\\) · tiny-gpt2 L0 H3`));
    const rows = await hover.locator('table tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    assert.equal(rows.length, 5, 'top-5 keys');
    for (const [, key, pct] of rows) {
      assert.ok(Number(key) <= mom, `causal: key ${key} ≤ query ${mom}`);
      assert.equal(pct, `${(ref.weight(0, 3, mom, Number(key)) * 100).toFixed(1)}%`, `weight of key ${key}`);
    }
    assert.equal(await hover.locator('img[alt*="across layers"]').count(), 1);
    await s.screenshot('attention-gpt2-hover-dark');

    // Escape clears the colours.
    await s.page.mouse.click(park.x1 + 3, park.y);
    await s.page.keyboard.press('Escape');
    await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'decorations cleared' });

    // Light theme: the same panel follows it.
    await s.runCommand('Preferences: Toggle between Light/Dark Themes');
    await waitFor(async () => (await s.page.locator('.monaco-workbench.vs').count()) > 0, { timeout: TIMEOUTS.action, message: 'light theme' });
    await frame.locator('#attention-heatmap[data-status="ready"]').waitFor();
    await s.screenshot('attention-gpt2-heatmap-light');
  });
});

test('tiny BERT: bidirectional, weights above the diagonal', async () => {
  await s.guard('bert', async () => {
    const ref = reference(s.workspaceInfo.bert);
    // Switch the model from the Models view, as a user would.
    await s.openActivity('ModelVis', 'Models');
    const row = s.treeRow('Models', 'tiny-bert');
    await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    await row.click({ button: 'right' });
    await s.chooseMenuItem('Use for Visualization');
    await waitFor(async () => /in use/.test(await row.innerText()), { timeout: TIMEOUTS.host, message: 'tiny-bert in use' });

    const frame = await visualize();
    const meta = frame.locator('#run-meta');
    await waitFor(async () => /bert \(bidirectional\)/.test(await meta.innerText()), { timeout: TIMEOUTS.host, message: 'the BERT run in the panel' });
    await frame.locator('#attention-heatmap[data-status="ready"] img[data-loaded="true"]').waitFor();
    assert.deepEqual(await s.heatmapLabelIds(frame), ref.ids);
    await waitForLayers(frame, 2);
    await frame.locator('#layer-select').selectOption('1');
    await frame.locator('#head-select').selectOption('0');
    await frame.locator('#attention-heatmap[data-layer="1"][data-head="0"][data-status="ready"] img[data-loaded="true"]').waitFor();
    const above = await s.readHeatmapCell(frame, ref.n, 3, 9);
    assert.ok(above > 0, `BERT attends forward: query 3 → key 9 = ${above}`);
    assert.ok(Math.abs(above - ref.weight(1, 0, 3, 9)) < 1e-6, `read-out ${above} = capture ${ref.weight(1, 0, 3, 9)}`);
    await s.screenshot('attention-bert-heatmap-light');

    // The editor paints keys on both sides of the token; the command clears them.
    const park = await s.textBox('park');
    await s.page.mouse.click(park.x1 + 3, park.y);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'BERT decorations' });
    await s.runCommand('ModelVis: Clear Attention');
    await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'decorations cleared by the command' });
  });
});
