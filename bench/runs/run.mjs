// Training-run benchmark: an event file of 1,000,000 scalar points (generated here, framed with CRC-32C as
// TensorFlow writes them) read by the host through runs/scalars, as the run panel asks for it — time to the data
// in the extension's process and the host's peak memory — beside Python reading the same file with a plain
// TFRecord loop (length, skip the CRCs, slice the record; no protobuf decoding, which Python here lacks), and the
// webview's own preparation of the chart data (smoothing and x values) timed in Node; then the same file opened
// from the Runs view in a real VS Code (code-server + Chromium, the packaged extension), timed in the browser: from
// the click on the run to the frame that shows its chart (uPlot, raw and smoothed lines of 1,000,000 points each),
// the webview's own part of it (state message arrival → chart painted), and the webview's JS heap. Prints a
// Markdown table; Python's loop is the baseline of the ratios.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, writeSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { startHost } = await import(join(root, 'tests', 'node', 'host-client.mjs'));
const points = Number(process.env.MODELVIS_BENCH_POINTS || 1_000_000);
const reps = Number(process.env.MODELVIS_BENCH_REPS || 3);

// --- the event file: Event{wall_time, step, summary{value{tag, simple_value}}}, encoded by hand ---
const table = new Uint32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
function crc32c(buf, start, end) { let c = 0xffffffff; for (let i = start; i < end; i++) c = table[(c ^ buf[i]) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }
const mask = (c) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
function varint(out, at, n) { while (n > 127) { out[at++] = (n % 128) | 128; n = Math.floor(n / 128); } out[at++] = n; return at; }

const dir = mkdtempSync(join(tmpdir(), 'modelvis-runs-bench-'));
const file = join(dir, 'events.out.tfevents.1700000000.bench.1.0');
{
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 22);
  let used = 0;
  const tag = Buffer.from('train/loss');
  const record = Buffer.alloc(128);
  for (let i = 0; i < points; i++) {
    // Event body at record[12…]
    let p = 12;
    record[p++] = (1 << 3) | 1; record.writeDoubleLE(1700000000 + i * 0.01, p); p += 8;  // wall_time
    record[p++] = (2 << 3) | 0; p = varint(record, p, i);                                 // step
    const valueLen = 2 + tag.length + 5;
    record[p++] = (5 << 3) | 2; p = varint(record, p, valueLen + 2);                      // summary
    record[p++] = (1 << 3) | 2; p = varint(record, p, valueLen);                          // value
    record[p++] = (1 << 3) | 2; record[p++] = tag.length; tag.copy(record, p); p += tag.length;
    record[p++] = (2 << 3) | 5; record.writeFloatLE(2 * Math.exp(-i / (points / 5)) + 0.1 * Math.sin(i), p); p += 4;
    const len = p - 12;
    record.writeBigUInt64LE(BigInt(len), 0);
    record.writeUInt32LE(mask(crc32c(record, 0, 8)), 8);
    record.writeUInt32LE(mask(crc32c(record, 12, p)), p);
    const total = p + 4;
    if (used + total > chunk.length) { writeSync(fd, chunk, 0, used); used = 0; }
    record.copy(chunk, used, 0, total);
    used += total;
  }
  writeSync(fd, chunk, 0, used);
  closeSync(fd);
}
const size = statSync(file).size;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakKiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

// --- the host, as the run panel drives it ---
const host = startHost();
await host.connection.sendRequest('initialize', {});
const baseKiB = peakKiB(host.proc.pid);
const hostMs = [];
let count = 0;
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  const res = await host.connection.sendRequest('runs/scalars', { path: dir });
  hostMs.push(performance.now() - t0);
  count = res.tags['train/loss'].steps.length;
}
const hostPeak = peakKiB(host.proc.pid);
await host.stop();
if (count !== points) throw new Error(`runs/scalars returned ${count} points, expected ${points}`);

// --- the webview's preparation of one chart (pure logic, compiled by the extension's unit-test build) ---
let prepMs = NaN;
try {
  const mod = await import(join(root, 'vscode-modelvis', 'out', 'src', 'common', 'runsChart.js'));
  const chart = mod.default ?? mod;
  const series = { steps: Array.from({ length: points }, (_, i) => i), values: Array.from({ length: points }, (_, i) => Math.exp(-i / 2e5) + Math.sin(i) * 0.1), wallTimes: Array.from({ length: points }, (_, i) => 1.7e9 + i) };
  const t0 = performance.now();
  const x = chart.xValues(series, 'relative');
  const y = chart.emaSmooth(series.values, 0.6);
  chart.alignSeries([{ x, y }]);
  prepMs = performance.now() - t0;
} catch { /* out/ not built: `npm test --workspace vscode-modelvis` builds it */ }

