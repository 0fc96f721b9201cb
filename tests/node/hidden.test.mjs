// Hidden-state and neuron views of a run, through vscode-jsonrpc, on the real stories260K model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { hostDll, fixtures, storiesModel, storiesText, withStoriesRun } from './host-client.mjs';

const model = storiesModel;
const text = storiesText;
const session = withStoriesRun();

test('logit lens: the last layer predicts the text, ranks and the rank image', async () => {
  const r = await session.host.connection.sendRequest('hidden/lens', { runId: session.run.runId, top: 3 });
  assert.equal(r.layers, 6);
  assert.equal(r.n, session.run.n);
  assert.equal(r.top[5][1][0].token, ' upon', 'after "Once" the model says "upon"');
  assert.equal(r.nextRank[5][1], 0);
  assert.equal(r.nextRank[5][session.run.n - 1], -1);
  // The rank image: a row per position, a column per hidden state (as the lens grid), log10(1 + rank) on magma.
  const png = PNG.sync.read(Buffer.from(r.rankImage.png, 'base64'));
  assert.equal(png.height, session.run.n);
  assert.equal(png.width, 6);
  const pixel = (row, col) => [...png.data.subarray(4 * (row * png.width + col), 4 * (row * png.width + col) + 3)];
  // Rank 0 ("upon" after "Once" at the output, column 5 of row 1) and the last row (no next token) are both 0.
  assert.deepEqual(pixel(1, 5), pixel(session.run.n - 1, 0));
  // The worst rank in the run is the brightest pixel and sits at its (position, hidden state).
  let worst = { k: 0, i: 0, rank: -1 };
  r.nextRank.forEach((row, k) => row.forEach((rank, i) => { if (rank > worst.rank) worst = { k, i, rank }; }));
  assert.ok(worst.rank > 0);
  const sum = ([a, b, c]) => a + b + c;
  const brightest = Math.max(...Array.from({ length: png.height * png.width }, (_, j) => sum(pixel(Math.floor(j / png.width), j % png.width))));
  assert.equal(sum(pixel(worst.i, worst.k)), brightest, `rank ${worst.rank} at position ${worst.i}, hidden state ${worst.k}`);
  assert.ok(brightest > sum(pixel(1, 5)));
});

test('the CLI lens prints the same predictions as the panel', async () => {
  const cli = spawnSync('dotnet', [hostDll(), 'lens', '--model', model, '--text', text, '--top', '3', '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const out = JSON.parse(cli.stdout);
  assert.deepEqual(out.ids, session.run.tokens.map((t) => t.id));
  const r = await session.host.connection.sendRequest('hidden/lens', { runId: session.run.runId, top: 3 });
  for (let k = 0; k < out.layers.length; k++)
    for (let i = 0; i < out.ids.length; i++) {
      assert.equal(out.layers[k][i].length, 3);
      assert.deepEqual(out.layers[k][i].map((e) => e.id), r.top[k][i].map((e) => e.id));
    }
});

test('geometry: cosine similarity diagonal is 1, norms per layer, PCA per layer', async () => {
  const r = await session.host.connection.sendRequest('hidden/geometry', { runId: session.run.runId, layer: 3 });
  const buf = Buffer.from(r.similarity, 'base64');
  const sim = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  for (let i = 0; i < session.run.n; i++) assert.ok(Math.abs(sim[i * session.run.n + i] - 1) < 1e-5);
  assert.equal(r.norms.length, 6);
  assert.equal(r.pca.length, 6);
  assert.equal(r.pca[2].x.length, session.run.n);
  assert.ok(r.pca[2].explained[0] >= r.pca[2].explained[1]);
});

test('hidden-state image and neurons', async () => {
  const img = await session.host.connection.sendRequest('hidden/image', { runId: session.run.runId, layer: 2 });
  assert.equal(img.rows, session.run.n);
  assert.equal(img.cols, 64);
  // The numbers behind the picture: [rows, cols] float32, max |x| is the colour limit (percentile 100).
  const buf = Buffer.from(img.values, 'base64');
  const values = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  assert.equal(values.length, session.run.n * 64);
  const maxAbs = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(Math.abs(maxAbs - img.limit) <= 1e-4 * maxAbs, `limit ${img.limit} = max |x| ${maxAbs}`);
  const top = await session.host.connection.sendRequest('neurons/top', { runId: session.run.runId, layer: 1, top: 5 });
  assert.equal(top.top.length, 5);
  assert.ok(top.top[0].max >= top.top[4].max);
  const act = await session.host.connection.sendRequest('neurons/activations', { runId: session.run.runId, layer: 1, neuron: top.top[0].neuron });
  assert.equal(act.activations.length, session.run.n);
  assert.equal(act.max, top.top[0].max);
  const nmf = await session.host.connection.sendRequest('neurons/nmf', { runId: session.run.runId, layer: 1, components: 3 });
  assert.equal(nmf.tokenWeights.length, 3);
  assert.ok(nmf.relativeError < 1);
});
