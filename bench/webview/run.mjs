// The attention webview's own drawing time, measured inside the webview (Chromium, code-server, the packaged
// extension) for 128, 512 and 2,048 tokens: the first heatmap of a run, switching layer/head, and the hover
// read-out. Model: the real stories260K with max_position_embeddings raised to 2,048 in a temporary copy of
// its config (RoPE positions are computed, not learned, so the same weights run at any length).
// Each text is one line of the project's README cut at N tokens (the command reads the current line).
// Times, all taken in the webview with performance.now():
//   draw    — from the host's last answer arriving in the webview to the heatmap drawn (PNG decoded, labels
//             laid out, the frame painted): the webview's own work;
//   total   — from the user's action (the run message, a changed <select>, a mousemove) to the same point,
//             so including the round trips through the extension to the host;
//   hover   — a mousemove over a new query row to the marker painted, and to its weight painted (past 512
//             tokens the weight is one attention/row round trip away).
// Prints a Markdown table of medians; the 128-token row is the baseline for the ratios.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, fixturesDir, repoRoot, TIMEOUTS, waitFor } from '../../tests/e2e/harness.mjs';

const reps = Number(process.env.MODELVIS_BENCH_REPS || 7);
const lengths = (process.env.MODELVIS_BENCH_LENGTHS || '128,512,2048').split(',').map(Number);
const hostDll = join(repoRoot, 'vscode-modelvis', 'host', 'modelvis.dll');