// --- Python: a plain TFRecord loop over the same file ---
const py = `
import struct, time
t=time.perf_counter(); n=0
with open(${JSON.stringify(file)},'rb') as f:
    data=f.read()
p=0; L=len(data)
while p+12<=L:
    (ln,)=struct.unpack_from('<Q',data,p); rec=data[p+12:p+12+ln]; p+=12+ln+4; n+=1
print(n, (time.perf_counter()-t)*1000)
`;
const pyMs = [];
for (let r = 0; r < reps; r++) {
  const out = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
  if (out.status !== 0) { pyMs.push(NaN); break; }
  const [n, ms] = out.stdout.trim().split(/\s+/).map(Number);
  if (n !== points) throw new Error(`python read ${n} records`);
  pyMs.push(ms);
}

// --- the browser: the Runs view → the run → its chart painted ---
const browser = { total: [], draw: [], heap: NaN, error: '' };
if (!process.env.MODELVIS_BENCH_NO_BROWSER) {
  const { launch, TIMEOUTS, waitFor } = await import(join(root, 'tests', 'e2e', 'harness.mjs'));
  const s = await launch({
    name: 'benchruns',
    workspace: (ws) => {
      mkdirSync(join(ws, 'bench_run'), { recursive: true });
      copyFileSync(file, join(ws, 'bench_run', 'events.out.tfevents.1700000000.bench.1.0'));
      return {};
    },
  });
  try {
    await s.openActivity('ModelVis', 'Runs');
    for (let r = 0; r <= reps; r++) {
      const row = s.treeRow('Runs', 'bench_run');
      await row.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
      const clicked = Date.now();
      await row.click();
      const frame = await s.webview('.chart[data-tag="train/loss"][data-painted-at]', { timeout: 5 * TIMEOUTS.host });
      const chart = frame.locator('.chart[data-tag="train/loss"]');
      const painted = Number(await chart.getAttribute('data-painted-at'));
      const drawMs = Number(await chart.getAttribute('data-draw-ms'));
      const heap = await frame.locator('body').evaluate(() => performance.memory?.usedJSHeapSize ?? NaN);
      if (r > 0) { // the first opening warms the host (JIT) and the webview's caches
        browser.total.push(painted - clicked);
        browser.draw.push(drawMs);
        browser.heap = heap;
      }
      process.stderr.write(`[bench] open ${r}: chart painted ${(painted - clicked).toFixed(0)} ms after the click (webview ${drawMs} ms), heap ${(heap / 2 ** 20).toFixed(0)} MiB\n`);
      if (r === reps) await s.screenshot('bench-runs-1M');
      await s.runCommand('View: Close All Editors');
      await waitFor(async () => (await s.page.locator('iframe.webview.ready').count()) === 0, { timeout: TIMEOUTS.action, message: 'the run panel closed' });
    }
  } catch (e) {
    browser.error = e.message.split('\n')[0];
  } finally {
    await s.close();
  }
}

if (process.env.MODELVIS_BENCH_KEEP) console.log(`kept ${file}`);
else rmSync(dir, { recursive: true, force: true });

console.log(`\nEvent file: ${points.toLocaleString()} scalar points, ${(size / 1e6).toFixed(1)} MB; median of ${reps}\n`);
console.log('| what | time | memory |');
console.log('|---|---|---|');
console.log(`| host: runs/scalars (read, CRC-check, decode, JSON to the client) | ${median(hostMs).toFixed(0)} ms | host peak RSS ${(hostPeak / 1024).toFixed(0)} MiB (${(baseKiB / 1024).toFixed(0)} MiB before) |`);
console.log(`| webview prep of one chart (relative x, smoothing 0.6, ordering) in Node | ${Number.isFinite(prepMs) ? prepMs.toFixed(0) + ' ms' : 'not built'} | – |`);
console.log(`| Python: plain TFRecord loop (framing only, no CRC, no protobuf) | ${median(pyMs).toFixed(0)} ms (1.00×) | – |`);
const ratio = (ms) => (Number.isFinite(median(pyMs)) ? ` (${(ms / median(pyMs)).toFixed(2)}× Python's loop)` : '');
if (browser.total.length > 0) {
  console.log(`| browser: click on the run in the Runs view → its chart painted (host read, JSON, webview, uPlot: raw + smoothed, 2 × ${points.toLocaleString()} points) | ${median(browser.total).toFixed(0)} ms${ratio(median(browser.total))} | webview JS heap ${(browser.heap / 2 ** 20).toFixed(0)} MiB |`);
  console.log(`| browser: the webview's part (state message arrived → chart painted) | ${median(browser.draw).toFixed(0)} ms${ratio(median(browser.draw))} | – |`);
} else console.log(`| browser | ${browser.error || 'skipped (MODELVIS_BENCH_NO_BROWSER)'} | – |`);
