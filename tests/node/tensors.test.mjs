// tensors/inspect and tensors/image through vscode-jsonrpc, checked against values computed here
// independently (statistics from the raw safetensors bytes; pixels decoded with pngjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startHost, fixtures } from './host-client.mjs';

let host;
let temp;
before(() => { host = startHost(); temp = mkdtempSync(join(tmpdir(), 'modelvis-tensors-')); });
after(async () => { await host.stop(); rmSync(temp, { recursive: true, force: true }); });

function readSafetensorsF32(file, name) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  const entry = header[name];
  const [begin, end] = entry.data_offsets;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + begin, bytes.byteOffset + 8 + n + end));
  return { shape: entry.shape, data };
}

function writeSafetensorsF32(file, tensors) {
  let offset = 0;
  const header = {};
  const parts = [];
  for (const [name, { shape, values }] of Object.entries(tensors)) {
    const buf = Buffer.from(new Float32Array(values).buffer);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + buf.length] };
    offset += buf.length;
    parts.push(buf);
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...parts]));
}

test('statistics equal an independent computation from the raw bytes', async () => {
  const file = join(fixtures, 'models', 'tiny-gpt2', 'model.safetensors');
  const name = 'transformer.h.0.mlp.c_fc.weight';
  const { data, shape } = readSafetensorsF32(file, name);
  let min = Infinity, max = -Infinity, sum = 0, zeros = 0;
  for (const x of data) { min = Math.min(min, x); max = Math.max(max, x); sum += x; if (x === 0) zeros++; }
  const mean = sum / data.length;
  let sq = 0;
  for (const x of data) sq += (x - mean) ** 2;
  const std = Math.sqrt(sq / data.length);

  const r = await host.connection.sendRequest('tensors/inspect', { path: join(fixtures, 'models', 'tiny-gpt2'), tensor: name, bins: 32 });
  assert.deepEqual(r.shape, shape);
  assert.equal(r.dtype, 'F32');
  assert.equal(r.stats.count, data.length);
  assert.equal(r.stats.min, Math.fround(min));
  assert.equal(r.stats.max, Math.fround(max));
  assert.ok(Math.abs(r.stats.mean - mean) < 1e-9, `mean ${r.stats.mean} vs ${mean}`);
  assert.ok(Math.abs(r.stats.std - std) < 1e-9, `std ${r.stats.std} vs ${std}`);
  assert.equal(r.stats.zeros, zeros);
  assert.equal(r.histogram.counts.length, 32);
  assert.equal(r.histogram.counts.reduce((a, b) => a + b, 0), data.length);
});

test('NaN, Inf and zeros are counted; an integer tensor is listed as not shown', async () => {
  const file = join(temp, 'special.safetensors');
  writeSafetensorsF32(file, { x: { shape: [2, 3], values: [0, NaN, Infinity, -Infinity, 2, 0] } });
  const r = await host.connection.sendRequest('tensors/inspect', { path: file, tensor: 'x' });
  assert.equal(r.stats.nan, 1);
  assert.equal(r.stats.inf, 2);
  assert.equal(r.stats.zeros, 2);
  assert.equal(r.stats.max, 2);
  assert.equal(r.stats.min, 0);
  const ids = await host.connection.sendRequest('tensors/inspect', { path: join(fixtures, 'expected', 'tiny-gpt2', 'len7.safetensors'), tensor: 'input_ids' });
  assert.equal(ids.readable, false);
  assert.match(ids.note, /I64 values are not shown/);
});

test('heatmap PNG decodes with pngjs: diverging colours centred at zero', async () => {
  const file = join(temp, 'signs.safetensors');
  // One row: -1, 0, +1. Blue for negative, white-ish for zero, red for positive.
  writeSafetensorsF32(file, { m: { shape: [1, 3], values: [-1, 0, 1] } });
  const r = await host.connection.sendRequest('tensors/image', { path: file, tensor: 'm', maxSize: 64 });
  const png = PNG.sync.read(Buffer.from(r.png, 'base64'));
  assert.equal(png.width, r.width);
  assert.equal(png.height, r.height);
  assert.equal(r.scale.limit, 1);
  const cellWidth = png.width / 3;
  const pixel = (x) => { const i = (Math.floor(png.height / 2) * png.width + Math.floor(x)) * 4; return png.data.slice(i, i + 4); };
  const [neg, zero, pos] = [pixel(cellWidth * 0.5), pixel(cellWidth * 1.5), pixel(cellWidth * 2.5)];
  assert.ok(neg[2] > neg[0] + 60, `negative is blue: ${[...neg]}`);
  assert.ok(pos[0] > pos[2] + 60, `positive is red: ${[...pos]}`);
  assert.ok(zero[0] > 230 && zero[1] > 230 && zero[2] > 230, `zero is near white: ${[...zero]}`);
});

test('large tensors are downsampled by the host and said so', async () => {
  const r = await host.connection.sendRequest('tensors/image', { path: join(fixtures, 'models', 'tiny-gpt2'), tensor: 'transformer.wte.weight', maxSize: 100 });
  assert.ok(r.width <= 100 && r.height <= 100, `${r.width}×${r.height}`);
  assert.equal(r.source.rows, 1000);
  assert.equal(r.downsample.method, 'maxabs');
  assert.ok(r.downsample.rowFactor >= 10);
  const png = PNG.sync.read(Buffer.from(r.png, 'base64'));
  assert.equal(png.width, r.width);
});

