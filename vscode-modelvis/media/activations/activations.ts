// The activation-function view (issue 19): for every MLP layer, the activation function's curve drawn over the
// histogram of its actual inputs on the selection, so it shows where on the curve the model works; the share of
// inputs where the output is near zero and where the curve is flat (dead ReLUs, saturated gates) beside it.

import type { ActivationLayer, ActivationProfile, ActivationsViewRequests } from '../../src/common/protocol';
import { connect, h, render, svg } from '../webview/common';
import { ViewRequests } from '../webview/requests';

type ToWebview = { type: 'show'; title: string } | { type: 'response'; id: number; result?: unknown; error?: string };

const requests = new ViewRequests<typeof ActivationsViewRequests>();
let logCounts = false;
let profile: ActivationProfile | undefined;
let title = '';

connect<ToWebview>((m) => {
  if (m.type === 'response') requests.settle(m);
  else if (m.type === 'show') {
    title = m.title;
    void load();
  }
});

async function load(): Promise<void> {
  render('loading', h('p', { class: 'loading' }, 'Running the model and reading each MLP’s activation inputs…'));
  try {
    profile = await requests.request('activations/profile', { bins: 80 });
    draw();
  } catch (e) {
    render('error', h('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
  }
}

const FUNCTION_NAMES: Record<string, string> = {
  gelu: 'GELU (erf)', gelu_new: 'GELU (tanh approximation)', gelu_pytorch_tanh: 'GELU (tanh approximation)', gelu_fast: 'GELU (tanh approximation)',
  silu: 'SiLU', swish: 'SiLU', relu: 'ReLU',
};

function draw(): void {
  const p = profile!;
  const name = FUNCTION_NAMES[p.function] ?? p.function;
  render(
    'ready',
    h('header', { class: 'toolbar' },
      h('strong', {}, title),
      h('span', {}, `${p.gated ? `${name} gate of a gated MLP (the gate's input is shown)` : name} · ${p.units.toLocaleString()} units per layer`),
      h('label', {}, h('input', { type: 'checkbox', 'data-role': 'log', checked: logCounts, onchange: (e: Event) => { logCounts = (e.target as HTMLInputElement).checked; draw(); } }), ' log counts')),
    h('p', { class: 'legend' }, 'Bars: how many inputs (tokens × units) fall in each range; line: the function. ',
      h('span', { class: 'near' }, 'near zero'), ': |f(x)| < 0.01 · ', h('span', { class: 'flat' }, 'flat'), ': |f′(x)| < 0.01 (no gradient passes).'),
    h('div', { class: 'layers' }, ...p.layers.map(chart)),
  );
}

function chart(layer: ActivationLayer): HTMLElement {
  const W = 320, H = 170, left = 34, right = 34, top = 10, bottom = 24;
  const iw = W - left - right, ih = H - top - bottom;
  const x = (v: number) => left + ((v - layer.min) / (layer.max - layer.min)) * iw;
  const count = (c: number) => (logCounts ? Math.log10(1 + c) : c);
  const maxCount = Math.max(...layer.counts.map(count), 1e-9);
  const bins = layer.counts.length, bw = iw / bins;
  const yLo = Math.min(...layer.curveY), yHi = Math.max(...layer.curveY);
  const fy = (v: number) => top + ih - ((v - yLo) / Math.max(yHi - yLo, 1e-9)) * ih;
  const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `layer ${layer.layer}` });
  layer.counts.forEach((c, i) => {
    const hgt = (count(c) / maxCount) * ih;
    plot.appendChild(svg('rect', { x: left + i * bw, y: top + ih - hgt, width: Math.max(bw - 0.5, 0.5), height: hgt, class: 'bar', 'data-count': c }));
  });
  if (layer.min < 0 && layer.max > 0) plot.appendChild(svg('line', { x1: x(0), x2: x(0), y1: top, y2: top + ih, class: 'axis' }));
  if (yLo < 0 && yHi > 0) plot.appendChild(svg('line', { x1: left, x2: left + iw, y1: fy(0), y2: fy(0), class: 'axis' }));
  plot.appendChild(svg('polyline', { class: 'curve', points: layer.curveX.map((v, i) => `${x(v).toFixed(1)},${fy(layer.curveY[i]).toFixed(1)}`).join(' ') }));
  plot.appendChild(svg('text', { x: left, y: H - 6, class: 'tick' }, layer.min.toPrecision(3)));
  plot.appendChild(svg('text', { x: left + iw, y: H - 6, class: 'tick end' }, layer.max.toPrecision(3)));
  plot.appendChild(svg('text', { x: W - 2, y: top + 8, class: 'tick end curve-label' }, `f ${yHi.toPrecision(3)}`));
  plot.appendChild(svg('text', { x: W - 2, y: top + ih, class: 'tick end curve-label' }, `${yLo.toPrecision(3)}`));
  return h('figure', { class: 'layer', 'data-layer': layer.layer, 'data-near-zero': layer.nearZero, 'data-flat': layer.flat, 'data-total': layer.total },
    h('figcaption', {}, h('strong', {}, `layer ${layer.layer}`), ' ',
      h('span', { class: 'near' }, `${(100 * layer.nearZero).toFixed(1)} % near zero`), ' · ',
      h('span', { class: 'flat' }, `${(100 * layer.flat).toFixed(1)} % flat`), ' · ',
      `mean input ${layer.mean.toPrecision(3)}`),
    plot);
}