function tokenize(model, text) {
  const r = spawnSync('dotnet', [hostDll, 'tokenize', '--model', model, '--text', text, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tokenize failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The workspace: models/stories260K-2k (weights linked, config with 2,048 positions) and tokens-N.txt. */
function workspace(dir) {
  const source = join(fixturesDir, 'models', 'stories260K');
  const model = join(dir, 'models', 'stories260K-2k');
  mkdirSync(model, { recursive: true });
  for (const f of readdirSync(source)) if (f !== 'config.json') symlinkSync(join(source, f), join(model, f));
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8'));
  writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 2048 }, null, 2));
  const text = readFileSync(join(repoRoot, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const { offsets } = tokenize(model, text);
  if (offsets.length < Math.max(...lengths)) throw new Error(`README.md is only ${offsets.length} tokens long`);
  const files = {};
  for (const n of lengths) {
    // n tokens counting the BOS the tokenizer adds: cut after token n-1.
    const line = text.slice(0, offsets[n - 1][1]);
    files[n] = `tokens-${n}.txt`;
    writeFileSync(join(dir, files[n]), `${line}\n`);
  }
  return { model, files };
}

// ---- in the webview ----

/** Installed once in the webview's document: arrival times of messages, and a "drawn" wait. */
function install() {
  if (window.__mvBench) return;
  const B = (window.__mvBench = { messages: [], lastRun: 0 });
  // When each message from the extension arrived: its event's timeStamp, taken before any listener ran
  // (this listener runs after the panel's own, so a heatmap may be built before it sees the answer).
  window.addEventListener('message', (e) => {
    B.messages.push({ type: e.data?.type, at: e.timeStamp });
    if (B.messages.length > 200) B.messages.splice(0, 100);
    if (e.data?.type === 'run') B.lastRun = e.timeStamp;
  });
  /** The latest message of `type` that arrived before `t`. */
  B.arrived = (type, t) => B.messages.reduce((m, x) => (x.type === type && x.at <= t && x.at > m ? x.at : m), 0);
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve(performance.now());
    ch.port2.postMessage(0);
  }));
  B.afterPaint = afterPaint;
  /** Resolves when a heatmap is drawn (of `layer`/`head` when given; after a new run when `afterRun`):
   *  {drawn, started (the extension's last answer before it was built), run (the run message), labels, nodes}. */
  B.heatmapDrawn = ({ layer, head, afterRun = false } = {}) => new Promise((resolve) => {
    let sel = '#attention-heatmap[data-status="ready"]';
    if (layer !== undefined) sel += `[data-layer="${layer}"][data-head="${head}"]`;
    const check = () => {
      if (afterRun && B.lastRun === 0) return false;
      const holder = document.querySelector(sel);
      const img = holder?.querySelector('.matrix-plot img');
      if (!img) return false;
      observer.disconnect();
      const ready = performance.now();
      // decode() rejects for an image that is replaced meanwhile: then the load event is enough.
      img.decode().catch(() => undefined).then(async () => {
        const decoded = performance.now();
        // Force the labels' layout, then wait for the frame that shows it all.
        holder.getBoundingClientRect();
        const drawn = await afterPaint();
        resolve({ drawn, ready, decoded, started: B.arrived('response', ready), run: B.arrived('run', ready), png: img.naturalWidth, labels: holder.querySelectorAll('.token-label').length, nodes: holder.getElementsByTagName('*').length });
      });
      return true;
    };
    const observer = new MutationObserver(check);
    if (!check()) observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

/** In the webview: switches to (layer, head) through the panel's own <select>s; times it. */
async function switchTo(_, { layer, head }) {
  const B = window.__mvBench;
  const t0 = performance.now();
  const ls = document.getElementById('layer-select');
  if (ls.value !== String(layer)) { ls.value = String(layer); ls.dispatchEvent(new Event('change')); }
  const hs = document.getElementById('head-select');
  hs.value = String(head);
  hs.dispatchEvent(new Event('change'));
  // The change handlers replaced the old heatmap synchronously: wait for the new one.
  const r = await B.heatmapDrawn({ layer, head });
  return { total: r.drawn - t0, draw: r.drawn - r.started, build: r.ready - r.started, decode: r.decoded - r.ready };
}

/** In the webview: moves the mouse over cell (q, k) of the heatmap (mouse events land on whole pixels: the
 *  cell under that pixel); times until the read-out shows that cell's weight, painted. */
async function hoverCell(_, { q, k }) {
  const B = window.__mvBench;
  const plot = document.querySelector('#heatmap-figure .matrix-plot');
  const rect = plot.querySelector('img').getBoundingClientRect();
  const readout = document.getElementById('heatmap-figure-readout');
  const n = Number(document.getElementById('run-meta').dataset.n);
  const x = Math.round(rect.left + ((k + 0.5) * rect.width) / n);
  const y = Math.round(rect.top + ((q + 0.5) * rect.height) / n);
  const cell = { q: Math.floor(((y - rect.top) / rect.height) * n), k: Math.floor(((x - rect.left) / rect.width) * n) };
  const marked = () => readout.dataset.query === String(cell.q) && readout.dataset.key === String(cell.k);
  const shown = () => marked() && readout.dataset.weight !== '';
  const t0 = performance.now();
  plot.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: x, clientY: y }));
  // The marker and the read-out's "query → key" follow the mouse at once; past 512 tokens the weight
  // comes from the host (attention/row), a round trip later.
  const atOnce = shown();
  const weightShown = atOnce
    ? Promise.resolve()
    : new Promise((resolve) => {
        const o = new MutationObserver(() => shown() && (o.disconnect(), resolve()));
        o.observe(readout, { attributes: true, childList: true, characterData: true, subtree: true });
      });
  const tMarker = marked() ? await B.afterPaint() : NaN;
  await weightShown;
  const tWeight = atOnce ? tMarker : await B.afterPaint();
  return { marker: tMarker - t0, total: tWeight - t0, weight: Number(readout.dataset.weight), ...cell };
}

