// The attention panel on the newer decoder families, as a user picks them from the Models view: Gemma 2
// (alternating sliding-window layers, attention soft-capping, (1 + w) norms) and GPT-NeoX (Pythia: partial rotary,
// parallel residual), each with the stories260K tokenizer beside its tiny fixture weights. What the panel shows
// is checked against the CLI on the same folder: token ids (`tokenize`) and a weight read out of the heatmap (`capture`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, makeTempDir, modelvisCli, TIMEOUTS, waitFor, waitForLayers, withStoriesTokenizer } from './harness.mjs';
import { readF32 } from './lib/safetensors.mjs';

const sentence = 'Lily went to the park with her mom.';
let s;
let scratch;

before(async () => {
  scratch = makeTempDir('mv-attn-families-ref-');
  s = await launch({
    name: 'families',
    workspace: (dir) => {
      const gemma2 = withStoriesTokenizer(dir, 'tiny-gemma2');
      const neox = withStoriesTokenizer(dir, 'tiny-gpt-neox');
      writeFileSync(join(dir, 'story.txt'), `Once upon a time.\n${sentence}\nThe end.\n`);
      return { gemma2, neox };
    },
    settings: () => ({ 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Picks the model in the Models view, runs Visualize Attention on the sentence, checks ids and one read-out against the CLI. */
async function family(folder, { name, meta, layers, layer, head }) {
  const { ids } = JSON.parse(modelvisCli('tokenize', '--model', folder, '--text', sentence, '--json'));
  const captured = join(scratch, `${name}.safetensors`);
  modelvisCli('capture', '--model', folder, '--text', sentence, '--what', 'attentions', '--out', captured);
  const n = ids.length;

  await s.openActivity('ModelVis', 'Models');
  const row = s.treeRow('Models', name);
  await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
  await row.click({ button: 'right' });
  await s.chooseMenuItem('Use for Visualization');
  await waitFor(async () => /in use/.test(await row.innerText()), { timeout: TIMEOUTS.host, message: `${name} in use` });

  await s.openFile('story.txt');
  const box = await s.selectText(sentence);
  await s.rightClickMenu('Visualize Attention', box);
  const frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
  await waitFor(async () => (await frame.locator('#run-meta').innerText()).startsWith(`${n} tokens · ${meta}`), { timeout: TIMEOUTS.host, message: `the ${name} run in the panel` });
  assert.deepEqual(await s.heatmapLabelIds(frame), ids, 'the ids the CLI tokenizes');

  await waitForLayers(frame, layers);
  await frame.locator('#layer-select').selectOption(String(layer));
  await frame.locator('#head-select').selectOption(String(head));
  await frame.locator(`#attention-heatmap[data-layer="${layer}"][data-head="${head}"][data-status="ready"] img[data-loaded="true"]`).waitFor();
  const [q, k] = [n - 1, 1];
  const shown = await s.readHeatmapCell(frame, n, q, k);
  const expected = readF32(captured, `attentions.${layer}`).values[(head * n + q) * n + k];
  assert.ok(Math.abs(shown - expected) < 1e-6, `${name}: read-out ${shown} = CLI capture ${expected}`);
  await s.screenshot(`attention-${name}`);
}

test('Gemma 2: sliding-window and soft-capped layers in the panel, as the CLI computes them', () =>
  s.guard('gemma2', () => family(s.workspaceInfo.gemma2, { name: 'tiny-gemma2', meta: '3 layers × 4 heads · gemma2 (causal)', layers: 3, layer: 2, head: 1 })));

test('GPT-NeoX (Pythia): partial rotary and parallel residual in the panel, as the CLI computes them', () =>
  s.guard('neox', () => family(s.workspaceInfo.neox, { name: 'tiny-gpt-neox', meta: '2 layers × 4 heads · gpt_neox (causal)', layers: 2, layer: 1, head: 3 })));
