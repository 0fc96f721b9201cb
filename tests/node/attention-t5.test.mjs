// An encoder-decoder's attention run through vscode-jsonrpc: tiny-t5's weights with t5-small's tokenizer (its
// embedding tiled to the tokenizer's 32,128 ids, ../e2e/lib/tiny-t5.mjs), the three kinds of attention, the greedy and the typed target, and
// the cross-attention the host serves against the engine's own capture of the same ids (modelvis capture).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, fixtures, hostDll } from './host-client.mjs';
import { tinyT5WithTokenizer } from '../e2e/lib/tiny-t5.mjs';

let dir;
let host;

/** One F32 tensor of a safetensors file: shape and values. */
function readTensor(path, name) {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const e = JSON.parse(bytes.subarray(8, 8 + n).toString())[name];
  const [b, end] = e.data_offsets;
  return { shape: e.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + b, bytes.byteOffset + 8 + n + end)) };
}

const floats = (b64) => { const buf = Buffer.from(b64, 'base64'); return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4); };

before(() => {
  dir = tinyT5WithTokenizer(fixtures, mkdtempSync(join(tmpdir(), 'modelvis-t5-')));
  host = startHost();
});
after(async () => {
  await host.stop();
  rmSync(dir, { recursive: true, force: true });
});

const source = 'translate English to German: The house is wonderful.';

test('without a target the run carries the model greedy output as the decoder text, start token first', async () => {
  const run = await host.connection.sendRequest('attention/run', { model: dir, text: source });
  assert.equal(run.model.encoderLayers, 2);
  assert.equal(run.model.layers, 3);
  assert.equal(run.tokens.at(-1).text, '</s>');
  assert.equal(run.target.greedy, true);
  assert.equal(run.target.tokens[0].id, 0);
  assert.equal(run.target.tokens[0].special, true);
  assert.ok(run.target.tokens.length >= 2 && run.target.tokens.length <= 49);
  // The same greedy ids as the CLI's generate.
  const gen = spawnSync('dotnet', [hostDll(), 'generate', '--model', dir, '--text', source, '--max-new', '48', '--json'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  assert.deepEqual(run.target.tokens.slice(1).map((t) => t.id), JSON.parse(gen.stdout).generatedIds);
  await host.connection.sendRequest('attention/release', { runId: run.runId });
});

test('a typed target: three kinds of attention, shaped and masked as the decoder and the padding say, equal to the engine capture', async () => {
  const target = 'Das Haus ist wunderbar.';
  const run = await host.connection.sendRequest('attention/run', { model: dir, text: source, target });
  assert.equal(run.target.greedy, false);
  assert.equal(run.target.text, target);
  const tgt = run.target.tokens;
  assert.equal(tgt[0].id, 0);
  assert.equal(tgt.at(-1).text, '</s>');
  assert.equal(target.slice(tgt[2].start, tgt[2].end).trim(), 'Haus');
  const n = run.n, m = tgt.length;

  const cross = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 1, head: 2, kind: 'cross' });
  assert.deepEqual([cross.rows, cross.cols], [m, n]);
  const enc = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 1, head: 0, kind: 'encoder' });
  assert.deepEqual([enc.rows, enc.cols], [n, n]);
  const dec = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 2, head: 'mean', kind: 'decoder' });
  assert.deepEqual([dec.rows, dec.cols], [m, m]);
  const d = floats(dec.values);
  for (let q = 0; q < m; q++) for (let k = q + 1; k < m; k++) assert.equal(d[q * m + k], 0, `decoder future ${q} → ${k}`);
  for (const [values, cols] of [[floats(cross.values), n], [floats(enc.values), n], [d, m]]) {
    for (let r = 0; r < values.length / cols; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += values[r * cols + c];
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
    }
  }

  // The engine's capture of the same ids: cross_attentions.1, head 2.
  const out = join(dir, 'capture.safetensors');
  const ids = run.tokens.map((t) => t.id).join(',');
  const decoderIds = tgt.map((t) => t.id).join(',');
  const cap = spawnSync('dotnet', [hostDll(), 'capture', '--model', dir, '--ids', ids, '--decoder-ids', decoderIds, '--out', out], { encoding: 'utf8' });
  assert.equal(cap.status, 0, cap.stderr);
  const captured = readTensor(out, 'cross_attentions.1');
  assert.deepEqual(captured.shape, [4, m, n]);
  const all = captured.values;
  const mine = floats(cross.values);
  for (let i = 0; i < m * n; i++) assert.ok(Math.abs(mine[i] - all[2 * m * n + i]) < 1e-6, `cross [${i}]`);

  // A target row and its picture.
  const row = await host.connection.sendRequest('attention/row', { runId: run.runId, layer: 1, head: 2, query: 2, kind: 'cross', top: 3 });
  assert.equal(row.weights.length, n);
  assert.equal(row.acrossLayers.height, 3);
  const img = await host.connection.sendRequest('attention/image', { runId: run.runId, layer: 0, head: 1, kind: 'encoder', maxSize: 1024 });
  assert.deepEqual([img.width, img.height], [n, n]);

  // What an encoder-decoder run does not have, said plainly.
  await assert.rejects(host.connection.sendRequest('attention/grid', { runId: run.runId, cell: 24 }), (e) => /use the heatmap/.test(e.message));
  await assert.rejects(host.connection.sendRequest('hidden/lens', { runId: run.runId }), (e) => /encoder-decoder/.test(e.message));
  await assert.rejects(host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 2, head: 0, kind: 'encoder' }), (e) => /layers 0\.\.1/.test(e.message));
  await assert.rejects(host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 0, head: 0, kind: 'sideways' }), (e) => /encoder, decoder or cross/.test(e.message));
});

test('attribution/run on an encoder-decoder: the source tokens scored for a target position, as the CLI scores the same ids', async () => {
  const run = await host.connection.sendRequest('attention/run', { model: dir, text: source, target: 'Das Haus ist wunderbar.' });
  const n = run.n, m = run.target.tokens.length;
  const last = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'ixg' });
  assert.equal(last.position, m - 1);
  assert.equal(last.tokens.length, n);
  assert.equal(last.scores.length, n);
  const at2 = await host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'ig', steps: 64, position: 2, target: run.target.tokens[3].id, baseline: 'token' });
  assert.equal(at2.baselineToken, '<pad>');
  assert.ok(Math.abs(at2.completeness.sum - at2.scores.reduce((a, b) => a + b, 0)) < 1e-4);
  const cli = spawnSync('dotnet', [hostDll(), 'attribute', '--model', dir, '--ids', run.tokens.map((t) => t.id).join(','),
    '--decoder-ids', run.target.tokens.map((t) => t.id).join(','), '--position', '2', '--target', String(run.target.tokens[3].id),
    '--method', 'ig', '--steps', '64', '--baseline', 'token', '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const out = JSON.parse(cli.stdout);
  assert.deepEqual(out.decoder_ids, run.target.tokens.map((t) => t.id));
  for (let i = 0; i < n; i++) assert.ok(Math.abs(out.scores[i] - at2.scores[i]) < 1e-6, `score ${i}: CLI ${out.scores[i]} vs host ${at2.scores[i]}`);
  await assert.rejects(host.connection.sendRequest('attribution/run', { runId: run.runId, method: 'saliency', position: m }),
    (e) => e.code === -32001 && new RegExp(`position ${m}`).test(e.message));
  await host.connection.sendRequest('attention/release', { runId: run.runId });
});