test('a matrix heatmap carries the values it drew: each block\'s max-abs, computed here from the file', async () => {
  const file = join(fixtures, 'models', 'tiny-gpt2', 'model.safetensors');
  const { shape: [rows, cols], data } = readSafetensorsF32(file, 'transformer.wte.weight');
  const r = await host.connection.sendRequest('tensors/image', { path: join(fixtures, 'models', 'tiny-gpt2'), tensor: 'transformer.wte.weight', maxSize: 100 });
  const rf = r.downsample.rowFactor;
  const cf = r.downsample.colFactor;
  assert.equal(r.values.rows, Math.ceil(rows / rf));
  assert.equal(r.values.cols, Math.ceil(cols / cf));
  const buf = Buffer.from(r.values.values, 'base64');
  const drawn = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  assert.equal(drawn.length, r.values.rows * r.values.cols);
  for (const [br, bc] of [[0, 0], [r.values.rows - 1, r.values.cols - 1], [Math.floor(r.values.rows / 2), 1]]) {
    let best = 0;
    for (let i = br * rf; i < Math.min(rows, (br + 1) * rf); i++)
      for (let j = bc * cf; j < Math.min(cols, (bc + 1) * cf); j++) if (Math.abs(data[i * cols + j]) > Math.abs(best)) best = data[i * cols + j];
    assert.ok(Math.abs(drawn[br * r.values.cols + bc] - best) < 1e-6, `block (${br}, ${bc}): ${drawn[br * r.values.cols + bc]} vs ${best}`);
  }
  const grid = await host.connection.sendRequest('tensors/image', { path: join(fixtures, 'models', 'lenet5-mnist', 'lenet.safetensors'), tensor: 'conv2.weight' });
  assert.equal(grid.values, null, 'a grid of slices has no single matrix of values');
});

test('conv kernels are drawn as a grid of slices', async () => {
  const r = await host.connection.sendRequest('tensors/image', { path: join(fixtures, 'models', 'lenet5-mnist', 'lenet.safetensors'), tensor: 'conv2.weight' });
  assert.equal(r.layout, 'grid');
  assert.equal(r.grid.slices, 96);
  assert.equal(r.grid.gridRows, 16);
  assert.equal(r.grid.gridCols, 6);
});

test('an unknown tensor name is a clear user error', async () => {
  await assert.rejects(
    host.connection.sendRequest('tensors/inspect', { path: join(fixtures, 'models', 'tiny-gpt2'), tensor: 'nope.weight' }),
    (e) => e.code === -32001 && /no tensor named `nope.weight`/.test(e.message));
});

test('a quantized GGUF tensor is shown dequantized, its storage type named; an IQ type is not shown and says why', async () => {
  const gguf = (f) => join(fixtures, 'models', 'gguf', f);
  const name = 'blk.0.ffn_up.weight';
  const q4 = await host.connection.sendRequest('tensors/inspect', { path: gguf('synth-llama-q4_k.gguf'), tensor: name, bins: 16 });
  const q8 = await host.connection.sendRequest('tensors/inspect', { path: gguf('synth-llama-q8_0.gguf'), tensor: name, bins: 16 });
  assert.equal(q4.readable, true);
  assert.equal(q4.dtype, 'Q4_K');
  assert.equal(q8.dtype, 'Q8_0');
  assert.match(q4.note, /Q4_K blocks of 256, dequantized to float32/);
  assert.deepEqual(q4.shape, [768, 256]);
  assert.equal(q4.stats.count, 768 * 256);
  assert.equal(q4.stats.nan + q4.stats.inf, 0);
  // The same random weights (std 0.05) stored two ways: statistics agree within Q4_K's error (~8 % RMS).
  assert.ok(Math.abs(q4.stats.std - q8.stats.std) < 0.05 * q8.stats.std, `std ${q4.stats.std} vs ${q8.stats.std}`);
  assert.ok(Math.abs(q4.stats.mean - q8.stats.mean) < 0.02 * q8.stats.std, `mean ${q4.stats.mean} vs ${q8.stats.mean}`);
  const image = await host.connection.sendRequest('tensors/image', { path: gguf('synth-llama-q4_k.gguf'), tensor: name, maxSize: 128 });
  assert.equal(image.source.rows, 768);
  const png = PNG.sync.read(Buffer.from(image.png, 'base64'));
  assert.equal(png.width, image.width);

  // IQ2_XXS: one 66-byte super-block in a hand-written GGUF v3 (no metadata, alignment 32).
  const str = (s) => { const b = Buffer.from(s); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(b.length)); return Buffer.concat([n, b]); };
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  let file = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(1), u64(0), str('blk.0.attn_q.weight'), u32(1), u64(256), u32(16), u64(0)]);
  file = Buffer.concat([file, Buffer.alloc((32 - (file.length % 32)) % 32), Buffer.alloc(66)]);
  const iqFile = join(temp, 'iq.gguf');
  writeFileSync(iqFile, file);
  const iq = await host.connection.sendRequest('tensors/inspect', { path: iqFile, tensor: 'blk.0.attn_q.weight' });
  assert.equal(iq.readable, false);
  assert.equal(iq.dtype, 'IQ2_XXS');
  assert.match(iq.note, /IQ2_XXS values are not shown \(.*Q4_K.*\)/);
});