// ---- driver ----

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
/** A step that must finish within the host's time limit (a hung wait names itself). */
function within(label, promise, ms = TIMEOUTS.host) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label}: no answer in ${ms} ms`)), ms); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

const s = await launch({
  name: 'benchwv',
  workspace,
  settings: (ws) => ({ 'modelvis.model': ws.model, 'workbench.colorTheme': 'Default Dark Modern' }),
});
const results = [];
try {
  let frame;
  for (const n of lengths) {
    const file = s.workspaceInfo.files[n];
    await s.openFile(file);
    const first = { total: [], draw: [] };
    let labels = 0, nodes = 0, png = 0;
    for (let r = 0; r <= reps; r++) {
      // Cursor on the line (no selection): the command reads the current line.
      const box = await s.textBox(readFileSync(join(s.dirs.workspace, file), 'utf8').slice(0, 12));
      await s.page.mouse.click(box.x1 + 2, box.y);
      // Armed before the command: resolves on the first heatmap of the new run.
      const pending = frame?.locator('body').evaluate(() => {
        window.__mvBench.lastRun = 0;
        return window.__mvBench.heatmapDrawn({ afterRun: true });
      });
      await s.runCommand('ModelVis: Visualize Attention');
      if (!frame) {
        // The first run opens the panel: not measured, it only warms up the host and the webview.
        frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
        await frame.locator('body').evaluate(install);
        continue;
      }
      const res = await within(`${n} tokens, run ${r}: first heatmap`, pending);
      const meta = await frame.locator('#run-meta').getAttribute('data-n');
      if (Number(meta) !== n) throw new Error(`the run has ${meta} tokens, expected ${n}`);
      if (process.env.MODELVIS_BENCH_DEBUG) log(JSON.stringify(res));
      if (r === 0) continue; // the first run of each length warms the host (JIT, caches)
      first.total.push(res.drawn - res.run);
      first.draw.push(res.drawn - res.started);
      labels = res.labels;
      nodes = res.nodes;
      png = res.png;
    }
    // Every layer streamed in before switching.
    await waitFor(async () => (await frame.locator('#attention-controls').getAttribute('data-layers-done')) === '5', { timeout: TIMEOUTS.host, message: 'all layers done' });
    const sw = { total: [], draw: [], build: [], decode: [] };
    for (let r = 0; r < reps; r++) {
      // A head not drawn before in this run (webview and host caches cold for the image).
      const to = { layer: 1 + (r % 4), head: (r * 3 + 1) % 8 };
      const x = await within(`${n} tokens: switch to ${JSON.stringify(to)}`, frame.locator('body').evaluate(switchTo, to));
      sw.total.push(x.total);
      sw.draw.push(x.draw);
      sw.build.push(x.build);
      sw.decode.push(x.decode);
    }
    const hv = [], marker = [];
    for (let r = 0; r < reps; r++) {
      // A new query row each time (for n > 512 the row comes from the host).
      const q = Math.floor(((r + 1) * (n - 1)) / (reps + 1));
      const x = await within(`${n} tokens: hover ${q}`, frame.locator('body').evaluate(hoverCell, { q, k: Math.floor(q / 2) }));
      if (!(x.weight >= 0 && x.weight <= 1)) throw new Error(`read-out weight ${x.weight}`);
      hv.push(x.total);
      marker.push(x.marker);
    }
    await s.screenshot(`bench-webview-${n}`);
    results.push({ n, labels, nodes, first, sw, hv, marker });
    log(`${n} tokens: first heatmap ${median(first.total).toFixed(1)} ms (draw ${median(first.draw).toFixed(1)}), switch ${median(sw.total).toFixed(1)} (draw ${median(sw.draw).toFixed(1)}: build ${median(sw.build).toFixed(1)}, decode ${median(sw.decode).toFixed(1)}), hover: marker ${median(marker).toFixed(1)}, weight ${median(hv).toFixed(1)} ms; ${labels} labels, ${nodes} nodes, PNG ${png} px`);
  }
} finally {
  await s.close();
}

const base = results[0];
const f = (x) => x.toFixed(1);
const ratio = (x, b) => `${f(x)} (${(x / b).toFixed(2)}×)`;
console.log(`\nAttention webview, Chromium in code-server (median of ${reps}; in parentheses: ratio to ${base.n} tokens, same run)\n`);
console.log('| tokens | first heatmap: draw | first heatmap: total | switch layer/head: draw | switch: total | hover: marker | hover: weight | label nodes / all nodes |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.n} | ${ratio(median(r.first.draw), median(base.first.draw))} ms | ${ratio(median(r.first.total), median(base.first.total))} ms | ${ratio(median(r.sw.draw), median(base.sw.draw))} ms | ${ratio(median(r.sw.total), median(base.sw.total))} ms | ${ratio(median(r.marker), median(base.marker))} ms | ${ratio(median(r.hv), median(base.hv))} ms | ${r.labels} / ${r.nodes} |`);
}
