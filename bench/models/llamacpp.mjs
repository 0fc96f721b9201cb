// llama.cpp's prompt processing of one GGUF file, through npm `node-llama-cpp` (pinned in package.json; its prebuilt
// CPU binary). One process per file, so its peak memory is its own. The `models` benchmark (server/bench/ModelVis.Bench,
// ModelsReport.cs) runs it beside ModelVis and prints the ratio.
//
//   node bench/models/llamacpp.mjs --model FILE.gguf --tokens 512,2048 --reps 3,1 --threads N --vocab V
//
// Each length: one context whose batch (and micro-batch: node-llama-cpp sets n_ubatch = n_batch) is the whole prompt,
// CPU only, flash attention off (ModelVis computes full attention probabilities), F16 KV cache (llama.cpp's default).
// A first 512-token evaluation warms up (pages the weights in, as ModelVis' cold pass does); then REPS timed
// evaluations of random ids, the history cleared between them, each with its wall-clock and CPU seconds (every thread of
// the process). Prints one JSON line on stdout.
import fs from 'node:fs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const modelPath = arg('--model');
const lengths = arg('--tokens', '512').split(',').map(Number);
const reps = arg('--reps', '3').split(',').map(Number);
const threads = Number(arg('--threads', '2'));
if (!modelPath) { console.error('usage: llamacpp.mjs --model FILE.gguf [--tokens 512,2048] [--reps 3,1] [--threads N]'); process.exit(2); }

let getLlama;
try { ({ getLlama } = await import('node-llama-cpp')); }
catch (e) {
  console.log(JSON.stringify({ error: `node-llama-cpp is not installed (npm ci --prefix bench/models): ${e.message}` }));
  process.exit(3);
}
const version = JSON.parse(fs.readFileSync(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url), 'utf8')).version;

function peakMb() {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

try {
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, progressLogs: false, logLevel: 'error' });
  let t = performance.now();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const loadS = (performance.now() - t) / 1000;
  // Random ids past the control and byte tokens; no text is tokenized.
  const nVocab = Number(arg('--vocab', '32000'));
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  const ids = (n) => Array.from({ length: n }, () => 259 + Math.floor(rand() * (nVocab - 259)));

  const results = {};
  for (let li = 0; li < lengths.length; li++) {
    const n = lengths[li];
    const context = await model.createContext({ contextSize: n, batchSize: n, sequences: 1, threads, flashAttention: false });
    const sequence = context.getSequence();
    if (li === 0) { // warm-up
      await sequence.evaluateWithoutGeneratingNewTokens(ids(Math.min(n, 512)));
      await sequence.clearHistory();
    }
    const times = [], cpu = [];
    for (let r = 0; r < (reps[li] ?? reps[reps.length - 1]); r++) {
      const prompt = ids(n);
      const c = process.cpuUsage();
      t = performance.now();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt);
      times.push((performance.now() - t) / 1000);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1e6);
      console.error(`  llama.cpp ${n} tokens: ${times.at(-1).toFixed(2)} s (CPU ${cpu.at(-1).toFixed(2)} s)`);
      await sequence.clearHistory();
    }
    results[n] = { times, cpu, median: median(times) };
    await context.dispose();
  }
  console.log(JSON.stringify({ version, load_s: loadS, threads, results, peak_mb: peakMb() }));
  await model.dispose();
  await llama.dispose();
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.message ?? e).split('\n')[0], peak_mb: peakMb() }));
  process.exit(1);
}
