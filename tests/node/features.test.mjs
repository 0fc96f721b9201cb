// features/run, grid, map, kernels, cam through vscode-jsonrpc on the real LeNet-5 fixture (ONNX and the
// .pth state dict with its architecture sidecar): predictions equal the PyTorch reference for every digit,
// pictures (PNG, JPEG) are decoded by the host, PNGs decode with pngjs to the reported sizes, errors are clear (-32001).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { startHost, fixtures } from './host-client.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lenetDir = join(fixtures, 'models', 'lenet5-mnist');
const onnx = join(lenetDir, 'lenet.onnx');
const pth = join(lenetDir, 'lenet.pth');
const sidecar = join(root, 'tests', 'ModelVis.Vision.Tests', 'Data', 'lenet.arch.json');
const digitsDir = join(fixtures, 'inputs', 'mnist-png');
const expectedDir = join(fixtures, 'expected', 'lenet5-mnist');
// LeNet was trained on (pixel/255 − 0.1307)/0.3081; the ONNX graph does not say so (its sidecar does).
const mnist = { mean: [0.1307], std: [0.3081] };
const digits = readdirSync(digitsDir).filter((f) => f.endsWith('.png')).sort();

let host;
before(() => { host = startHost(); });
after(async () => { await host.stop(); });

const request = (method, params) => host.connection.sendRequest(method, params);
const png64 = (file) => readFileSync(file).toString('base64');
const decode = (b64) => PNG.sync.read(Buffer.from(b64, 'base64'));
const expected = (file) => JSON.parse(readFileSync(join(expectedDir, file.replace(/\.png$/, '.json')), 'utf8'));

async function rejects(promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('ONNX LeNet-5: every MNIST digit is predicted as the PyTorch reference', async () => {
  assert.ok(digits.length >= 10);
  for (const file of digits) {
    const r = await request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) }, preprocessing: mnist });
    const want = expected(file);
    assert.equal(r.predicted, want.predicted_class, file);
    assert.equal(r.top5[0].index, want.predicted_class, file);
    assert.equal(r.top5.length, 5);
    assert.ok(Math.abs(r.top5[0].probability - want.probabilities[want.predicted_class]) < 1e-4, file);
    await request('features/release', { runId: r.runId });
  }
});

test('state dict + sidecar LeNet-5 predicts the same digits', async () => {
  for (const file of digits) {
    const r = await request('features/run', { model: pth, archPath: sidecar, image: { data: png64(join(digitsDir, file)) } });
    assert.equal(r.model.kind, 'state-dict+sidecar');
    assert.equal(r.predicted, expected(file).predicted_class, file);
  }
});

