// Tokenizer throughput: ModelVis's C# tokenizers beside the Hugging Face Rust library (npm `tokenizers`, the official
// Node bindings) on the same large source text, in the same run. Prints a Markdown table with the ratio, and checks
// that both produce the same ids on that text.
//
//   cd bench/tokenizers && npm install && node run.mjs [--file TEXT_FILE] [--repeat N] [--mb SIZE]
//
// The text defaults to the repository's own source files (C#, TypeScript) concatenated to about --mb megabytes.
// On the shared build machines the whole run holds /tmp/modelvis-cpu.lock so the two sides are timed alike.
import { createRequire } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const fixtures = path.resolve(root, '..', 'shared', 'fixtures', 'tokenizers');
const lock = '/tmp/modelvis-cpu.lock';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const repeat = Number(arg('--repeat', '7'));
const targetMb = Number(arg('--mb', '1'));

// Hold the shared CPU lock for the whole run (re-exec under flock once).
if (!process.env.MODELVIS_TOKENIZER_BENCH_LOCKED && fs.existsSync(lock) && spawnSync('sh', ['-c', 'command -v flock']).status === 0) {
  const r = spawnSync('flock', [lock, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, MODELVIS_TOKENIZER_BENCH_LOCKED: '1' },
  });
  process.exit(r.status ?? 1);
}

const require = createRequire(import.meta.url);
let Tokenizer;
try { ({ Tokenizer } = require('tokenizers')); }
catch { console.error('bench/tokenizers: run `npm install` in bench/tokenizers first (needs npm `tokenizers`)'); process.exit(1); }
const rustVersion = require('tokenizers/package.json').version;

// ---------- the text ----------
function corpus() {
  const file = arg('--file', null);
  if (file) return { text: fs.readFileSync(file, 'utf8'), what: path.basename(file) };
  const files = execFileSync('git', ['ls-files', '--', 'server/src/*.cs', 'vscode-modelvis/src/*.ts', 'server/bench/*.cs'], { cwd: root, encoding: 'utf8' })
    .split('\n').filter(Boolean).sort();
  const parts = files.map((f) => fs.readFileSync(path.join(root, f), 'utf8'));
  let text = '';
  for (let i = 0; Buffer.byteLength(text) < targetMb * 1e6 && parts.length; i++) text += parts[i % parts.length];
  return { text, what: `${files.length} source files of this repository (C#/TypeScript), ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB` };
}
const { text, what } = corpus();
const bytes = Buffer.byteLength(text);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelvis-tokbench-'));
const textFile = path.join(tmp, 'corpus.txt');
fs.writeFileSync(textFile, text);
fs.writeFileSync(path.join(tmp, 'corpus.jsonl'), JSON.stringify({ text }) + '\n');
// The same text as editor-selection-sized chunks (whole lines, about 4 KB each), encoded one after another.
const chunks = [];
{
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (current.length + line.length > 4096 && current) { chunks.push(current); current = ''; }
    current += line;
  }
  if (current) chunks.push(current);
}
const chunksFile = path.join(tmp, 'chunks.jsonl');
fs.writeFileSync(chunksFile, chunks.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');

// ---------- the C# side, through the CLI built in Release ----------
console.error('building server/src/ModelVis.Cli (Release)…');
execFileSync('dotnet', ['build', '-c', 'Release', '-v', 'q', '--nologo', path.join(root, 'server', 'src', 'ModelVis.Cli')], { stdio: ['ignore', 'ignore', 'inherit'] });
const cli = path.join(root, 'server', 'src', 'ModelVis.Cli', 'bin', 'Release', 'net10.0', 'modelvis.dll');
const modelvis = (args) => execFileSync('dotnet', [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const cases = [
  ['gpt2', 'byte-level BPE'],
  ['roberta-base', 'byte-level BPE + RoBERTa template'],
  ['bert-base-uncased', 'WordPiece (BERT normalizer)'],
  ['t5-small', 'Unigram (precompiled charsmap)'],
  ['phi-3-mini', 'SentencePiece BPE, byte fallback'],
];

async function rustMedianMs(tk, texts) {
  for (const t of texts) await tk.encode(t, null, { addSpecialTokens: true }); // warm-up
  const times = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (const t of texts) await tk.encode(t, null, { addSpecialTokens: true });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

const rows = [];
for (const [name, algorithm] of cases) {
  const dir = path.join(fixtures, name);
  console.error(`${name}…`);
  const tk = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const rustIds = (await tk.encode(text, null, { addSpecialTokens: true })).getIds();
  const csIds = JSON.parse(modelvis(['tokenize', '--model', dir, '--input', path.join(tmp, 'corpus.jsonl'), '--json']).trim()).ids;
  let firstDiff = -1;
  for (let i = 0; i < Math.max(csIds.length, rustIds.length); i++) if (csIds[i] !== rustIds[i]) { firstDiff = i; break; }
  const same = firstDiff < 0 ? 'yes' : `no (first difference at token ${firstDiff})`;
  for (const [mode, file, texts] of [['whole text', textFile, [text]], [`${chunks.length} chunks of ≤4 KB`, chunksFile, chunks]]) {
    const rustMs = await rustMedianMs(tk, texts);
    const cs = JSON.parse(modelvis(['tokenize', '--model', dir, '--bench', file, '--repeat', String(repeat)]));
    rows.push({ name, algorithm, mode, tokens: rustIds.length, csMs: cs.medianMs, rustMs, same });
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

console.log(`# Tokenizer throughput (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores)`);
console.log();
console.log(`Text: ${what}. Encoded as one string, and as ${chunks.length} chunks one after another (sequential \`encode\`, special tokens added);`);
console.log(`median of ${repeat} runs after one warm-up. HF = npm tokenizers ${rustVersion}, the official bindings of the Rust library.`);
console.log('"same ids": the two produce identical ids for the whole text.');
console.log();
console.log('| tokenizer | algorithm | input | tokens | ModelVis MB/s | HF Rust MB/s | ModelVis time / Rust time | same ids |');
console.log('|---|---|---|---:|---:|---:|---:|---|');
const mbs = (ms) => (bytes / 1e6 / (ms / 1000)).toFixed(2);
for (const r of rows)
  console.log(`| ${r.name} | ${r.algorithm} | ${r.mode} | ${r.tokens.toLocaleString('en-US')} | ${mbs(r.csMs)} | ${mbs(r.rustMs)} | ${(r.csMs / r.rustMs).toFixed(2)}× | ${r.same} |`);
