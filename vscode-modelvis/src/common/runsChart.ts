// Pure logic of the run charts, shared by the extension and the runs webview (tested in test/runsChart.test.ts):
// TensorBoard's smoothing, the x axis modes, series alignment for overlaid runs, and merging what a growing
// run's files gained.

import type { RunScalarsResult, ScalarSeriesWire, WireNumber } from './protocol';

export type XMode = 'step' | 'relative' | 'wall';

/** A wire number as a JS number ("NaN", "Infinity", "-Infinity" strings; null → NaN). */
export function num(x: WireNumber | null | undefined): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return NaN;
}

/**
 * TensorBoard's smoothing: an exponential moving average started at 0 and divided by (1 − weightⁿ) after n
 * finite points, so the first points are not pulled towards 0. Non-finite points pass through unsmoothed and do
 * not enter the average; a constant series is returned as is (its average would only add rounding).
 * weight 0 = no smoothing; weight must be in [0, 1).
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  if (w === 0 || values.length === 0) return values.slice();
  const constant = values.every((v) => v === values[0]);
  if (constant) return values.slice();
  const out = new Array<number>(values.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    acc = acc * w + (1 - w) * v;
    n++;
    out[i] = acc / (1 - Math.pow(w, n));
  }
  return out;
}

/**
 * The x values of a series in a mode: steps; seconds since the run's first wall time ("relative", as
 * TensorBoard's relative axis, which is per run); or wall times in seconds since 1970. Undefined when the mode
 * needs wall times the log does not have (CSV and JSON-lines logs without a time column).
 */
export function xValues(series: ScalarSeriesWire, mode: XMode, runStart?: number): number[] | undefined {
  if (mode === 'step') return series.steps.slice();
  if (series.wallTimes.length === 0 || series.wallTimes.some((t) => t === null)) return undefined;
  const times = series.wallTimes as number[];
  if (mode === 'wall') return times.slice();
  // (A loop, not Math.min(...times): a run of a million points would overflow the call stack.)
  let start = runStart ?? Infinity;
  if (runStart === undefined) for (const t of times) if (t < start) start = t;
  return times.map((t) => t - start);
}

/** The earliest wall time of a run over all its tags (the origin of its relative axis), or undefined. */
export function runStartTime(tags: Record<string, ScalarSeriesWire>): number | undefined {
  let start = Infinity;
  for (const s of Object.values(tags)) for (const t of s.wallTimes) if (t !== null && t < start) start = t;
  return Number.isFinite(start) ? start : undefined;
}

/** For a log-scale axis: values ≤ 0 or non-finite become null (gaps), as a log axis cannot show them. */
export function forLogScale(values: readonly number[]): Array<number | null> {
  return values.map((v) => (Number.isFinite(v) && v > 0 ? v : null));
}

/**
 * Several series with their own x values on one shared, ascending x array (what a chart of overlaid runs
 * needs): each series gets null where it has no point. Points of one series are kept in x order; of several
 * points at the same x in one series, the last in file order is kept.
 */
export function alignSeries(series: ReadonlyArray<{ x: readonly number[]; y: ReadonlyArray<number | null> }>): {
  x: number[];
  ys: Array<Array<number | null>>;
} {
  if (series.length === 1) {
    // One series: keep every point (duplicates too), sorted stably by x.
    const { x, y } = series[0];
    const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
    return { x: order.map((i) => x[i]), ys: [order.map((i) => y[i])] };
  }
  const all = new Set<number>();
  for (const s of series) for (const v of s.x) if (Number.isFinite(v)) all.add(v);
  const x = [...all].sort((a, b) => a - b);
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const ys = series.map((s) => {
    const row = new Array<number | null>(x.length).fill(null);
    s.x.forEach((v, i) => {
      const at = index.get(v);
      if (at !== undefined) row[at] = s.y[i];
    });
    return row;
  });
  return { x, ys };
}

/** Appends what runs/scalars returned for a cursor to the series held so far (new tags are added). */
export function appendScalars(held: Record<string, ScalarSeriesWire>, added: RunScalarsResult['tags']): Record<string, ScalarSeriesWire> {
  const out: Record<string, ScalarSeriesWire> = { ...held };
  for (const [tag, s] of Object.entries(added)) {
    const old = out[tag];
    out[tag] = old
      ? { steps: old.steps.concat(s.steps), values: old.values.concat(s.values), wallTimes: old.wallTimes.concat(s.wallTimes) }
      : s;
  }
  return out;
}

/** "1.5 h", "12 min", "40 s": a relative-time tick or read-out. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const a = Math.abs(seconds);
  if (a >= 86400) return `${+(seconds / 86400).toFixed(2)} d`;
  if (a >= 3600) return `${+(seconds / 3600).toFixed(2)} h`;
  if (a >= 60) return `${+(seconds / 60).toFixed(1)} min`;
  return `${+seconds.toFixed(1)} s`;
}

/** Groups tags by their first path segment ("Loss/train" → "Loss"), keeping first-seen order, as TensorBoard's cards. */
export function groupTags(tags: readonly string[]): Array<{ group: string; tags: string[] }> {
  const groups = new Map<string, string[]>();
  for (const t of tags) {
    const slash = t.indexOf('/');
    const g = slash > 0 ? t.slice(0, slash) : t;
    const list = groups.get(g);
    if (list) list.push(t);
    else groups.set(g, [t]);
  }
  return [...groups].map(([group, list]) => ({ group, tags: list }));
}

/**
 * A histogram's buckets spread over a shared grid of `bins` equal bins on [lo, hi] (counts spread evenly inside
 * each bucket, as TensorBoard assumes), so histograms of different steps, each with its own buckets, can be
 * drawn on one value axis. A bucket of zero width puts its count in the bin that holds it.
 */
export function resampleHistogram(left: readonly number[], right: readonly number[], counts: readonly number[], lo: number, hi: number, bins: number): number[] {
  const out = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  if (!(width > 0)) return out;
  const binOf = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
  for (let i = 0; i < counts.length; i++) {
    const a = left[i];
    const b = right[i];
    const c = counts[i];
    if (!(c > 0) || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    if (b <= a) {
      out[binOf(a)] += c;
      continue;
    }
    for (let k = binOf(a); k <= binOf(b); k++) {
      const overlap = Math.min(b, lo + (k + 1) * width) - Math.max(a, lo + k * width);
      if (overlap > 0) out[k] += (c * overlap) / (b - a);
    }
  }
  return out;
}

/** Up to `most` indices spread evenly over 0…n−1, always with the first and the last. */
export function spreadIndices(n: number, most: number): number[] {
  if (n <= most) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let k = 0; k < most; k++) out.add(Math.round((k * (n - 1)) / (most - 1)));
  return [...out];
}