test('run describes the input, preprocessing and layers; grid, map and kernels decode to their sizes', async () => {
  const file = digits[0];
  const r = await request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) }, preprocessing: mnist });
  assert.match(r.runId, /^features\d+$/);
  assert.equal(r.model.kind, 'onnx');
  assert.equal(r.model.path, onnx);
  assert.equal(r.preprocessing.channels, 1);
  assert.equal(r.preprocessing.width, 28);
  assert.equal(r.preprocessing.height, 28);
  assert.match(r.preprocessing.describe, /grey 28×28/);
  assert.deepEqual(r.preprocessing.std.map((v) => Math.round(v * 1e4) / 1e4), [0.3081]);
  const input = decode(r.input.png);
  assert.equal(input.width, r.input.width);
  assert.equal(input.height, r.input.height);
  // The input rendered back equals the file's pixels (LeNet takes the MNIST 28×28 grey image as it is, /255).
  const source = PNG.sync.read(readFileSync(join(digitsDir, file)));
  let maxDiff = 0;
  for (let i = 0; i < 28 * 28; i++) maxDiff = Math.max(maxDiff, Math.abs(input.data[i * 4] - source.data[i * 4]));
  assert.ok(maxDiff <= 1, `input differs by ${maxDiff}`);

  const maps = r.layers.filter((l) => l.isFeatureMap);
  assert.ok(maps.length >= 2, JSON.stringify(r.layers));
  for (const l of r.layers) assert.equal(l.channels, l.isFeatureMap ? l.shape[0] : 1);
  const conv = maps.find((l) => l.opType === 'Conv');
  assert.ok(conv);

  for (const [scaling, sort] of [['channel', false], ['layer', true]]) {
    const g = await request('features/grid', { runId: r.runId, layer: conv.name, scaling, sort });
    const img = decode(g.png);
    assert.equal(img.width, g.width);
    assert.equal(img.height, g.height);
    assert.equal(g.cells.length, conv.shape[0]);
    assert.equal(g.scaling, scaling);
    assert.deepEqual([...g.order].sort((a, b) => a - b), [...Array(conv.shape[0]).keys()]);
    assert.deepEqual(g.cells.map((c) => c.channel), g.order);
    for (const c of g.cells) assert.ok(c.x + c.width <= g.width && c.y + c.height <= g.height);
    if (!sort) assert.deepEqual(g.order, [...Array(conv.shape[0]).keys()]);
    assert.match(g.note, scaling === 'channel' ? /own range/ : /one scale/);
  }

  const m = await request('features/map', { runId: r.runId, layer: conv.name, channel: 1 });
  const mimg = decode(m.png);
  assert.equal(mimg.width, m.width);
  assert.equal(mimg.height, m.height);
  assert.ok(m.width >= 200, 'enlarged');
  assert.equal(m.mapWidth, conv.shape[2]);

  assert.ok(r.hasKernels);
  const k = await request('features/kernels', { runId: r.runId });
  assert.equal(k.filters, 6);
  assert.equal(k.inChannels, 1);
  assert.deepEqual(k.shape, [6, 1, 5, 5]);
  const kimg = decode(k.png);
  assert.equal(kimg.width, k.width);
  assert.equal(kimg.height, k.height);
});

test('a sidecar given for the ONNX model supplies preprocessing and labels', async () => {
  const file = digits[2];
  const r = await request('features/run', { model: onnx, archPath: sidecar, image: { data: png64(join(digitsDir, file)) } });
  assert.equal(r.predicted, expected(file).predicted_class);
  assert.equal(r.top5[0].label, String(expected(file).predicted_class));
  assert.ok(r.model.hasLabels);
});

test('the host decodes a JPEG itself, from its path or its bytes, to the same run', async () => {
  const jpeg = join(fixtures, 'models', 'mnist-8-onnx', '28-test-gray.jpg');
  const byPath = await request('features/run', { model: onnx, image: { path: jpeg }, preprocessing: mnist });
  const byData = await request('features/run', { model: onnx, image: { data: png64(jpeg) }, preprocessing: mnist });
  assert.equal(byPath.input.width, 28);
  assert.equal(byData.predicted, byPath.predicted);
  assert.deepEqual(byData.top5, byPath.top5);
  assert.equal(byData.input.png, byPath.input.png);
  // The JPEG's pixels reach the model: the input rendered back is not one flat grey.
  assert.ok(new Set(decode(byPath.input.png).data).size > 8);
});

test('a larger RGB picture is resized and turned grey for the model', async () => {
  const png = new PNG({ width: 56, height: 56 });
  const src = PNG.sync.read(readFileSync(join(digitsDir, digits[0])));
  for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) {
    const s = ((y >> 1) * 28 + (x >> 1)) * 4, d = (y * 56 + x) * 4;
    png.data[d] = png.data[d + 1] = png.data[d + 2] = src.data[s];
    png.data[d + 3] = 255;
  }
  const r = await request('features/run', { model: onnx, image: { data: PNG.sync.write(png).toString('base64') }, preprocessing: mnist });
  assert.equal(r.input.width, 28);
  assert.equal(r.predicted, expected(digits[0]).predicted_class);
});

