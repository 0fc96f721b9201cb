// `npm run bench [-- engine|tokenizers|render|vision|training ...]`: the benchmarks, each printing a table.
// Every suite measures its baseline (the machine's FMA peak, PyTorch, the Rust tokenizers) in the same run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, run, log, ensureNodeModules } from './lib.mjs';

const wanted = process.argv.slice(2);
const want = (name) => wanted.length === 0 || wanted.includes(name);
ensureNodeModules();

const suites = [
  ['engine', join('bench', 'engine', 'run.mjs')],
  ['tokenizers', join('bench', 'tokenizers', 'run.mjs')],
  ['training', join('bench', 'training', 'run.mjs')],
  ['vision', join('bench', 'vision', 'run.mjs')],
];
for (const [name, script] of suites) {
  if (!want(name)) continue;
  if (!existsSync(join(root, script))) { log(`(no ${name} benchmark script yet)`); continue; }
  log(`=== ${name}`);
  run('node', [script]);
}
if (want('dotnet')) {
  log('=== BenchmarkDotNet micro-benchmarks (kernels, PNG, statistics)');
  run('dotnet', ['run', '-c', 'Release', '--project', join('server', 'bench', 'ModelVis.Bench'), '--', '--filter', process.env.MODELVIS_BENCH_FILTER || '*']);
}
