// runs/* and checkpoints/* through vscode-jsonrpc, against the CLI (scalars, compare) and values computed here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, fixtures, hostDll } from './host-client.mjs';

let host;
let temp;
before(() => { host = startHost(); temp = mkdtempSync(join(tmpdir(), 'modelvis-runs-')); });
after(async () => { await host.stop(); rmSync(temp, { recursive: true, force: true }); });

const cli_ = (...args) => JSON.parse(execFileSync('dotnet', [hostDll(), ...args], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] }).toString());
const lstm = join(fixtures, 'runs', 'lightning-lstm-shakespeare');

test('runs/discover finds the fixture runs with their event files', async () => {
  const { runs } = await host.connection.sendRequest('runs/discover', { workspaceFolders: [join(fixtures, 'runs')] });
  const names = runs.map((r) => r.name).sort();
  assert.deepEqual(names, ['lightning-lstm-shakespeare', 'lightning-mnist-mlp']);
  for (const r of runs) assert.equal(r.files.filter((f) => f.kind === 'tfevents').length, 1);
});

test('runs/scalars equals the CLI scalars --json, tag by tag, point by point', async () => {
  const fromCli = cli_('scalars', '--run', lstm, '--json');
  const fromHost = await host.connection.sendRequest('runs/scalars', { path: lstm });
  assert.deepEqual(Object.keys(fromHost.tags), Object.keys(fromCli.tags));
  for (const [tag, s] of Object.entries(fromCli.tags)) {
    assert.deepEqual(fromHost.tags[tag].steps, s.steps, tag);
    assert.deepEqual(fromHost.tags[tag].values, s.values, tag);
    assert.deepEqual(fromHost.tags[tag].wallTimes, s.wall_times, tag);
  }
  assert.equal(fromCli.tags.train_loss.steps.length, 7691);
  assert.deepEqual(fromHost.problems, []);
});

test('runs/tags: the tags with counts and last values, without the points', async () => {
  const { tags, problems } = await host.connection.sendRequest('runs/tags', { path: lstm });
  assert.equal(problems, 0);
  const train = tags.find((t) => t.tag === 'train_loss');
  assert.equal(train.kind, 'scalar');
  assert.equal(train.count, 7691);
  const cli = cli_('scalars', '--run', lstm, '--json').tags.train_loss;
  assert.equal(train.last, cli.values.at(-1));
  assert.equal(train.lastStep, cli.steps.at(-1));
});

test('runs/scalars with a cursor returns only what a growing log gained', async () => {
  const log = join(temp, 'metrics.jsonl');
  writeFileSync(log, '{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo');
  const first = await host.connection.sendRequest('runs/scalars', { path: temp });
  assert.deepEqual(first.tags.loss.values, [2.0, 1.5]);
  assert.deepEqual(first.tags.loss.wallTimes, [null, null]);
  appendFileSync(log, 'ss": 1.25}\n{"step": 4, "loss": 1.0}\n');
  const next = await host.connection.sendRequest('runs/scalars', { path: temp, cursor: first.cursor });
  assert.deepEqual(next.tags.loss.steps, [3, 4]);
  assert.deepEqual(next.tags.loss.values, [1.25, 1.0]);
  assert.deepEqual(next.reset, []);
});

test('runs/histograms: buckets and percentile bands of an old-style histo summary', async () => {
  // An event file with one HistogramProto, framed here with a CRC-32C written in this test.
  const crcTable = new Uint32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc32c = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const masked = (buf) => { const c = crc32c(buf); return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0; };
  const varint = (n) => { const out = []; while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); } out.push(n); return out; };
  const field = (num, wire, payload) => Buffer.from([...varint(num * 8 + wire), ...payload]);
  const lenField = (num, bytes) => Buffer.concat([field(num, 2, varint(bytes.length)), bytes]);
  const dbl = (x) => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return b; };
  const packed = (xs) => Buffer.concat(xs.map(dbl));
  // HistogramProto: min 0, max 4, num 10, bucket_limit [1, 2, 4], bucket [2, 3, 5].
  const histo = Buffer.concat([field(1, 1, dbl(0)), field(2, 1, dbl(4)), field(3, 1, dbl(10)), lenField(6, packed([1, 2, 4])), lenField(7, packed([2, 3, 5]))]);
  const value = Buffer.concat([lenField(1, Buffer.from('w')), lenField(5, histo)]);
  const summary = lenField(1, value);
  const event = Buffer.concat([field(1, 1, dbl(1700000000)), field(2, 0, varint(7)), lenField(5, summary)]);
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(event.length));
  header.writeUInt32LE(masked(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(masked(event));
  const dir = join(temp, 'hist');
  mkdirSync(dir);
  writeFileSync(join(dir, 'events.out.tfevents.1700000000.test'), Buffer.concat([header, event, footer]));

  const listed = await host.connection.sendRequest('runs/scalars', { path: dir });
  assert.deepEqual(listed.histograms, [{ tag: 'w', count: 1 }]);
  const h = await host.connection.sendRequest('runs/histograms', { path: dir, tag: 'w' });
  assert.equal(h.steps[0].step, 7);
  assert.deepEqual(h.steps[0].left, [0, 1, 2]);
  assert.deepEqual(h.steps[0].right, [1, 2, 4]);
  assert.deepEqual(h.steps[0].counts, [2, 3, 5]);
  // Median: 5 of 10 values lie in the first two buckets, so the median is the second bucket's right edge, 2.
  const median = h.steps[0].percentiles[h.basisPoints.indexOf(5000)];
  assert.equal(median, 2);
  assert.equal(h.steps[0].percentiles[0], 0);
  assert.equal(h.steps[0].percentiles.at(-1), 4);
});

test('checkpoints/compare equals the CLI compare; a copy of a Lightning .ckpt changes by zero; checkpoints/diff', async () => {
  const ckpt = join(fixtures, 'runs', 'lightning-mnist-mlp', 'epoch=2-step=3930.ckpt');
  // B: a byte-for-byte copy (the per-tensor values against an independent computation are in ModelVis.Runs.Tests).
  const a = cli_('inspect', '--model', ckpt, '--json');
  const names = a.map((t) => t.name);
  assert.ok(names.length >= 4);
  const dir = join(temp, 'cmp');
  mkdirSync(dir);
  const copy = join(dir, 'same.ckpt');
  copyFileSync(ckpt, copy);
  const fromCli = cli_('compare', '--a', ckpt, '--b', copy, '--json');
  const fromHost = await host.connection.sendRequest('checkpoints/compare', { a: ckpt, b: copy });
  assert.deepEqual(fromHost.tensors.map((t) => t.name), fromCli.tensors.map((t) => t.name));
  assert.deepEqual(fromCli.tensors.map((t) => t.rel_change), names.map(() => 0));
  assert.ok(fromHost.notes.some((n) => n.includes('optimizer')));
  const diff = await host.connection.sendRequest('checkpoints/diff', { a: ckpt, b: copy, tensor: names[0] });
  assert.equal(diff.histograms.countsA.reduce((x, y) => x + y, 0), a[0].shape.reduce((x, y) => x * y, 1));
  assert.deepEqual(diff.histograms.countsA, diff.histograms.countsB);
  assert.ok(diff.difference.png.length > 100);
});
