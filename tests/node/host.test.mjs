// The host driven through vscode-jsonrpc, the client the extension uses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { startHost, fixtures } from './host-client.mjs';

let host;
let temp;

before(() => {
  host = startHost();
  temp = mkdtempSync(join(tmpdir(), 'modelvis-node-'));
});

after(async () => {
  const code = await host.stop();
  rmSync(temp, { recursive: true, force: true });
  assert.equal(code, 0, `host exit code (stderr: ${host.stderr.slice(-2000)})`);
});

async function expectError(promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ResponseError, `expected a ResponseError, got ${e}`);
    assert.equal(e.code, code, `error code for: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('initialize reports versions and the compute device', async () => {
  const r = await host.connection.sendRequest('initialize', { processId: process.pid });
  assert.equal(r.serverInfo.name, 'modelvis-host');
  assert.match(r.runtime, /^\.NET 10\./);
  assert.equal(r.device.kind, 'cpu');
  assert.ok(r.device.cores >= 1);
  assert.ok([64, 128, 256, 512].includes(r.device.simdWidthBits));
  assert.ok(r.device.cpuModel.length > 0);
});

test('unknown method, wrong params: JSON-RPC errors, and the host goes on serving', async () => {
  await expectError(host.connection.sendRequest('no/such/method', {}), -32601, /unknown method "no\/such\/method"/);
  await expectError(host.connection.sendRequest('models/tree', { path: 42 }), -32602, /invalid params/);
  await expectError(host.connection.sendRequest('models/tree', { path: 'relative/dir' }), -32602, /must be absolute/);
  const r = await host.connection.sendRequest('initialize', {});
  assert.equal(r.serverInfo.name, 'modelvis-host');
});

test('models/discover finds fixture checkpoints in a root', async () => {
  const r = await host.connection.sendRequest('models/discover', { roots: [join(fixtures, 'models')], includeHfCache: false });
  const byName = Object.fromEntries(r.models.map((m) => [m.name, m]));
  assert.equal(byName['tiny-gpt2'].kind, 'folder');
  assert.equal(byName['tiny-gpt2'].architecture, 'GPT2LMHeadModel');
  assert.equal(byName['tiny-gpt2'].modelType, 'gpt2');
  assert.equal(byName['stories260K'].modelType, 'llama');
  assert.ok(r.models.every((m) => m.source === 'root'));
});

test('models/discover reads a Hugging Face cache layout as org/name', async () => {
  const snap = join(temp, 'hub', 'models--acme--tiny', 'snapshots', 'abc123');
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(temp, 'hub', 'models--acme--tiny', 'refs'), { recursive: true });
  writeFileSync(join(temp, 'hub', 'models--acme--tiny', 'refs', 'main'), 'abc123');
  copyFileSync(join(fixtures, 'models', 'tiny-llama', 'config.json'), join(snap, 'config.json'));
  copyFileSync(join(fixtures, 'models', 'tiny-llama', 'model.safetensors'), join(snap, 'model.safetensors'));
  const r = await host.connection.sendRequest('models/discover', { roots: [], includeHfCache: true, hfCache: join(temp, 'hub'), includeLocalRuntimes: false });
  assert.equal(r.models.length, 1);
  assert.equal(r.models[0].name, 'acme/tiny');
  assert.equal(r.models[0].source, 'hf-cache');
});

test('models/discover names Ollama blobs by their manifests and lists LM Studio GGUF files', async () => {
  const ollama = join(temp, 'ollama');
  const digest = 'ab'.repeat(32);
  mkdirSync(join(ollama, 'blobs'), { recursive: true });
  mkdirSync(join(ollama, 'manifests', 'registry.ollama.ai', 'library', 'stories'), { recursive: true });
  mkdirSync(join(ollama, 'manifests', 'registry.ollama.ai', 'someone', 'tiny'), { recursive: true });
  copyFileSync(join(fixtures, 'models', 'gguf', 'stories260K-q8_0.gguf'), join(ollama, 'blobs', `sha256-${digest}`));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    layers: [
      { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'cd'.repeat(32)}` },
      { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}` },
    ],
  });
  writeFileSync(join(ollama, 'manifests', 'registry.ollama.ai', 'library', 'stories', '260k-q8'), manifest);
  writeFileSync(join(ollama, 'manifests', 'registry.ollama.ai', 'someone', 'tiny', 'latest'), manifest);
  const lmstudio = join(temp, 'lmstudio', 'publisher', 'repo');
  mkdirSync(lmstudio, { recursive: true });
  copyFileSync(join(fixtures, 'models', 'gguf', 'synth-llama-q4_k.gguf'), join(lmstudio, 'synth-llama-q4_k.gguf'));
  const r = await host.connection.sendRequest('models/discover', {
    roots: [], includeHfCache: false,
    runtimeFolders: [{ folder: ollama, source: 'ollama' }, { folder: join(temp, 'lmstudio'), source: 'lm-studio' }],
  });
  const byName = Object.fromEntries(r.models.map((m) => [m.name, m]));
  assert.deepEqual(Object.keys(byName).sort(), ['stories:260k-q8', 'synth-llama-q4_k.gguf']);
  assert.equal(byName['stories:260k-q8'].path, join(ollama, 'blobs', `sha256-${digest}`));
  assert.equal(byName['stories:260k-q8'].source, 'ollama');
  assert.equal(byName['stories:260k-q8'].architecture, 'llama');
  assert.equal(byName['synth-llama-q4_k.gguf'].source, 'lm-studio');
  // The same blob under a second name is listed once.
  assert.equal(r.models.filter((m) => m.source === 'ollama').length, 1);
  const tree = await host.connection.sendRequest('models/tree', { path: byName['stories:260k-q8'].path });
  assert.ok(tree.totalParameters > 200000);
});

test('models/tree groups modules and collapses numbered layers', async () => {
  const path = join(fixtures, 'models', 'tiny-llama');
  const tree = await host.connection.sendRequest('models/tree', { path });
  assert.equal(tree.modelType, 'llama');
  assert.equal(tree.architecture, 'LlamaForCausalLM');
  const header = JSON.parse(readFileSync(join(path, 'model.safetensors')).subarray(8, 8 + Number(readFileSync(join(path, 'model.safetensors')).readBigUInt64LE(0))).toString());
  const expectedParams = Object.entries(header).filter(([k]) => k !== '__metadata__')
    .reduce((sum, [, v]) => sum + v.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(tree.totalParameters, expectedParams);
  const model = tree.root.children.find((c) => c.name === 'model');
  const layers = model.children.find((c) => c.kind === 'layers');
  assert.equal(layers.name, 'layers [0–1]');
  assert.deepEqual(layers.range, [0, 1]);
  const q = layers.children[0].children.find((c) => c.name === 'self_attn').children.find((c) => c.name === 'q_proj').children[0];
  assert.equal(q.kind, 'tensor');
  assert.equal(q.tensor.name, 'model.layers.0.self_attn.q_proj.weight');
  assert.deepEqual(q.tensor.shape, header['model.layers.0.self_attn.q_proj.weight'].shape);
});

test('a truncated checkpoint is a clear user error naming file and tensor; the host survives', async () => {
  const dir = join(temp, 'broken');
  mkdirSync(dir);
  copyFileSync(join(fixtures, 'models', 'tiny-gpt2', 'config.json'), join(dir, 'config.json'));
  const bytes = readFileSync(join(fixtures, 'models', 'tiny-gpt2', 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
  await expectError(host.connection.sendRequest('models/tree', { path: dir }), -32001, /model\.safetensors: tensor `[^`]+` ends at byte \d+ .*truncated/);
  writeFileSync(join(dir, 'model.safetensors'), Buffer.from('not a checkpoint at all'));
  await host.connection.sendRequest('models/forget', { path: dir });
  await expectError(host.connection.sendRequest('models/tree', { path: dir }), -32001, /model\.safetensors/);
  const r = await host.connection.sendRequest('initialize', {});
  assert.equal(r.serverInfo.name, 'modelvis-host');
});

test('concurrent requests are all answered', async () => {
  const path = join(fixtures, 'models', 'tiny-gpt2');
  const results = await Promise.all(Array.from({ length: 16 }, () => host.connection.sendRequest('models/tree', { path })));
  assert.ok(results.every((r) => r.totalParameters === results[0].totalParameters));
});
