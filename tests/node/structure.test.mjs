// Issue 19's RPC methods through vscode-jsonrpc: the projector's points and neighbours (the same as the CLI's
// `neighbors`), the model graph of ultraface and of a GGUF file, the activation profile of a session.run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hostDll, fixtures, storiesModel, storiesText, withStoriesRun } from './host-client.mjs';

const model = storiesModel;
const text = storiesText;
const session = withStoriesRun();

test('embeddings/project: 50 principal components of the 512 × 64 embedding, the run tokens selected', async () => {
  const r = await session.host.connection.sendRequest('embeddings/project', { runId: session.run.runId, source: 'embed' });
  assert.equal(r.count, 512);
  assert.equal(r.dims, 50);
  assert.equal(r.width, 64);
  assert.equal(Buffer.from(r.coords, 'base64').length, 512 * 50 * 4);
  assert.ok(r.explained.every((e, i) => i === 0 || e <= r.explained[i - 1] + 1e-6), 'components by explained variance');
  assert.deepEqual(new Set(r.selected), new Set(session.run.tokens.map((t) => t.id)));
  assert.equal(r.labels.length, 512);
  const hidden = await session.host.connection.sendRequest('embeddings/project', { runId: session.run.runId, source: 'hidden', layer: 3 });
  assert.equal(hidden.count, session.run.n);
});

test('embeddings/neighbors: the CLI neighbors, ids and cosines', async () => {
  const cli = JSON.parse(spawnSync('dotnet', [hostDll(), 'neighbors', '--model', model, '--token', 'the', '--k', '8', '--json'], { encoding: 'utf8' }).stdout);
  const r = await session.host.connection.sendRequest('embeddings/neighbors', { runId: session.run.runId, source: 'embed', token: 'the', k: 8 });
  assert.equal(r.id, cli.id);
  assert.deepEqual(r.neighbors.map((x) => x.id), cli.neighbors.map((x) => x.id));
  r.neighbors.forEach((x, i) => assert.ok(Math.abs(x.cosine - cli.neighbors[i].cosine) < 1e-6));
  await assert.rejects(session.host.connection.sendRequest('embeddings/neighbors', { runId: session.run.runId, source: 'embed', token: 'hello world' }), /is 6 tokens/);
});

test('graph/model: ultraface operators with shapes; a GGUF block diagram', async () => {
  const onnx = await session.host.connection.sendRequest('graph/model', { model: join(fixtures, 'models', 'ultraface-rfb320', 'version-RFB-320.onnx') });
  assert.equal(onnx.kind, 'onnx');
  assert.ok(onnx.nodes.length > 50);
  assert.ok(onnx.edges.every((e) => Array.isArray(e.shape)));
  assert.deepEqual(onnx.edges.find((e) => e.to === 'output:boxes').shape, [1, 4420, 4]);
  const gguf = await session.host.connection.sendRequest('graph/model', { model: join(fixtures, 'models', 'gguf', 'stories260K-q8_0.gguf') });
  assert.equal(gguf.kind, 'blocks');
  assert.deepEqual(gguf.nodes.map((n) => n.label), ['Embedding', 'block 0', 'block 1', 'block 2', 'block 3', 'block 4', 'Final norm', 'Head (tied to the embedding)']);
  assert.ok(gguf.nodes[1].children[0].tensors.some((t) => t.name === 'blk.0.attn_q.weight'));
});

test('activations/profile: a SiLU gate per layer, histograms over every token × unit', async () => {
  const r = await session.host.connection.sendRequest('activations/profile', { runId: session.run.runId, bins: 30 });
  assert.equal(r.function, 'silu');
  assert.equal(r.gated, true);
  assert.equal(r.layers.length, 5);
  for (const l of r.layers) {
    assert.equal(l.counts.length, 30);
    assert.equal(l.counts.reduce((a, b) => a + b, 0), session.run.n * r.units);
    assert.ok(l.nearZero >= 0 && l.nearZero <= 1 && l.flat >= 0 && l.flat <= 1);
  }
});
