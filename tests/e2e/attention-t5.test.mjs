// An encoder-decoder in the attention panel: tiny-t5 (random weights) with t5-small's tokenizer
// (lib/tiny-t5.mjs). The selection is the source; the target box holds the model's own greedy output
// (the CLI's `generate`); the cross-attention heatmap has target rows and source columns with the
// weights `capture` computes for the same ids; hovering a target row paints its alignment on the
// selection; a typed target runs again; the encoder's and decoder's self-attention are one click away; the
// decoder's logit attribution (self- and cross-attention heads, feed-forward) equals the CLI's `dla`, and the source
// tokens' gradient attribution of the last target position equals the CLI's `attribute`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, fixturesDir, makeTempDir, modelvisCli, TIMEOUTS, waitFor } from './harness.mjs';
import { readF32 } from './lib/safetensors.mjs';
import { tinyT5WithTokenizer } from './lib/tiny-t5.mjs';

const source = 'translate English to German: The house is wonderful.';
let s;
let scratch;

before(async () => {
  scratch = makeTempDir('mv-attn-t5-ref-');
  s = await launch({
    name: 'attnt5',
    workspace: (dir) => {
      const t5 = tinyT5WithTokenizer(fixturesDir, join(dir, 'models', 'tiny-t5'));
      writeFileSync(join(dir, 'translate.txt'), `Sentences to translate.\n${source}\nThe end.\n`);
      return { t5 };
    },
    settings: (ws) => ({ 'modelvis.model': ws.t5, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * Checks one axis's labels against the ids it should show: every label's id (its title is `i: "raw" (id N)`) is
 * `ids[i]`, the first and every token have a label when they fit (long axes are thinned to every k-th token).
 */
async function assertLabels(frame, axis, ids) {
  const titles = await frame.locator(`#heatmap-figure .token-label.${axis}`).evaluateAll((els) => els.map((e) => e.getAttribute('title')));
  const shown = titles.map((t) => /^(\d+): .* \(id (\d+)\)$/.exec(t)).map((m) => [Number(m[1]), Number(m[2])]);
  assert.ok(shown.length > 0 && shown[0][0] === 0, `${axis} labels start at token 0`);
  for (const [i, id] of shown) assert.equal(id, ids[i], `${axis} label ${i}`);
  if (ids.length <= 20) assert.equal(shown.length, ids.length, `every ${axis} token labelled`);
}

/** Moves the mouse over cell (q, k) of a rows × cols heatmap and returns the read-out's weight. */
async function readCell(frame, rows, cols, q, k) {
  const ib = await frame.locator('#heatmap-figure .matrix-plot img').boundingBox();
  await s.page.mouse.move(ib.x + ((k + 0.5) * ib.width) / cols, ib.y + ((q + 0.5) * ib.height) / rows);
  const readout = frame.locator('#heatmap-figure-readout');
  await waitFor(async () => (await readout.getAttribute('data-query')) === String(q) && (await readout.getAttribute('data-key')) === String(k) && (await readout.getAttribute('data-weight')) !== '', {
    message: `read-out of cell (${q}, ${k})`,
  });
  return Number(await readout.getAttribute('data-weight'));
}


/** Clears the editor's colours (the cursor's encoder attention) with the command, and waits until none is left. */
async function clearEditor() {
  await s.runCommand('ModelVis: Clear Attention');
  await waitFor(async () => (await s.paintedDecorations()) === 0, { message: 'decorations cleared' });
}

test('T5: the greedy target, the cross-attention as an alignment painted on the source, a typed target, encoder and decoder self-attention', async () => {
  await s.guard('t5', async () => {
    const model = s.workspaceInfo.t5;
    const { ids } = JSON.parse(modelvisCli('tokenize', '--model', model, '--text', source, '--json'));
    const greedy = JSON.parse(modelvisCli('generate', '--model', model, '--text', source, '--max-new', '48', '--json'));

    await s.openFile('translate.txt');
    const box = await s.selectText(source);
    await s.rightClickMenu('Visualize Attention', box);
    const frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#run-meta').innerText(), new RegExp(`^${ids.length} source tokens · ${greedy.generatedIds.length + 1} target tokens · encoder 2 layers, decoder 3 layers × 4 heads · t5 \\(encoder-decoder\\)`));
    assert.equal(await frame.locator('#target-text').inputValue(), greedy.text, "the target box holds the model's greedy output");
    assert.equal(await frame.locator('#kind-cross').getAttribute('aria-checked'), 'true', 'cross-attention first');
    assert.deepEqual(await frame.locator('#view-tabs button').allInnerTexts(), ['Heatmap', 'Logit attribution', 'Attribution'],
      'the heatmap, the decoder\'s logit attribution and the source tokens\' attribution for an encoder-decoder');
    // Rows: the decoder start token, then the greedy output; columns: the source as the CLI tokenizes it.
    const decoderIds = [0, ...greedy.generatedIds];
    await assertLabels(frame, 'query', decoderIds);
    await assertLabels(frame, 'key', ids);

    // Layer 2, head 1 of the cross-attention against the CLI's capture of the same ids.
    const file = join(scratch, 'greedy.safetensors');
    modelvisCli('capture', '--model', model, '--ids', ids.join(','), '--decoder-ids', decoderIds.join(','), '--what', 'attentions', '--out', file);
    const cross = readF32(file, 'cross_attentions.2').values;
    await frame.locator('#layer-select').selectOption('2');
    await frame.locator('#head-select').selectOption('1');
    await frame.locator('#attention-heatmap[data-layer="2"][data-head="1"][data-status="ready"] img[data-loaded="true"]').waitFor();
    const m = decoderIds.length, n = ids.length;
    const q = Math.min(2, m - 1), k = 3;
    const w = await readCell(frame, m, n, q, k);
    assert.ok(Math.abs(w - cross[(1 * m + q) * n + k]) < 1e-6, `read-out ${w} = capture ${cross[(1 * m + q) * n + k]}`);
    // Hovering target row q paints its source weights on the selection (after clearing what the cursor painted, so
    // what shows is the alignment alone).
    await clearEditor();
    await readCell(frame, m, n, q + 1, k);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'the alignment painted on the source' });
    assert.ok((await frame.locator('#alignment-list li').count()) > 0, 'the alignment list');
    await s.screenshot('attention-t5-cross-greedy-dark');

    // A typed target runs again: its tokens become the rows.
    const target = 'Das Haus ist wunderbar.';
    await frame.locator('#target-text').fill(target);
    await frame.locator('#target-text').press('Enter');
    await waitFor(async () => (await frame.locator('#target-note').innerText()).startsWith('Your target'), { timeout: TIMEOUTS.host, message: 'the run with the typed target' });
    await frame.locator('#attention-heatmap[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    const { ids: targetIds } = JSON.parse(modelvisCli('tokenize', '--model', model, '--text', target, '--json'));
    await assertLabels(frame, 'query', [0, ...targetIds]);
    const rowLabels = (await frame.locator('#heatmap-figure .token-label.query').allTextContents()).map((l) => l.trim());
    assert.ok(rowLabels.includes('Haus'), `readable target labels: ${JSON.stringify(rowLabels)}`);
    await clearEditor();
    await readCell(frame, targetIds.length + 1, n, 2, 1);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'the typed target aligned on the source' });
    await s.screenshot('attention-t5-cross-typed-dark');

    // Encoder self-attention: square over the source, at most the encoder's 2 layers.
    await frame.locator('#kind-encoder').click();
    await frame.locator('#attention-heatmap[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    await assertLabels(frame, 'query', ids);
    assert.equal(await frame.locator('#layer-select option').count(), 2);
    await s.screenshot('attention-t5-encoder-dark');
    // Decoder self-attention: causal over the target.
    await frame.locator('#kind-decoder').click();
    await frame.locator('#attention-heatmap[data-status="ready"] img[data-loaded="true"]').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await readCell(frame, targetIds.length + 1, targetIds.length + 1, 1, 4), 0, 'the decoder never sees a later target token');
    await s.screenshot('attention-t5-decoder-dark');

    // Logit attribution of the decoder's last position: self- and cross-attention heads and feed-forward blocks, as `dla` says.
    const dla = JSON.parse(modelvisCli('dla', '--model', model, '--ids', ids.join(','), '--decoder-ids', [0, ...targetIds].join(','), '--json'));
    await frame.locator('#view-tabs button[data-view=dla]').click();
    await frame.locator('#dla-view[data-status="ready"] #dla-cross-grid').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#dla-position option').count(), targetIds.length + 1, 'a position per target token');
    const values = (sel) => frame.locator(sel).evaluateAll((els) => els.map((e) => ({ ...e.dataset, value: Number(e.getAttribute('data-value')) })));
    const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-6 * (1 + Math.abs(b)), `${what}: panel ${a} = CLI ${b}`);
    const selfParts = await values('#dla-grid .circuit-cell[data-layer][data-head]');
    const crossParts = await values('#dla-cross-grid .circuit-cell[data-layer][data-head]');
    assert.equal(selfParts.length, 12);
    assert.equal(crossParts.length, 12);
    for (const c of selfParts) near(c.value, dla.heads[c.layer][c.head], `self-attention L${c.layer}H${c.head}`);
    for (const c of crossParts) near(c.value, dla.cross_heads[c.layer][c.head], `cross-attention L${c.layer}H${c.head}`);
    for (const c of await values('#dla-grid .circuit-cell[data-mlp]')) near(c.value, dla.mlp[c.mlp], `feed-forward ${c.mlp}`);
    assert.ok(Math.abs(dla.residual) < 1e-4, `the parts add up to the logit (residual ${dla.residual})`);
    assert.deepEqual(await frame.locator('#dla-approximations li').allInnerTexts(), dla.approximations);
    await s.screenshot('attention-t5-dla-dark');

    // Gradient attribution of the last target position's prediction to the source tokens, as `attribute` says.
    const attr = JSON.parse(modelvisCli('attribute', '--model', model, '--ids', ids.join(','), '--decoder-ids', [0, ...targetIds].join(','),
      '--method', 'ig', '--steps', '64', '--json'));
    await clearEditor();
    await frame.locator('#view-tabs button[data-view=attribution]').click();
    await frame.locator('#attribution-view[data-status="ready"] #attr-tokens').waitFor({ timeout: TIMEOUTS.host });
    assert.equal(await frame.locator('#attr-position option').count(), targetIds.length + 1, 'a position per target token');
    assert.match(await frame.locator('#attr-what').innerText(), new RegExp(`at target position ${targetIds.length} `));
    const chips = await values('#attr-tokens .attr-token');
    assert.equal(chips.length, ids.length, 'a score per source token');
    for (const c of chips) near(c.value, attr.scores[Number(c.pos)], `source token ${c.pos}`);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'the scores painted on the source' });
    await s.screenshot('attention-t5-attribution-dark');
  });
});
