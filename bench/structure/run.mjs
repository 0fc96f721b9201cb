// Issue 19's views, timed (medians; the baselines measured in the same run):
//  1. The embedding projector over a 50,257 × 768 token embedding (a GPT-2-small-shaped model with random weights,
//     written by the engine benchmark's generator): the host's streamed PCA (embeddings/project, the request the
//     page makes), then the page's first picture work (decoding the scores, normalising positions), then UMAP in
//     the page's worker code (umap-js) from the 50 components: to its first layout and to the end. Baseline: ml-pca
//     (npm) on the raw 50,257 × 768 rows, what a PCA in the webview would cost (before moving 154 MB to it).
//  2. The model graph: a 1,000-node ONNX graph (ResNet-style blocks, scoped names) through graph/model and ELK's
//     layered layout as the view runs it, fully expanded and with the scopes the view starts collapsed.
// The host is driven through vscode-jsonrpc as the extension drives it. Prints Markdown tables, with CPU seconds beside
// the wall times (the machine here is shared: CPU time is what the load of other jobs does not inflate).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { PCA } from 'ml-pca';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { startHost } = await import(join(root, 'tests', 'node', 'host-client.mjs'));
const reps = Number(process.env.MODELVIS_BENCH_REPS || 3);
// `node run.mjs [projector] [graph]`: the parts to run (default both).
const parts = process.argv.slice(2);
const want = (part) => parts.length === 0 || parts.includes(part);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const seconds = (ms) => (ms / 1000).toFixed(2);

// The view's own code (TypeScript), bundled for node.
const out = mkdtempSync(join(tmpdir(), 'modelvis-structure-bench-'));
await esbuild.build({
  entryPoints: { umapRun: join(root, 'vscode-modelvis', 'media', 'projector', 'umapRun.ts'), graphLayout: join(root, 'vscode-modelvis', 'media', 'graph', 'graphLayout.ts'),
    positions: join(root, 'vscode-modelvis', 'media', 'projector', 'positions.ts') },
  bundle: true, platform: 'node', format: 'esm', outdir: out, outExtension: { '.js': '.mjs' }, logLevel: 'warning',
  nodePaths: [join(root, 'node_modules')],
});
const { runUmap } = await import(pathToFileURL(join(out, 'umapRun.mjs')));
const { toElk, initialCollapsed } = await import(pathToFileURL(join(out, 'graphLayout.mjs')));
const { normalise } = await import(pathToFileURL(join(out, 'positions.mjs')));
const ELK = (await import(pathToFileURL(join(root, 'node_modules', 'elkjs', 'lib', 'elk.bundled.js')))).default;

