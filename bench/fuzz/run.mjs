// `npm run bench -- fuzz [--seconds N]`: every fuzzer of the test suite (the readers of safetensors, PyTorch zips
// and pickles, GGUF, ONNX, tokenizer.json, config.json, TFRecord/event files, PNG/JPEG, and the RPC framing), each
// for N seconds (default 60) along the inputs the test run reads a fixed number of, in a process whose managed heap is capped at 4 GiB
// (DOTNET_GCHeapHardLimit): an input that tried to allocate past it would fail its test. Prints each fuzzer's
// input count and a table.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const at = args.indexOf('--seconds');
const seconds = at >= 0 ? Number(args[at + 1]) : Number(process.env.MODELVIS_FUZZ_SECONDS || 60);
const capBytes = 4 * 1024 ** 3;
const configuration = process.env.MODELVIS_CONFIGURATION || 'Release';

const started = Date.now();
const result = spawnSync('dotnet', ['test', join(root, 'server', 'ModelVis.slnx'), '-c', configuration, '--nologo', '-v', 'q',
  '--filter', 'FullyQualifiedName~Fuzz', '--logger', 'console;verbosity=detailed'], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 256 << 20,
  env: { ...process.env, MODELVIS_FUZZ_SECONDS: String(seconds), DOTNET_GCHeapHardLimit: '0x' + capBytes.toString(16) },
});
const out = `${result.stdout}${result.stderr}`;
const lines = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('fuzz '));
const failed = out.split('\n').filter((l) => /\[FAIL\]|^\s*Failed /.test(l));
console.log(`\n| fuzzer | inputs | seconds | inputs/s |\n|---|---:|---:|---:|`);
let total = 0;
for (const line of lines) {
  const m = /^fuzz (.+?): ([\d,]+) inputs in ([\d.]+) s/.exec(line);
  if (!m) continue;
  const n = Number(m[2].replaceAll(',', ''));
  total += n;
  console.log(`| ${m[1]} | ${n.toLocaleString('en-US')} | ${m[3]} | ${Math.round(n / Number(m[3])).toLocaleString('en-US')} |`);
}
console.log(`\n${lines.length} fuzzers, ${total.toLocaleString('en-US')} inputs in ${((Date.now() - started) / 1000).toFixed(0)} s wall, managed heap capped at ${capBytes / 1024 ** 3} GiB; ${failed.length ? 'FAILURES:' : 'every input a result or a clear error.'}`);
if (failed.length || result.status !== 0) {
  console.log(out.split('\n').filter((l) => /FAIL|Error Message|input #|Exception/.test(l)).slice(0, 40).join('\n'));
  process.exit(1);
}
