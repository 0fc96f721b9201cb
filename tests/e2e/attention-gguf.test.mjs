// A quantized GGUF language model (stories260K in Q8_0, its tokenizer inside the file) as a user meets it:
// a .gguf file in the workspace, listed in the Models view, "Use for Visualization" from its context menu,
// then "Visualize Attention" on a selection from the editor's context menu. What the panel shows is checked
// against the CLI on the same file: the token ids (`tokenize --model FILE.gguf`) and the weights (`capture`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, fixturesDir, makeTempDir, modelvisCli, TIMEOUTS, waitFor, waitForLayers } from './harness.mjs';
import { readF32 } from './lib/safetensors.mjs';

const sentence = 'Lily went to the park with her mom.';
const FILE = 'stories260K-q8_0.gguf';
let s;
let scratch;

before(async () => {
  scratch = makeTempDir('mv-attn-gguf-ref-');
  s = await launch({
    name: 'attngguf',
    workspace: (dir) => {
      mkdirSync(join(dir, 'models'), { recursive: true });
      const gguf = join(dir, 'models', FILE);
      copyFileSync(join(fixturesDir, 'models', 'gguf', FILE), gguf);
      writeFileSync(join(dir, 'story.txt'), `Once upon a time.\n${sentence}\nThe end.\n`);
      return { gguf };
    },
    // No model set: the user picks the GGUF file in the Models view.
    settings: () => ({ 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('a GGUF file: Models view → Use for Visualization → Visualize Attention, tokens and weights as the CLI computes them', async () => {
  await s.guard('gguf', async () => {
    const model = s.workspaceInfo.gguf;
    const { ids } = JSON.parse(modelvisCli('tokenize', '--model', model, '--text', sentence, '--json'));
    const captured = join(scratch, 'capture.safetensors');
    modelvisCli('capture', '--model', model, '--text', sentence, '--what', 'attentions', '--out', captured);
    const n = ids.length;

    await s.openActivity('ModelVis', 'Models');
    const row = s.treeRow('Models', FILE);
    await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
    // The row says what the file holds once its tree has loaded: the quantized type among the dtypes.
    await waitFor(async () => /Q8_0/.test(await row.innerText()), { timeout: TIMEOUTS.host, message: 'the GGUF row with its Q8_0 tensors' });
    await row.click({ button: 'right' });
    await s.chooseMenuItem('Use for Visualization');
    await waitFor(async () => /in use/.test(await row.innerText()), { timeout: TIMEOUTS.host, message: 'the GGUF file in use' });
    await s.screenshot('gguf-models-view');

    await s.openFile('story.txt');
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Visualize Attention', box);
    const frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
    assert.match(await frame.locator('#run-meta').innerText(), new RegExp(`^${n} tokens · 5 layers × 8 heads · llama \\(causal\\)`));
    assert.deepEqual(await s.heatmapLabelIds(frame), ids, 'the ids the GGUF file\'s own tokenizer gives');

    await waitForLayers(frame, 5);
    await frame.locator('#layer-select').selectOption('4');
    await frame.locator('#head-select').selectOption('5');
    await frame.locator('#attention-heatmap[data-layer="4"][data-head="5"][data-status="ready"] img[data-loaded="true"]').waitFor();
    const [q, k] = [n - 1, 2];
    const shown = await s.readHeatmapCell(frame, n, q, k);
    const expected = readF32(captured, 'attentions.4').values[(5 * n + q) * n + k];
    assert.ok(Math.abs(shown - expected) < 1e-6, `read-out ${shown} = CLI capture ${expected}`);
    await s.page.locator('.statusbar-item', { hasText: `ModelVis: ${FILE} L4 H5` }).first().waitFor({ timeout: TIMEOUTS.host });
    await s.screenshot('gguf-attention-heatmap');
  });
});