const models = !want('projector') ? { status: 0, stdout: '' } : spawnSync('dotnet', ['run', '-c', 'Release', '--project', join(root, 'server', 'bench', 'ModelVis.Bench'), '--', 'bench-models'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (models.status !== 0) { console.error('could not write the benchmark models'); process.exit(1); }
const [gpt2Dir] = models.stdout.trim().split('\n').map((l) => l.trim()).filter((l) => existsSync(join(l, 'config.json'))).slice(-2);

const host = startHost();
try {
  // ---------------------------------------------------------------- 1. projector
  if (want('projector')) {
  let clock = performance.now();
  await host.connection.sendRequest('graph/model', { model: gpt2Dir });      // loads the model (what the attention run did before)
  const loadMs = performance.now() - clock;
  const pcaMs = [], firstPictureMs = [], pcaCpu = [];
  let result;
  for (let r = 0; r < reps; r++) {
    // A fresh host-side PCA each time: ask for a different number of components (the cache is per count).
    clock = performance.now();
    const before = hostCpuMs();
    result = await host.connection.sendRequest('embeddings/project', { model: gpt2Dir, source: 'embed', components: 50 - r });
    pcaMs.push(performance.now() - clock);
    pcaCpu.push(hostCpuMs() - before);
    const bytes = Buffer.from(result.coords, 'base64');
    const coords = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    normalise(coords, result.count, result.dims, 2);
    firstPictureMs.push(performance.now() - clock);
  }
  const bytes = Buffer.from(result.coords, 'base64');
  const coords = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  console.error(`projector: ${result.count} × ${result.width} → ${result.dims} components; explained ${result.explained.slice(0, 3).map((e) => e.toFixed(4)).join(', ')}`);

  // UMAP as the worker runs it: the first picture it posts after 25 epochs, then 25 more for the speed of an epoch.
  const umap = umapTimes(coords, result.count, result.dims);

  // Baseline: ml-pca on the raw rows (read from the checkpoint here, as a webview would have to receive them).
  const n = result.count, d = result.width;
  const raw = [];
  const rows = readRows(join(gpt2Dir, 'model.safetensors'), n, d);
  for (let i = 0; i < n; i++) raw.push(Array.from(rows.subarray(i * d, (i + 1) * d)));
  clock = performance.now();
  let cpu = process.cpuUsage();
  const pca = new PCA(raw, { method: 'covarianceMatrix', center: true });
  pca.predict(raw, { nComponents: 2 });
  const mlPcaMs = performance.now() - clock;
  cpu = process.cpuUsage(cpu);
  const mlPcaCpu = (cpu.user + cpu.system) / 1000;
  const mlExplained = pca.getExplainedVariance().slice(0, 3);

  console.log('\n### Embedding projector: 50,257 × 768 token embedding (GPT-2-small shape, random weights)\n');
  console.log('| step | median | note |');
  console.log('|---|---|---|');
  console.log(`| model load (once, by the attention run) | ${seconds(loadMs)} s | not part of the projector's own time |`);
  console.log(`| host PCA, 48–50 components (\`embeddings/project\`) | ${seconds(median(pcaMs))} s (host CPU ${seconds(median(pcaCpu))} s) | streamed randomized PCA, ${reps} runs |`);
  console.log(`| **PCA: time to first picture** (request + decode + positions) | **${seconds(median(firstPictureMs))} s** | WebGL upload and draw not included (milliseconds) |`);
  console.log(`| UMAP from the components: **first picture** (k-NN graph, fuzzy set, 25 epochs) | **${seconds(umap.firstMs)} s** (CPU ${seconds(umap.firstCpu)} s) | umap-js, the worker's code, one run |`);
  console.log(`| UMAP: one more epoch | ${(umap.epochMs / 1000).toFixed(3)} s (CPU ${(umap.epochCpu / 1000).toFixed(3)} s) | mean of 25; umap-js runs ${umap.epochs} epochs for this size |`);
  console.log(`| baseline: ml-pca on the raw 50,257 × 768 rows | ${seconds(mlPcaMs)} s (CPU ${seconds(mlPcaCpu)} s) | covariance + eigen-decomposition in JS, one run |`);
  console.log(`\nHost PCA: ${(mlPcaMs / median(pcaMs)).toFixed(1)}× less wall time than ml-pca on the same rows (CPU: ${(mlPcaCpu / median(pcaCpu)).toFixed(1)}×; the host uses every core). Leading explained variance: host ${result.explained.slice(0, 3).map((e) => e.toFixed(5)).join(', ')}; ml-pca ${mlExplained.map((e) => e.toFixed(5)).join(', ')}.`);

  }

  // ---------------------------------------------------------------- 2. graph
  if (want('graph')) {
  const onnx = join(out, 'resnet-1000.onnx');
  writeFileSync(onnx, resnetOnnx(10, 20));
  let clock = performance.now();
  const graphCpuBefore = hostCpuMs();
  const graph = await host.connection.sendRequest('graph/model', { model: onnx });
  const graphMs = performance.now() - clock;
  const graphCpu = hostCpuMs() - graphCpuBefore;
  const elk = new ELK();
  const layout = async (collapsed) => {
    const times = [], cpus = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now(), c = process.cpuUsage();
      await elk.layout(toElk(graph, collapsed, new Set()).root);
      times.push(performance.now() - t);
      const used = process.cpuUsage(c);
      cpus.push((used.user + used.system) / 1000);
    }
    return { ms: median(times), cpu: median(cpus) };
  };
  const collapsed = initialCollapsed(graph);
  const full = await layout(new Set());
  const first = await layout(collapsed);
  console.log(`\n### Model graph: ${graph.nodes.length.toLocaleString()} nodes, ${graph.edges.length.toLocaleString()} edges (ONNX, ResNet-style, scoped names)\n`);
  console.log('| step | median |');
  console.log('|---|---|');
  console.log(`| host \`graph/model\` (parse, fold initializers, shapes from a run on zeros) | ${seconds(graphMs)} s (host CPU ${seconds(graphCpu)} s; one run) |`);
  console.log(`| **ELK layered layout, every node expanded** | **${seconds(full.ms)} s** (CPU ${seconds(full.cpu)} s) |`);
  console.log(`| ELK layout as the view opens it (${collapsed.size} scopes collapsed) | ${seconds(first.ms)} s (CPU ${seconds(first.cpu)} s; ${(full.cpu / first.cpu).toFixed(1)}× less CPU) |`);
  }
} finally {
  await host.stop();
}

/** The host process's CPU milliseconds so far (utime + stime from /proc; the load of other jobs does not count). */
function hostCpuMs() {
  const fields = readFileSync(`/proc/${host.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** UMAP to its first picture (25 epochs) and the cost of one epoch after that, wall and CPU. */
function umapTimes(data, count, dims) {
  let clock = performance.now(), cpu = process.cpuUsage();
  const times = { firstMs: 0, firstCpu: 0, epochMs: 0, epochCpu: 0, epochs: 0 };
  const stop = new Error('enough epochs');
  try {
    runUmap({ data, count, dims }, (_xy, epoch, epochs) => {
      times.epochs = epochs;
      if (epoch === 25) {
        times.firstMs = performance.now() - clock;
        const c = process.cpuUsage(cpu);
        times.firstCpu = (c.user + c.system) / 1000;
        clock = performance.now();
        cpu = process.cpuUsage();
      } else if (epoch === 50) {
        times.epochMs = (performance.now() - clock) / 25;
        const c = process.cpuUsage(cpu);
        times.epochCpu = (c.user + c.system) / 1000 / 25;
        throw stop;
      }
    }, 25);
  } catch (e) {
    if (e !== stop) throw e;
  }
  return times;
}

/** transformer.wte.weight [n, d] float32 out of the benchmark model's safetensors file. */
function readRows(file, n, d) {
  const buf = readFileSync(file);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  const t = header['transformer.wte.weight'] ?? header['wte.weight'];
  if (!t || t.dtype !== 'F32') throw new Error('the benchmark model has no float32 wte.weight');
  const start = 8 + headerLength + t.data_offsets[0];
  return new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + n * d * 4));
}

// ---------------------------------------------------------------- a 1,000-node ONNX graph, written by hand

/** `stages` × `blocks` residual blocks (Conv → Relu → Conv → Add → Relu: 5 nodes each) on [1, 16, 16, 16]. */
function resnetOnnx(stages, blocks) {
  const C = 16, nodes = [], inits = [];
  let value = 'input';
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1;
  const conv = (scope, x, y) => {
    const w = `${scope}.weight`, b = `${scope}.bias`;
    inits.push(tensor(w, [C, C, 3, 3], Float32Array.from({ length: C * C * 9 }, random)), tensor(b, [C], new Float32Array(C)));
    nodes.push(node('Conv', `/${scope}/Conv`, [x, w, b], [y], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])]));
  };
  for (let s = 0; s < stages; s++)
    for (let b = 0; b < blocks; b++) {
      const scope = `layer${s}/block${b}`;
      const p = `${scope.replace('/', '_')}`;
      conv(`${scope}/conv1`, value, `${p}_c1`);
      nodes.push(node('Relu', `/${scope}/relu1/Relu`, [`${p}_c1`], [`${p}_r1`], []));
      conv(`${scope}/conv2`, `${p}_r1`, `${p}_c2`);
      nodes.push(node('Add', `/${scope}/Add`, [`${p}_c2`, value], [`${p}_sum`], []));
      nodes.push(node('Relu', `/${scope}/relu2/Relu`, [`${p}_sum`], [`${p}_out`], []));
      value = `${p}_out`;
    }
  const graph = concat(...nodes.map((n) => field(1, n)), field(2, utf8('resnet-1000')), ...inits.map((t) => field(5, t)),
    field(11, valueInfo('input', [1, C, 16, 16])), field(12, valueInfo(value, [1, C, 16, 16])));
  return concat(varintField(1, 7), field(2, utf8('modelvis-bench')), field(7, graph), field(8, concat(field(1, utf8('')), varintField(2, 13))));
}

function varint(v) {
  const bytes = [];
  let x = BigInt(v);
  do { let b = Number(x & 0x7fn); x >>= 7n; if (x) b |= 0x80; bytes.push(b); } while (x);
  return Uint8Array.from(bytes);
}
function concat(...parts) { return Buffer.concat(parts.map((p) => Buffer.from(p))); }
function utf8(s) { return Buffer.from(s, 'utf8'); }
function field(n, bytes) { return concat(varint((n << 3) | 2), varint(bytes.length), bytes); }
function varintField(n, v) { return concat(varint(n << 3), varint(v)); }
function packed(n, values) { return field(n, concat(...values.map(varint))); }
function tensor(name, dims, data) { return concat(packed(1, dims), varintField(2, 1), field(8, utf8(name)), field(9, Buffer.from(data.buffer))); }
function intsAttr(name, values) { return concat(field(1, utf8(name)), packed(8, values), varintField(20, 7)); }
function node(op, name, inputs, outputs, attrs) {
  return concat(...inputs.map((i) => field(1, utf8(i))), ...outputs.map((o) => field(2, utf8(o))), field(3, utf8(name)), field(4, utf8(op)), ...attrs.map((a) => field(5, a)));
}
function valueInfo(name, dims) {
  const shape = concat(...dims.map((d) => field(1, varintField(1, d))));
  return concat(field(1, utf8(name)), field(2, field(1, concat(varintField(1, 1), field(2, shape)))));
}
