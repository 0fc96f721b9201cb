// The loss curve's geometry (pure: shared by the loss-curve webview and the unit tests): axis ranges,
// round tick values, a smoothed copy of the curve and the SVG path of a polyline.

export interface LossPoint {
  step: number;
  loss: number;
}

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Scales {
  x: (step: number) => number;
  y: (loss: number) => number;
  xDomain: [number, number];
  yDomain: [number, number];
}

/** Round tick values (1, 2 or 5 × 10^k apart) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const residual = raw / magnitude;
  const step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9) * step;
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/**
 * Scales from steps (0 … total steps, known in advance so the curve grows left to right) and losses
 * (the finite points' range, padded by 5 %) to the drawing box; y grows downwards as in SVG.
 */
export function lossScales(points: readonly LossPoint[], totalSteps: number, box: Box): Scales {
  const finite = points.filter((p) => Number.isFinite(p.loss));
  const lastStep = points.length ? points[points.length - 1].step : 0;
  const xMax = Math.max(1, totalSteps, lastStep);
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of finite) {
    lo = Math.min(lo, p.loss);
    hi = Math.max(hi, p.loss);
  }
  if (!finite.length) [lo, hi] = [0, 1];
  const nonNegative = lo >= 0;
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  // Losses are never negative: the axis stops at 0 rather than padding below it.
  const yDomain: [number, number] = [nonNegative ? Math.max(0, lo - pad) : lo - pad, hi + pad];
  const x0 = box.left;
  const x1 = box.width - box.right;
  const y0 = box.height - box.bottom;
  const y1 = box.top;
  return {
    xDomain: [0, xMax],
    yDomain,
    x: (step) => x0 + ((x1 - x0) * step) / xMax,
    y: (loss) => y0 + ((y1 - y0) * (loss - yDomain[0])) / (yDomain[1] - yDomain[0]),
  };
}

/** Exponential moving average (the trainer's own progress message uses 0.9). */
export function smooth(points: readonly LossPoint[], keep = 0.9): LossPoint[] {
  const out: LossPoint[] = [];
  let ema = NaN;
  for (const p of points) {
    if (!Number.isFinite(p.loss)) continue;
    ema = Number.isNaN(ema) ? p.loss : keep * ema + (1 - keep) * p.loss;
    out.push({ step: p.step, loss: ema });
  }
  return out;
}

/**
 * The SVG path ("M x,y L x,y …") of the finite points, with coordinates rounded to 0.1 px; when there
 * are more points than `maxPoints`, each run of consecutive points is replaced by its mean.
 */
export function linePath(points: readonly LossPoint[], scales: Scales, maxPoints = 1000): string {
  const finite = points.filter((p) => Number.isFinite(p.loss));
  const merged = finite.length > maxPoints ? bucketMeans(finite, maxPoints) : finite;
  const r = (v: number) => Math.round(v * 10) / 10;
  return merged.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(scales.x(p.step))},${r(scales.y(p.loss))}`).join(' ');
}

function bucketMeans(points: readonly LossPoint[], buckets: number): LossPoint[] {
  const out: LossPoint[] = [];
  const size = points.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.max(from + 1, Math.floor((b + 1) * size));
    let s = 0;
    let l = 0;
    for (let i = from; i < to; i++) {
      s += points[i].step;
      l += points[i].loss;
    }
    out.push({ step: s / (to - from), loss: l / (to - from) });
  }
  return out;
}
