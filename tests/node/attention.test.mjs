// The attention panel's requests through vscode-jsonrpc, on the real trained stories260K model, checked
// against the PyTorch reference attentions in the fixtures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startHost, fixtures } from './host-client.mjs';

const model = join(fixtures, 'models', 'stories260K');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected', 'stories260K', 'short_sentence.json'), 'utf8'));
let host;
let run;
const layerDone = [];

function referenceTensor(name) {
  const bytes = readFileSync(join(fixtures, 'expected', 'stories260K', 'short_sentence.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const entry = JSON.parse(bytes.subarray(8, 8 + n).toString())[name];
  const [b, e] = entry.data_offsets;
  return { shape: entry.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + b, bytes.byteOffset + 8 + n + e)) };
}
const floats = (b64) => { const buf = Buffer.from(b64, 'base64'); return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4); };

before(async () => {
  host = startHost();
  host.connection.onNotification('attention/layerDone', (p) => layerDone.push(p));
  run = await host.connection.sendRequest('attention/run', { model, text: expected.text });
});
after(async () => { await host.stop(); });

test('the run has the reference token ids, readable tokens and UTF-16 offsets', () => {
  assert.deepEqual(run.tokens.map((t) => t.id), expected.input_ids);
  assert.equal(run.n, expected.input_ids.length);
  assert.equal(run.model.layers, 5);
  assert.equal(run.model.heads, 8);
  assert.equal(run.model.causal, true);
  assert.equal(run.tokens[0].special, true);
  assert.equal(run.tokens[0].start, null);
  const lily = run.tokens[1];
  assert.equal(lily.text, '▁Lily');
  assert.equal(lily.display, ' Lily');
  assert.equal(expected.text.slice(lily.start, lily.end).trim(), 'Lily');
});

test('every layer and head equals the PyTorch reference within 1e-4; the future is exactly 0', async () => {
  const n = run.n;
  for (let layer = 0; layer < run.model.layers; layer++) {
    const ref = referenceTensor(`attentions.${layer}`);
    for (let head = 0; head < run.model.heads; head++) {
      const r = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer, head });
      const m = floats(r.values);
      assert.equal(m.length, n * n);
      for (let q = 0; q < n; q++) {
        for (let k = 0; k < n; k++) {
          const v = m[q * n + k];
          if (k > q) assert.equal(v, 0, `future key ${k} of query ${q}`);
          else assert.ok(Math.abs(v - ref.data[(head * n + q) * n + k]) < 1e-4, `layer ${layer} head ${head} [${q},${k}]`);
        }
      }
    }
  }
  assert.equal(layerDone.length, 5, 'one layerDone notification per layer');
});

test('mean and max over heads', async () => {
  const n = run.n;
  const ref = referenceTensor('attentions.2');
  const mean = floats((await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 2, head: 'mean' })).values);
  const max = floats((await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 2, head: 'max' })).values);
  for (let i = 0; i < n * n; i++) {
    let s = 0, mx = 0;
    for (let h = 0; h < 8; h++) { s += ref.data[h * n * n + i]; mx = Math.max(mx, ref.data[h * n * n + i]); }
    assert.ok(Math.abs(mean[i] - s / 8) < 1e-4);
    assert.ok(Math.abs(max[i] - mx) < 1e-4);
  }
});

test('heatmap PNG has one pixel per token pair', async () => {
  const r = await host.connection.sendRequest('attention/image', { runId: run.runId, layer: 1, head: 3 });
  const png = PNG.sync.read(Buffer.from(r.png, 'base64'));
  assert.equal(png.width, run.n);
  assert.equal(png.height, run.n);
  assert.equal(r.factor, 1);
});

test('hover row: top keys and the row across layers', async () => {
  const r = await host.connection.sendRequest('attention/row', { runId: run.runId, layer: 0, head: 0, query: 5, top: 3 });
  assert.equal(r.weights.length, run.n);
  assert.equal(r.top.length, 3);
  assert.ok(r.top[0].weight >= r.top[1].weight && r.top[1].weight >= r.top[2].weight);
  assert.ok(r.top.every((t) => t.key <= 5), 'causal: a query attends only to itself and earlier tokens');
  const png = PNG.sync.read(Buffer.from(r.acrossLayers.png, 'base64'));
  assert.equal(png.height, 5);
});

