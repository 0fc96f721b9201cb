// Attention panel latency, warm: time from `attention/run` to the first heatmap PNG (layer 0, head 0), and to the
// last layer streamed in, for 128, 512 and 2,048 tokens on a GPT-2-small-shaped and a ~135M Llama-shaped model
// (random weights written once by the engine benchmark's generator; real tokenizers from ../shared/fixtures).
// The host is driven through vscode-jsonrpc exactly as the extension drives it. Prints a Markdown table of medians.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, copyFileSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.MODELVIS_FIXTURES || join(root, '..', 'shared', 'fixtures');
const { startHost } = await import(join(root, 'tests', 'node', 'host-client.mjs'));
const reps = Number(process.env.MODELVIS_BENCH_REPS || 5);

const models = spawnSync('dotnet', ['run', '-c', 'Release', '--project', join(root, 'server', 'bench', 'ModelVis.Bench'), '--', 'bench-models'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (models.status !== 0) { console.error('could not write the benchmark models'); process.exit(1); }
// dotnet run may print build warnings on stdout too: the folders are the last two lines that exist.
const [gpt2Dir, llamaDir] = models.stdout.trim().split('\n').map((l) => l.trim()).filter((l) => existsSync(join(l, 'config.json'))).slice(-2);

// A model folder = the random weights + a real tokenizer whose ids fit the vocabulary.
function withTokenizer(weights, tokenizerName) {
  const dir = mkdtempSync(join(tmpdir(), 'modelvis-attn-bench-'));
  for (const f of ['config.json', 'model.safetensors']) symlinkSync(join(weights, f), join(dir, f));
  const tok = join(fixtures, 'tokenizers', tokenizerName);
  for (const f of readdirSync(tok)) if (f.endsWith('.json') || f.endsWith('.txt')) copyFileSync(join(tok, f), join(dir, f));
  return dir;
}

// Plenty of real text: the project's own sources.
let text = '';
for (const d of ['server/src/ModelVis.Models', 'server/src/ModelVis.Tensors', 'server/src/ModelVis.Host/Handlers']) {
  for (const f of readdirSync(join(root, d))) if (f.endsWith('.cs')) text += readFileSync(join(root, d, f), 'utf8');
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rows = [];
const bigRows = [];

// The large answers of a finished run, each asked once to fill the host's caches, then timed `reps` times: what the
// RPC layer adds (serializing, framing, the pipe, parsing in the client) for megabytes of base64 and arrays.
async function bigResults(name, model, n) {
  const done = new Set();
  const sub = host.connection.onNotification('attention/layerDone', (p) => done.add(`${p.runId}/${p.layer}`));
  const run = await host.connection.sendRequest('attention/run', { model, text, maxTokens: n });
  // Finished: every layer streamed in, so nothing computes in the background while the answers are timed.
  while ([...done].filter((d) => d.startsWith(`${run.runId}/`)).length < run.model.layers) await new Promise((res) => setTimeout(res, 2));
  sub.dispose();
  const requests = [
    ['attention/matrix', { runId: run.runId, layer: 0, head: 0 }],
    ['attention/image', { runId: run.runId, layer: 0, head: 0, maxSize: 4096 }],
    ['attention/row', { runId: run.runId, layer: 0, head: 0, query: n - 1 }],
    ['attention/grid', { runId: run.runId, cell: 96 }],
    ['hidden/image', { runId: run.runId, layer: 1, maxSize: 4096 }],
  ];
  for (const [method, params] of requests) {
    const bytes = JSON.stringify(await host.connection.sendRequest(method, params)).length;
    const times = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await host.connection.sendRequest(method, params);
      times.push(performance.now() - t0);
    }
    bigRows.push(`| ${name} | ${n} | \`${method}\` | ${(bytes / 1e6).toFixed(2)} MB | ${median(times).toFixed(1)} ms |`);
    console.error(bigRows.at(-1));
  }
  await host.connection.sendRequest('attention/release', { runId: run.runId });
}
const host = startHost();
for (const [name, weights, tokenizer, lengths] of [
  ['GPT-2 small (12×768, vocab 50,257)', gpt2Dir, 'gpt2', [128, 512, 1024]],
  ['Llama ~135M (30×576, GQA 9/3)', llamaDir, 'phi-3-mini', [128, 512, 2048]],
]) {
  const model = withTokenizer(weights, tokenizer);
  for (const n of lengths) {
    const first = [], all = [];
    for (let r = 0; r <= reps; r++) {
      const done = [];
      const sub = host.connection.onNotification('attention/layerDone', (p) => done.push(p));
      const t0 = performance.now();
      const run = await host.connection.sendRequest('attention/run', { model, text, maxTokens: n });
      await host.connection.sendRequest('attention/image', { runId: run.runId, layer: 0, head: 0 });
      const t1 = performance.now();
      while (done.filter((d) => d.runId === run.runId).length < run.model.layers) await new Promise((res) => setTimeout(res, 2));
      const t2 = performance.now();
      sub.dispose();
      await host.connection.sendRequest('attention/release', { runId: run.runId });
      if (r > 0) { first.push(t1 - t0); all.push(t2 - t0); } // r = 0 warms up (load, JIT)
    }
    rows.push(`| ${name} | ${n} | ${median(first).toFixed(0)} ms | ${median(all).toFixed(0)} ms |`);
    console.error(rows.at(-1));
    if (n === 512) await bigResults(name, model, n);
  }
  rmSync(model, { recursive: true, force: true });
}
await host.stop();
console.log(`\nAttention panel latency (median of ${reps} warm runs; host through vscode-jsonrpc)\n`);
console.log('| model | tokens | first heatmap PNG | all layers streamed |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nLarge results of a finished run (median of ${reps} repeats after one that fills the host's caches)\n`);
console.log('| model | tokens | request | result JSON | round trip |');
console.log('|---|---|---|---|---|');
for (const r of bigRows) console.log(r);
