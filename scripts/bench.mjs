// `npm run bench [-- engine|gpu|models|families|patching|attribution|attention|webview|runs|tokenizers|training|vision|render|load|fuzz|structure ...]`: the benchmarks, each printing a table.
// Every suite measures its baseline (the machine's FMA peak, PyTorch, the Rust tokenizers) in the same run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, run, log, ensureNodeModules, publishHost } from './lib.mjs';

const suites = ['engine', 'gpu', 'models', 'families', 'patching', 'attribution', 'attention', 'webview', 'runs', 'tokenizers', 'training', 'vision', 'render', 'load', 'fuzz', 'structure'];
const wanted = process.argv.slice(2).filter((a) => suites.includes(a));
// Anything else (`--emulate` for gpu, `--reps 1`, `--no-8b`, `--small`, `--only 1b-q4_k`) is passed to the models suite (`--reps`, `--small` also to families;
// `--seconds N` to fuzz).
const options = process.argv.slice(2).filter((a) => !suites.includes(a));
const want = (name) => wanted.length === 0 || wanted.includes(name);
ensureNodeModules();

const benchProject = join('server', 'bench', 'ModelVis.Bench');
const dotnetBench = (...args) => run('dotnet', ['run', '-c', 'Release', '--project', benchProject, '--', ...args]);

if (want('engine')) {
  log('=== engine: FMA peak, matmul GFLOP/s, forward passes beside PyTorch (same run)');
  dotnetBench('engine');
}
if (want('gpu')) {
  log('=== GPU: the same forward passes on CUDA (ILGPU) and on the CPU path of this machine, as ratios, with peak device memory (same run)');
  dotnetBench('gpu', ...options.filter((a, i, all) => a === '--emulate' || a === '--reps' || all[i - 1] === '--reps'));
}
if (want('models')) {
  log('=== real-sized models: a 1B Llama as BF16 safetensors, Q8_0 and Q4_K GGUF (and the float32-widening baseline), an 8B as Q4_K, beside llama.cpp (same run)');
  if (!existsSync(join(root, 'bench', 'models', 'node_modules', 'node-llama-cpp'))) run('npm', ['ci', '--prefix', join('bench', 'models'), '--no-audit', '--no-fund']);
  dotnetBench('models', ...options);
}
if (want('families')) {
  log('=== model families: a Gemma-2-2B-shaped and a Pythia-410M-shaped model (BF16), each beside a Llama of the same size (same run)');
  dotnetBench('families', ...options);
}
if (want('patching')) {
  log('=== activation patching: every layer × position of a random GPT-2-small at 64 tokens, beside PyTorch forward pre-hooks (same run, 2 threads)');
  dotnetBench('patching', ...options.filter((a, i, all) => a === '--reps' || all[i - 1] === '--reps'));
}
if (want('attribution')) {
  log('=== attribution: integrated gradients (64 steps) of a random GPT-2-small at 128 tokens, beside PyTorch autograd (same run, 2 threads)');
  dotnetBench('attribution', ...options.filter((a, i, all) => a === '--reps' || all[i - 1] === '--reps'));
}
if (want('attention')) {
  log('=== attention panel: request to first heatmap, and to the last layer');
  publishHost();
  run('node', [join('bench', 'attention', 'run.mjs')], { env: { ...process.env, MODELVIS_HOST_DLL: join(root, 'vscode-modelvis', 'host', 'modelvis.dll') } });
}
if (want('webview')) {
  log('=== attention webview: drawing 128, 512 and 2,048 tokens, timed inside the webview (code-server + Chromium)');
  publishHost();
  run('npm', ['run', '--silent', 'package', '--workspace', 'vscode-modelvis'], { quietStdout: true });
  run('node', [join('scripts', 'e2e-setup.mjs')]);
  run('node', [join('bench', 'webview', 'run.mjs')]);
}
if (want('runs')) {
  log('=== training runs: an event file of 1,000,000 scalars through runs/scalars and drawn in the Runs panel (code-server + Chromium), beside a Python TFRecord loop');
  publishHost();
  run('npm', ['run', '--silent', 'package', '--workspace', 'vscode-modelvis'], { quietStdout: true });
  run('node', [join('scripts', 'e2e-setup.mjs')]);
  run('node', [join('bench', 'runs', 'run.mjs')]);
}
if (want('tokenizers')) {
  log('=== tokenizers: MB/s beside the Hugging Face Rust library (npm tokenizers)');
  if (!existsSync(join(root, 'bench', 'tokenizers', 'node_modules'))) run('npm', ['ci', '--prefix', join('bench', 'tokenizers'), '--no-audit', '--no-fund']);
  run('node', [join('bench', 'tokenizers', 'run.mjs')]);
}
if (want('training')) {
  log('=== training step beside PyTorch');
  if (existsSync(join(root, 'bench', 'training', 'run.mjs'))) run('node', [join('bench', 'training', 'run.mjs')]);
  else dotnetBench('--filter', '*Training*', '--job', 'short');
}
if (want('vision')) {
  log('=== CNN feature maps (largest fixture CNN)');
  dotnetBench('--filter', '*Vision*', '--job', 'short');
}
if (want('render')) {
  log('=== PNG encoding and statistics');
  dotnetBench('--filter', '*Render*', '--job', 'short');
}
if (want('load')) {
  log('=== load: 200 concurrent mixed requests to the host, half cancelled at once; latency beside the same requests on an idle host (same run), memory');
  publishHost();
  run('node', [join('bench', 'load', 'run.mjs')], { env: { ...process.env, MODELVIS_HOST_DLL: join(root, 'vscode-modelvis', 'host', 'modelvis.dll') } });
}
if (want('fuzz')) {
  log('=== fuzz: every fuzzer of the test suite for longer (60 s each unless --seconds N), managed heap capped at 4 GiB');
  run('node', [join('bench', 'fuzz', 'run.mjs'), ...options.filter((a, i, all) => a === '--seconds' || all[i - 1] === '--seconds')]);
}
if (want('structure')) {
  log('=== projector over a 50,257 × 768 embedding (host PCA, UMAP) beside ml-pca; ELK layout of a 1,000-node ONNX graph');
  if (!existsSync(join(root, 'bench', 'structure', 'node_modules', 'ml-pca'))) run('npm', ['ci', '--prefix', join('bench', 'structure'), '--no-audit', '--no-fund']);
  publishHost();
  run('node', [join('bench', 'structure', 'run.mjs')], { env: { ...process.env, MODELVIS_HOST_DLL: join(root, 'vscode-modelvis', 'host', 'modelvis.dll') } });
}
