// `npm run bench -- load`: 200 concurrent mixed requests to the real host, half of them cancelled at once, through
// the extension's own client (vscode-jsonrpc). Checked: every request answered exactly once (counted on the wire),
// cancellations honoured (-32800, unless the request had already finished), no other errors, memory back to its
// baseline (host/memory after the load against after the warm-up). Printed: requests, errors, p50/p99 latency of the
// requests not cancelled — beside the same requests one at a time on an idle host (the baseline, same run) — and the
// host's peak resident memory. MODELVIS_LOAD_REQUESTS changes the count.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { hostDll, fixtures } = await import(join(root, 'tests', 'node', 'host-client.mjs'));
const total = Number(process.env.MODELVIS_LOAD_REQUESTS || 200);

// --- the host, with every response counted by id as it comes off the wire ---
const proc = spawn('dotnet', [hostDll(), 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
let stderr = '';
proc.stderr.on('data', (d) => { stderr += d; });
const answers = new Map();
const reader = new rpc.StreamMessageReader(proc.stdout);
const listen = reader.listen.bind(reader);
reader.listen = (callback) => listen((message) => {
  if ('id' in message && !('method' in message)) answers.set(message.id, (answers.get(message.id) || 0) + 1);
  callback(message);
});
const connection = rpc.createMessageConnection(reader, new rpc.StreamMessageWriter(proc.stdin));
connection.listen();

const stories = join(fixtures, 'models', 'stories260K');
const gguf = join(fixtures, 'models', 'gguf', 'stories260K-q8_0.gguf');
const lenet = join(fixtures, 'models', 'lenet5-mnist', 'lenet.onnx');
const digit = join(fixtures, 'inputs', 'mnist-png', 'mnist_test_00_label7.png');
const run = join(fixtures, 'runs', 'lightning-mnist-mlp');
const story = 'Once upon a time there was a little girl named Lily. She liked to play outside with her friends in the park.';
// The mix: model work (forward passes, a CNN), browsing, a training run's scalars, status.
const kinds = [
  ['attention/run', () => ({ model: stories, text: story })],
  ['attention/run', () => ({ model: gguf, text: story })],
  ['features/run', () => ({ model: lenet, image: { path: digit } })],
  ['models/tree', () => ({ path: stories })],
  ['tensors/inspect', () => ({ path: stories, tensor: 'model.layers.0.mlp.up_proj.weight' })],
  ['runs/scalars', () => ({ path: run })],
  ['builtin/status', () => ({})],
  ['initialize', () => ({})],
];

async function timed(method, params, token) {
  const t0 = performance.now();
  try {
    const result = await (token ? connection.sendRequest(method, params, token) : connection.sendRequest(method, params));
    return { ms: performance.now() - t0, result };
  } catch (e) {
    return { ms: performance.now() - t0, code: e.code ?? 'client', message: e.message };
  }
}

const memory = async () => connection.sendRequest('host/memory', {});
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };
const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const release = async (r) => {
  if (r.result?.runId?.startsWith('run')) await connection.sendRequest('attention/release', { runId: r.result.runId });
  if (r.result?.runId?.startsWith('features')) await connection.sendRequest('features/release', { runId: r.result.runId });
};

// --- warm-up (compiles, opens the models once) and the memory baseline ---
for (const [method, params] of kinds) {
  const r = await timed(method, params());
  if (r.code !== undefined) throw new Error(`${method} failed during warm-up: ${r.message}\n${stderr}`);
  await release(r);
}
const baseline = await memory();

// --- baseline: each request alone on the idle host ---
const idle = [];
const idleBy = new Map();
for (let rep = 0; rep < 5; rep++) {
  for (const [method, params] of kinds) {
    const r = await timed(method, params());
    idle.push(r.ms);
    idleBy.set(method, [...(idleBy.get(method) || []), r.ms]);
    await release(r);
  }
}

// --- the load: all at once, every other one cancelled right after it is sent ---
let seed = 7;
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const before = answers.size;
const t0 = performance.now();
const pending = [];
for (let i = 0; i < total; i++) {
  const [method, params] = kinds[Math.floor(random() * kinds.length)];
  const source = new rpc.CancellationTokenSource();
  const cancel = i % 2 === 1;
  pending.push(timed(method, params(), source.token).then((r) => ({ ...r, method, cancel })));
  if (cancel) source.cancel();
}
const results = await Promise.all(pending);
const wall = performance.now() - t0;
const wireAnswers = [...answers.values()].slice(before);
for (const r of results) await release(r);
const peak = await memory();

const cancelled = results.filter((r) => r.cancel);
const kept = results.filter((r) => !r.cancel);
const honoured = cancelled.filter((r) => r.code === -32800).length;
const finishedFirst = cancelled.filter((r) => r.code === undefined).length;
const errors = results.filter((r) => r.code !== undefined && !(r.cancel && r.code === -32800));
const twice = [...answers.entries()].filter(([, n]) => n !== 1);

// Memory after the load, once the host has let go of everything (pooled buffers are trimmed over a few collections).
let after = await memory();
for (let i = 0; i < 5 && after.managedBytes > baseline.managedBytes + (8 << 20); i++) {
  await new Promise((r) => setTimeout(r, 1000));
  after = await memory();
}

const p50 = median(kept.map((r) => r.ms)), p99 = quantile(kept.map((r) => r.ms), 0.99);
const idle50 = median(idle), idle99 = quantile(idle, 0.99);
console.log(`\n| load | requests | cancelled at once | honoured (-32800) | finished before the cancel | other errors | answered exactly once | p50 | p99 | wall |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
console.log(`| ${kinds.length} kinds, all at once | ${results.length} | ${cancelled.length} | ${honoured} | ${finishedFirst} | ${errors.length} | ${wireAnswers.length - twice.length} of ${wireAnswers.length} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${wall.toFixed(0)} ms |`);
console.log(`\n| baseline: one at a time, idle host | requests | p50 | p99 |\n|---|---:|---:|---:|\n| same ${kinds.length} kinds ×5 | ${idle.length} | ${idle50.toFixed(1)} ms | ${idle99.toFixed(1)} ms |`);
console.log(`\n| method | under load: requests kept | p50 | p99 | idle p50 |\n|---|---:|---:|---:|---:|`);
for (const method of [...new Set(kinds.map(([m]) => m))]) {
  const load = kept.filter((r) => r.method === method).map((r) => r.ms);
  const alone = idleBy.get(method);
  if (load.length) console.log(`| ${method} | ${load.length} | ${median(load).toFixed(1)} ms | ${quantile(load, 0.99).toFixed(1)} ms | ${median(alone).toFixed(1)} ms |`);
}
console.log(`\nunder load / idle: p50 ×${(p50 / idle50).toFixed(1)}, p99 ×${(p99 / idle99).toFixed(1)} (the load's ${kept.length} requests queue behind one another; the model pool runs 2 at a time)`);
console.log(`memory: after warm-up managed ${mb(baseline.managedBytes)}, resident ${mb(baseline.workingSetBytes)}; peak resident during the load ${mb(peak.peakWorkingSetBytes)}; after the load managed ${mb(after.managedBytes)}, resident ${mb(after.workingSetBytes)}`);

let failed = false;
const check = (ok, what) => { if (!ok) { console.log(`FAILED: ${what}`); failed = true; } };
check(errors.length === 0, `errors other than cancellations: ${errors.slice(0, 5).map((e) => `${e.method}: ${e.code} ${e.message}`).join('; ')}`);
check(twice.length === 0, `ids answered other than once: ${JSON.stringify(twice.slice(0, 5))}`);
check(wireAnswers.length === total, `${wireAnswers.length} answers on the wire for ${total} requests`);
check(honoured + finishedFirst === cancelled.length, 'every cancelled request ended -32800 or had finished');
check(after.managedBytes < baseline.managedBytes + (8 << 20), `managed heap ${mb(after.managedBytes)} after the load, ${mb(baseline.managedBytes)} before`);

await connection.sendRequest('shutdown');
connection.sendNotification('exit');
await new Promise((r) => proc.on('exit', r));
connection.dispose();
if (failed) { console.log(stderr.split('\n').slice(-20).join('\n')); process.exit(1); }