test('clear errors: CAM unavailable, not a picture, missing image, missing model, stale run, bad layer', async () => {
  const r = await request('features/run', { model: onnx, image: { data: png64(join(digitsDir, digits[0])) } });
  assert.equal(r.hasCam, false);
  await rejects(request('features/cam', { runId: r.runId }), -32001, /global average pooling/);
  await rejects(request('features/run', { model: onnx, image: { data: Buffer.from('hello').toString('base64') } }), -32001, /PNG, JPEG, GIF, WebP or BMP/);
  await rejects(request('features/run', { model: onnx, image: { path: join(fixtures, 'images', 'nope.jpg') } }), -32001, /no such image file/);
  await rejects(request('features/run', { model: onnx, image: { path: 'relative.jpg' } }), -32602, /absolute/);
  await rejects(request('features/run', { model: onnx, image: { path: join(digitsDir, digits[0]), data: 'x' } }), -32602, /either/);
  await rejects(request('features/run', { model: join(lenetDir, 'nope.onnx'), image: { data: png64(join(digitsDir, digits[0])) } }), -32001, /no such file/);
  // Weights of no recognised CNN (a GPT-2): the error names what is recognised and the sidecar to write.
  await rejects(request('features/run', { model: join(fixtures, 'models', 'tiny-gpt2', 'model.safetensors'), image: { data: png64(join(digitsDir, digits[0])) } }), -32001, /ResNet-18.*model\.arch\.json/);
  await rejects(request('features/run', { model: 'relative.onnx', image: { data: 'x' } }), -32602, /absolute/);
  await rejects(request('features/run', { model: onnx }), -32602, /image/);
  await rejects(request('features/grid', { runId: 'features999', layer: 'x' }), -32001, /no longer held/);
  await rejects(request('features/grid', { runId: r.runId, layer: 'nope' }), -32001, /no layer named "nope"/);
  await rejects(request('features/grid', { runId: r.runId, layer: r.layers[0].name, scaling: 'weird' }), -32602, /channel.*layer/);
  const vector = r.layers.find((l) => !l.isFeatureMap);
  if (vector) await rejects(request('features/grid', { runId: r.runId, layer: vector.name }), -32001, /not \[C, H, W\]/);
});

test('preprocessing: the model\u2019s own is said to be a guess; a preset overrides it and says so; a bare state dict is recognised', async () => {
  const file = digits.find((f) => f.includes('label2'));
  const guessed = await request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) } });
  assert.equal(guessed.preprocessing.source, 'guess');
  assert.equal(guessed.preprocessing.guess, true);
  assert.equal(guessed.preprocessing.preset, 'raw');
  assert.equal(guessed.preprocessing.resize, 'letterbox');
  assert.deepEqual(guessed.presets.map((p) => p.id), ['imagenet', 'mnist', 'minus-one-one', 'centred-127', 'raw']);

  const chosen = await request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) }, preprocessing: { preset: 'mnist', resize: 'crop' } });
  assert.equal(chosen.preprocessing.source, 'user');
  assert.equal(chosen.preprocessing.guess, false);
  assert.equal(chosen.preprocessing.preset, 'mnist');
  assert.equal(chosen.preprocessing.resize, 'crop');
  assert.equal(chosen.modelPreprocessing.source, 'guess');
  assert.equal(chosen.predicted, 2);

  const bare = await request('features/run', { model: pth, image: { data: png64(join(digitsDir, file)) } });
  assert.equal(bare.model.kind, 'state-dict+recognised');
  assert.equal(bare.model.architecture, 'LeNet-5');
  assert.equal(bare.preprocessing.source, 'architecture');
  assert.equal(bare.preprocessing.preset, 'mnist');
  assert.equal(bare.predicted, 2);
  assert.equal(bare.top5[0].label, '2');

  await rejects(request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) }, preprocessing: { preset: 'imagenet' } }), -32001, /one value per RGB channel/);
  await rejects(request('features/run', { model: onnx, image: { data: png64(join(digitsDir, file)) }, preprocessing: { resize: 'squash' } }), -32001, /stretch, letterbox or crop/);
});
