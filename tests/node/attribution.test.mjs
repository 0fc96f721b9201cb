// Gradient attribution (issue 17) through vscode-jsonrpc on stories260K, and the CLI's `attribute` on the tiny
// fixture models, both against fixtures/expected/interp (README-interp.md section A) within its tolerances.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHost, hostDll, fixtures } from './host-client.mjs';

const lily = 'Lily went to the park with her mom.';

/** The F32/I64 tensors of a fixture's .safetensors file. */
function readSafetensors(file) {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets;
    const data = bytes.subarray(8 + headerLength + a, 8 + headerLength + b);
    out[name] = t.dtype === 'F32'
      ? Array.from({ length: data.length / 4 }, (_, i) => data.readFloatLE(i * 4))
      : Array.from({ length: data.length / 8 }, (_, i) => Number(data.readBigInt64LE(i * 8)));
  }
  return out;
}

function fixture(model, name) {
  const dir = join(fixtures, 'expected', 'interp', model);
  return { json: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')), tensors: readSafetensors(join(dir, `${name}.safetensors`)) };
}

/** README-interp's rule: max |ours − reference| ≤ atol + rtol · max |reference|. */
function within(ours, reference, [rtol, atol], what) {
  assert.equal(ours.length, reference.length, what);
  const allowed = atol + rtol * Math.max(...reference.map(Math.abs));
  const err = Math.max(...ours.map((v, i) => Math.abs(v - reference[i])));
  assert.ok(err <= allowed, `${what}: max error ${err} > ${allowed}`);
}

const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

const cli = (...args) => {
  const r = spawnSync('dotnet', [hostDll(), 'attribute', ...args, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

let host;
let run;
before(async () => {
  host = startHost();
  run = await host.connection.sendRequest('attention/run', { model: join(fixtures, 'models', 'stories260K'), text: lily });
});
after(async () => { await host.stop(); });

test('attribution/run on the Lily sentence: every method equals the fixture, defaults resolve to ▁She at the last token', async () => {
  const { json, tensors } = fixture('stories260K', 'attr_lily');
  const tol = json.suggested_tolerance;
  for (const [method, tensor] of [['saliency', 'saliency'], ['ixg', 'input_x_gradient'], ['occlusion', 'occlusion']]) {
    const r = await host.connection.sendRequest('attribution/run', { runId: run.runId, method });
    assert.equal(r.position, json.position);
    assert.equal(r.target, json.target);
    assert.equal(r.targetToken, ' She');
    assert.equal(r.tokens.length, json.input_ids.length);
    assert.equal(r.completeness, null);
    within(r.scores, tensors[tensor], tol[tensor], method);
    within([r.value], tensors.target_logit, tol.target_logit, `${method} value`);
  }
});

test('attribution/run integrated gradients: zero baseline completeness as measured, the unk baseline converges, progress reported', async () => {
  const { json, tensors } = fixture('stories260K', 'attr_lily');
  const tol = json.suggested_tolerance;
  host.progress.length = 0;
  const zero = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'ig', steps: 64, workDoneToken: 'ig-1' });
  within(zero.scores, tensors['integrated_gradients.m64'], tol.integrated_gradients, 'ig m64');
  within([zero.completeness.relativeError], [tensors.ig_relative_error[1]], tol.ig_relative_error, 'relative error m64');
  assert.ok(zero.completeness.relativeError > 0.5, 'README-interp: the zero baseline path of an RMSNorm model does not converge');
  const kinds = host.progress.filter((p) => p.token === 'ig-1').map((p) => p.value.kind);
  assert.equal(kinds[0], 'begin');
  assert.equal(kinds.at(-1), 'end');
  const unk = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'ig', steps: 64, baseline: 'token' });
  assert.equal(unk.baselineToken, '<unk>');
  within(unk.scores, tensors['integrated_gradients_unk.m64'], tol.integrated_gradients, 'ig unk m64');
  assert.ok(unk.completeness.relativeError < 1e-3, `unk completeness ${unk.completeness.relativeError}`);
  close(unk.completeness.sum, unk.scores.reduce((a, b) => a + b, 0), 1e-4, 'sum');
});

test('attribution/run with a typed target, a contrast, and a position: the logit difference ▁She − ▁He; bad input is a clear error', async () => {
  const she = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'saliency', targetText: '▁She' });
  assert.equal(she.target, 338);
  const diff = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'ixg', targetText: ' She', contrastText: ' He' });
  assert.equal(diff.contrast, 346);
  close(diff.value, 2.645, 1e-3, 'README-interp: logit ▁She − logit ▁He');
  const { json, tensors } = fixture('stories260K', 'attr_lily_pos10');
  const pos = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'saliency', position: 10, target: json.target });
  within(pos.scores, tensors.saliency, json.suggested_tolerance.saliency, 'saliency at position 10');
  assert.ok(pos.scores.slice(11).every((s) => s === 0), 'causality: tokens after the position score 0');
  await assert.rejects(host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'saliency', targetText: 'elephant park' }),
    (e) => e.code === -32001 && /tokens/.test(e.message));
  await assert.rejects(host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'gradcam' }), (e) => e.code === -32602);
  await assert.rejects(host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'saliency', position: 40 }),
    (e) => e.code === -32001 && /position 40/.test(e.message));
});

