// features/gradcam (issue 17) through vscode-jsonrpc on the real LeNet-5 (ONNX): Grad-CAM of the predicted digit on
// each conv layer, of another class, and clear errors. The values themselves are checked in xunit (GradCamTests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startHost, fixtures } from './host-client.mjs';

const onnx = join(fixtures, 'models', 'lenet5-mnist', 'lenet.onnx');
const seven = readFileSync(join(fixtures, 'inputs', 'mnist-png', 'mnist_test_00_label7.png')).toString('base64');
let host;
before(() => { host = startHost(); });
after(async () => { await host.stop(); });
const request = (method, params) => host.connection.sendRequest(method, params);

test('Grad-CAM of the predicted 7 on conv1 and conv2: a map per layer grid, stretched into a PNG', async () => {
  const r = await request('features/run', { model: onnx, image: { data: seven }, preprocessing: { mean: [0.1307], std: [0.3081] } });
  assert.equal(r.predicted, 7);
  const convs = r.layers.filter((l) => l.opType === 'Conv');
  assert.equal(convs.length, 2);
  for (const layer of convs) {
    const g = await request('features/gradcam', { runId: r.runId, layer: layer.name });
    assert.equal(g.class, 7);
    assert.equal(g.featureLayer, layer.name);
    assert.equal(g.mapHeight, layer.shape[1]);
    assert.equal(g.mapWidth, layer.shape[2]);
    assert.ok(g.low >= 0 && g.high >= g.low, `ReLU'd map: ${g.low}..${g.high}`);
    // conv1 has positive evidence for the 7 (0.0198); conv2's weighted maps sum below zero everywhere (all 0 after the ReLU).
    if (layer === convs[0]) assert.ok(Math.abs(g.high - 0.0198) < 1e-3, `conv1 high ${g.high}`);
    const png = PNG.sync.read(Buffer.from(g.png, 'base64'));
    assert.equal(png.width, g.width);
    assert.ok(g.width >= 200, 'stretched to about 256 px');
    assert.match(g.note, /Grad-CAM/);
  }
  const other = await request('features/gradcam', { runId: r.runId, layer: convs[1].name, class: 3 });
  assert.equal(other.class, 3);
  await assert.rejects(request('features/gradcam', { runId: r.runId, layer: 'nope' }), (e) => e.code === -32001 && /no value "nope"/.test(e.message));
  await assert.rejects(request('features/gradcam', { runId: r.runId, layer: convs[0].name, class: 12 }), (e) => e.code === -32001 && /outside/.test(e.message));
  await assert.rejects(request('features/gradcam', { runId: r.runId }), (e) => e.code === -32602);
});

test('features/visualize: a channel of conv1 rises, the image streams in as notifications, and cancel stops with the image so far', async () => {
  const r = await request('features/run', { model: onnx, image: { data: seven }, preprocessing: { mean: [0.1307], std: [0.3081] } });
  const conv1 = r.layers.find((l) => l.opType === 'Conv').name;
  const steps = [];
  const sub = host.connection.onNotification('features/visualizeStep', (p) => { if (p.runId === r.runId) steps.push(p); });
  const done = await request('features/visualize', { runId: r.runId, goal: 'channel', layer: conv1, index: 2, steps: 24, every: 4 });
  assert.equal(done.steps, 24);
  assert.equal(done.stopped, false);
  assert.equal(done.objectives.length, 24);
  assert.ok(done.objectives[23] > done.objectives[0], `channel 2 rises: ${done.objectives[0]} → ${done.objectives[23]}`);
  assert.equal(done.image.width, 28);
  assert.deepEqual(steps.map((p) => p.step), [4, 8, 12, 16, 20, 24]);
  assert.equal(PNG.sync.read(Buffer.from(steps[0].image.png, 'base64')).width, 28);

  // Stop: cancel after the first notifications; the answer is the image reached so far.
  steps.length = 0;
  const source = new (await import('vscode-jsonrpc')).CancellationTokenSource();
  const running = host.connection.sendRequest('features/visualize', { runId: r.runId, goal: 'class', index: 3, steps: 5000, every: 1 }, source.token);
  while (steps.length < 3) await new Promise((ok) => setTimeout(ok, 20));
  source.cancel();
  const stopped = await running;
  assert.equal(stopped.stopped, true);
  assert.ok(stopped.steps >= 3 && stopped.steps < 5000, `stopped after ${stopped.steps} steps`);
  sub.dispose();
  await assert.rejects(request('features/visualize', { runId: r.runId, goal: 'channel', steps: 3 }), (e) => e.code === -32602 && /layer/.test(e.message));
  await assert.rejects(request('features/visualize', { runId: r.runId, goal: 'channel', layer: conv1, index: 6, steps: 3 }), (e) => e.code === -32001 && /outside/.test(e.message));
});
