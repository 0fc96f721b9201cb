// Training through the host (issue 8): train/start on a small text with few steps gives a folder that the
// Models view and the attention panel open like any checkpoint; progress and train/loss arrive; cancel
// answers -32800 and leaves nothing behind. Never trains the full built-in model (that takes minutes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';

// The host reads its cache root from XDG_CACHE_HOME: point it at a scratch folder before it starts.
const scratch = mkdtempSync(join(tmpdir(), 'modelvis-training-test-'));
process.env.XDG_CACHE_HOME = join(scratch, 'cache');
const { startHost } = await import('./host-client.mjs');

let host;
const losses = [];
const lossWaiters = [];

/** A few KB of code-like text, the same every run. */
function sampleText() {
  const names = ['count', 'index', 'value', 'total', 'width', 'height', 'offset', 'score'];
  let seed = 7;
  const next = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const lines = [];
  for (let i = 0; i < 120; i++) {
    const a = names[next(names.length)], b = names[next(names.length)];
    lines.push(`function update_${a}(${a}, ${b}) {`, `  return ${a} + ${b} * ${i % 10};`, '}', '');
  }
  return lines.join('\n');
}

before(() => {
  host = startHost();
  // vscode-jsonrpc keeps one handler per method: this one feeds the list and the waiters.
  host.connection.onNotification('train/loss', (p) => {
    losses.push(p);
    for (const w of lossWaiters.splice(0)) w(p);
  });
});
after(async () => {
  await host.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('builtin/status answers at once: not ready in an empty cache, folder and trained root under it', async () => {
  const s = await host.connection.sendRequest('builtin/status', {});
  assert.equal(s.ready, false);
  assert.ok(s.folder.startsWith(process.env.XDG_CACHE_HOME), s.folder);
  assert.ok(s.trainedRoot.startsWith(process.env.XDG_CACHE_HOME), s.trainedRoot);
});

test('train/start on a small text: a checkpoint that models/tree opens and attention/run runs on', async () => {
  const token = 'train-1';
  const result = await host.connection.sendRequest('train/start', { texts: [sampleText()], name: 'sample code', steps: 30, seed: 3, workDoneToken: token });
  const status = await host.connection.sendRequest('builtin/status', {});
  assert.equal(dirname(result.folder), status.trainedRoot, 'default out is under the trained-models root');
  assert.match(basename(result.folder), /^sample_code-[0-9a-f]{10}$/, 'named after the source, with a hash');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'modelvis_training.json']) {
    assert.ok(existsSync(join(result.folder, f)), f);
  }
  assert.deepEqual(readdirSync(status.trainedRoot), [basename(result.folder)], 'no temporary folder left beside it');

  const r = result.result;
  assert.equal(r.steps, 30);
  assert.ok(r.parameters > 100_000, `parameters ${r.parameters}`);
  assert.ok(Number.isFinite(r.finalTrainLoss) && Number.isFinite(r.evalLoss) && r.unigramEntropy > 0);
  assert.ok(r.seconds > 0);

  // Progress: begin, reports with percentages and "step i/n, loss x", end.
  const values = host.progress.filter((p) => p.token === token).map((p) => p.value);
  assert.equal(values[0].kind, 'begin');
  assert.equal(values.at(-1).kind, 'end');
  const steps = values.filter((v) => v.kind === 'report' && /^step \d+\/30, loss \d+\.\d\d$/.test(v.message ?? ''));
  assert.equal(steps.length, 30);
  assert.ok(steps.every((v, i) => i === 0 || v.percentage >= steps[i - 1].percentage));

  // One train/loss per step, in order, and the loss falls: the last five steps below the first five.
  const mine = losses.filter((p) => p.run === result.folder);
  assert.deepEqual(mine.map((p) => p.step), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.ok(mine.every((p) => p.steps === 30 && Number.isFinite(p.loss)));
  const mean = (xs) => xs.reduce((s, p) => s + p.loss, 0) / xs.length;
  assert.ok(mean(mine.slice(-5)) < mean(mine.slice(0, 5)) - 0.3, `loss ${mean(mine.slice(0, 5))} → ${mean(mine.slice(-5))}`);

  // It is just another checkpoint.
  const tree = await host.connection.sendRequest('models/tree', { path: result.folder });
  assert.equal(tree.totalParameters, r.parameters);
  assert.equal(tree.modelType, 'llama');
  const run = await host.connection.sendRequest('attention/run', { model: result.folder, text: 'function update_count(count, score) {' });
  assert.ok(run.n > 3);
  assert.equal(run.model.causal, true);
  const m = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: run.model.layers - 1, head: 0 });
  const buf = Buffer.from(m.values, 'base64');
  const weights = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  for (let q = 0; q < run.n; q++) {
    let s = 0;
    for (let k = 0; k <= q; k++) s += weights[q * run.n + k];
    assert.ok(Math.abs(s - 1) < 1e-4, `row ${q} sums to ${s}`);
  }
});

test('train/start refuses bad params and folders it did not write', async () => {
  await assert.rejects(host.connection.sendRequest('train/start', { steps: 5 }), (e) => e.code === -32602);
  await assert.rejects(host.connection.sendRequest('train/start', { files: ['relative.txt'] }), (e) => e.code === -32602);
  await assert.rejects(host.connection.sendRequest('train/start', { files: [join(scratch, 'missing.txt')] }), (e) => e.code === -32001);
  await assert.rejects(host.connection.sendRequest('train/start', { texts: ['too short'], steps: 2, out: join(scratch, 'short') }), (e) => e.code === -32001);
  assert.ok(!existsSync(join(scratch, 'short')));
  // A folder with the user's files is never replaced.
  await assert.rejects(host.connection.sendRequest('train/start', { texts: [sampleText()], steps: 2, out: scratch }), (e) => e.code === -32001 && /did not train/.test(e.message));
});

test('cancelling a long train/start answers -32800 and leaves no folder', async () => {
  const out = join(scratch, 'cancelled', 'model');
  const source = new (await import('vscode-jsonrpc/node.js')).CancellationTokenSource();
  const firstLoss = new Promise((resolve) => lossWaiters.push(resolve));
  const pending = host.connection.sendRequest('train/start', { texts: [sampleText()], steps: 5000, out }, source.token);
  const started = Date.now();
  await firstLoss;
  source.cancel();
  await assert.rejects(pending, (e) => e.code === -32800);
  assert.ok(Date.now() - started < 20_000, 'cancel stops training within a step or two');
  assert.ok(!existsSync(out), 'no model folder');
  const parent = dirname(out);
  assert.deepEqual(existsSync(parent) ? readdirSync(parent) : [], [], 'no temporary folder either');
});