test('model view: one sprite sheet of layers × heads with cell coordinates', async () => {
  const r = await host.connection.sendRequest('attention/grid', { runId: run.runId, cell: 26 });
  assert.equal(r.cells.length, 40);
  const png = PNG.sync.read(Buffer.from(r.png, 'base64'));
  assert.equal(png.width, r.width);
  const last = r.cells.find((c) => c.layer === 4 && c.head === 7);
  assert.ok(last.x + last.width <= r.width && last.y + last.height <= r.height);
});

test('attention/figure is the labelled figure of one head at 2 pixels per point, in the theme asked for, and of every head', async () => {
  const dark = await host.connection.sendRequest('attention/figure', { runId: run.runId, layer: 1, head: 2, theme: 'dark' });
  const light = await host.connection.sendRequest('attention/figure', { runId: run.runId, layer: 1, head: 2, theme: 'light' });
  const [d, l] = [dark, light].map((f) => PNG.sync.read(Buffer.from(f.png, 'base64')));
  assert.equal(d.width, dark.width);
  assert.equal(d.height, dark.height);
  assert.ok(d.width > 20 * run.n && d.height > 20 * run.n, `${d.width}×${d.height} for ${run.n} tokens: labels, title and colour bar around the matrix`);
  assert.deepEqual([d.width, d.height], [l.width, l.height], 'the theme changes colours, not the layout');
  assert.deepEqual([...d.data.subarray(0, 3)], [0x1e, 0x1e, 0x1e], 'the dark page');
  assert.deepEqual([...l.data.subarray(0, 3)], [0xff, 0xff, 0xff], 'the light page');
  const mean = await host.connection.sendRequest('attention/figure', { runId: run.runId, layer: 1, head: 'mean' });
  assert.ok(mean.width > 0);
  const grid = await host.connection.sendRequest('attention/figure', { runId: run.runId, grid: true });
  assert.ok(grid.width > dark.width && grid.height > dark.height, `the 5 × 8 grid (${grid.width}×${grid.height}) is larger than one head`);
  await assert.rejects(host.connection.sendRequest('attention/figure', { runId: run.runId, layer: 9, head: 0 }), /layer 9/);
  await assert.rejects(host.connection.sendRequest('attention/figure', { runId: run.runId, layer: 0, head: 0, theme: 'sepia' }), /sepia/);
});

test('rollout rows sum to 1 and flow runs on a short input', async () => {
  const r = await host.connection.sendRequest('attention/rollout', { runId: run.runId, method: 'rollout' });
  const m = floats(r.values);
  for (let q = 0; q < run.n; q++) {
    let s = 0;
    for (let k = 0; k < run.n; k++) s += m[q * run.n + k];
    assert.ok(Math.abs(s - 1) < 1e-4, `row ${q} sums to ${s}`);
  }
  const f = await host.connection.sendRequest('attention/rollout', { runId: run.runId, method: 'flow' });
  assert.equal(f.method, 'flow');
  assert.ok(floats(f.values)[0] > 0.99, 'BOS can only draw from itself');
});

test('a text over the context is refused with the numbers; maxTokens truncates', async () => {
  const long = 'Once upon a time there was a dog. '.repeat(200);
  await assert.rejects(host.connection.sendRequest('attention/run', { model, text: long }), (e) =>
    e.code === -32001 && /reads at most 512/.test(e.message) && e.data.limit === 512 && e.data.tokens > 512 && typeof e.data.atLeast === 'boolean');
  const r = await host.connection.sendRequest('attention/run', { model, text: long, maxTokens: 512 });
  assert.equal(r.n, 512);
  assert.ok(r.truncatedFrom > 512);
  await host.connection.sendRequest('attention/release', { runId: r.runId });
});

test('no model, missing folder, and a released run: clear errors', async () => {
  await assert.rejects(host.connection.sendRequest('attention/run', { model: '', text: 'x' }), (e) => e.code === -32001 && /No model is configured/.test(e.message));
  await assert.rejects(host.connection.sendRequest('attention/run', { model: '/nonexistent/model', text: 'x' }), (e) => e.code === -32001);
  await assert.rejects(host.connection.sendRequest('attention/image', { runId: 'run999', layer: 0, head: 0 }), (e) => e.code === -32001 && /no longer held/.test(e.message));
});