for (const [model, name] of [['tiny-gpt2', 'attr_len12_pos5'], ['tiny-llama', 'attr_len12'], ['tiny-bert', 'attr_len9_pos3']]) {
  test(`CLI attribute on ${model} ${name}: exactly the issue's keys, every method within the fixture's tolerance`, () => {
    const { json, tensors } = fixture(model, name);
    const tol = json.suggested_tolerance;
    const args = ['--model', join(fixtures, 'models', model), '--ids', json.input_ids.join(','), '--position', String(json.position), '--target', String(json.target)];
    for (const [method, tensor] of [['saliency', 'saliency'], ['ixg', 'input_x_gradient'], ['occlusion', 'occlusion']]) {
      const out = cli(...args, '--method', method);
      assert.deepEqual(Object.keys(out), ['ids', 'tokens', 'position', 'target', 'scores']);
      assert.deepEqual(out.ids, json.input_ids);
      assert.equal(out.position, json.position);
      within(out.scores, tensors[tensor], tol[tensor], `${model} ${method}`);
    }
    const ig = cli(...args, '--method', 'ig', '--steps', '16');
    assert.deepEqual(Object.keys(ig), ['ids', 'tokens', 'position', 'target', 'scores', 'completeness']);
    within(ig.scores, tensors['integrated_gradients.m16'], tol.integrated_gradients, `${model} ig m16`);
    within([ig.completeness.sum_of_attributions, ig.completeness.difference], tensors.ig_completeness.slice(0, 2), tol.ig_completeness, `${model} completeness`);
  });
}

test('CLI attribute defaults: the last position and the argmax, as the fixture resolves them', () => {
  const { json } = fixture('tiny-gpt2', 'attr_len12');
  const out = cli('--model', join(fixtures, 'models', 'tiny-gpt2'), '--ids', json.input_ids.join(','), '--method', 'saliency');
  assert.equal(out.position, json.position);
  assert.equal(out.target, json.target);
  const bad = spawnSync('dotnet', [hostDll(), 'attribute', '--model', join(fixtures, 'models', 'tiny-gpt2'), '--ids', '1,2', '--method', 'lrp'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /choose saliency, ixg, ig or occlusion/);
});

// The families without interp fixtures: the defaults resolve to the PyTorch reference's argmax at the last position
// (expected/<model>/len7.json, enc7_dec5.json for T5), and a decoder-only model's tokens after the position score 0.
for (const [model, caseName] of [['tiny-qwen3', 'len7'], ['tiny-phi3', 'len7'], ['tiny-olmo2', 'len7'], ['tiny-gemma2', 'len7'],
  ['tiny-gemma3', 'len7'], ['tiny-gpt-neox', 'len7'], ['tiny-t5', 'enc7_dec5']]) {
  test(`CLI attribute on ${model}: the reference's argmax by default, the issue's keys`, () => {
    const ref = JSON.parse(readFileSync(join(fixtures, 'expected', model, `${caseName}.json`), 'utf8'));
    const decoder = ref.decoder_input_ids ? ['--decoder-ids', ref.decoder_input_ids.join(',')] : [];
    const args = ['--model', join(fixtures, 'models', model), '--ids', ref.input_ids.join(','), ...decoder];
    const out = cli(...args, '--method', 'ixg');
    const positions = (ref.decoder_input_ids ?? ref.input_ids).length;
    assert.deepEqual(Object.keys(out), ['ids', 'tokens', 'position', 'target', 'scores', ...(decoder.length ? ['decoder_ids'] : [])]);
    assert.equal(out.position, positions - 1);
    assert.equal(out.target, ref.logits_argmax_per_position.at(-1));
    assert.equal(out.scores.length, ref.input_ids.length);
    assert.ok(out.scores.every(Number.isFinite));
    const early = cli(...args, '--method', 'saliency', '--position', '2');
    assert.equal(early.target, ref.logits_argmax_per_position[2]);
    if (!decoder.length) assert.ok(early.scores.slice(3).every((s) => s === 0), 'causality: tokens after the position score 0');
    else assert.ok(early.scores.every((s) => s > 0), 'an encoder-decoder: every source token reaches the decoder');
  });
}
