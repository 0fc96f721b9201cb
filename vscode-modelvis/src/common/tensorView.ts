// What the tensor panel shows, computed from the host's answers (pure: used by the panel's
// webview script and tested without a browser).

import { formatCount, formatInteger, formatNumber, formatPercent, formatShape } from './format';
import type { TensorImage, TensorInspection } from './protocol';

export type Reduce = 'maxabs' | 'mean';

/** State the extension posts to the tensor webview. */
export interface TensorViewState {
  modelPath: string;
  modelName: string;
  tensor: string;
  status: 'loading' | 'ready' | 'error';
  error?: string;
  inspection?: TensorInspection;
  imageStatus: 'loading' | 'ready' | 'error' | 'none';
  image?: TensorImage;
  imageError?: string;
  reduce: Reduce;
}

/** Messages from the tensor webview (besides {type: 'ready'}, which StatePanel handles). */
export type TensorWebviewMessage =
  | { type: 'setReduce'; reduce: Reduce }
  | { type: 'reload' };

export interface StatRow {
  key: 'count' | 'min' | 'max' | 'mean' | 'std' | 'zeros' | 'nan' | 'inf';
  label: string;
  value: string;
}

export function statRows(inspection: TensorInspection): StatRow[] {
  const s = inspection.stats;
  if (!s) return [];
  return [
    { key: 'count', label: 'Values', value: formatInteger(s.count) },
    { key: 'min', label: 'Min', value: formatNumber(s.min) },
    { key: 'max', label: 'Max', value: formatNumber(s.max) },
    { key: 'mean', label: 'Mean', value: formatNumber(s.mean) },
    { key: 'std', label: 'Std', value: formatNumber(s.std) },
    { key: 'zeros', label: 'Zeros', value: `${formatPercent(s.zeroFraction)} (${formatInteger(s.zeros)})` },
    { key: 'nan', label: 'NaN', value: formatInteger(s.nan) },
    { key: 'inf', label: 'Inf', value: formatInteger(s.inf) },
  ];
}

/** "F32 · 768×3072 · 2.36M parameters" */
export function tensorSummary(inspection: TensorInspection): string {
  return `${inspection.dtype} · ${formatShape(inspection.shape)} · ${formatCount(inspection.parameters)} parameters`;
}

/** The sentences under the heatmap: layout, downsampling and what was left out. */
export function imageNotes(image: TensorImage): string[] {
  const notes: string[] = [];
  const d = image.downsample;
  const how = d ? (d.method === 'maxabs' ? 'max-abs' : 'mean') : '';
  const reduced = !!d && (d.rowFactor > 1 || d.colFactor > 1);
  if (image.layout === 'strip') notes.push(`1-D tensor of ${formatInteger(image.source.cols * image.source.rows)} values, shown as a strip.`);
  if (image.layout === 'grid' && image.grid) {
    const g = image.grid;
    const cells = g.gridRows ? `, ${g.gridRows}×${g.gridCols} cells` : `, ${g.gridCols} per row`;
    notes.push(`Grid of 2-D slices of ${g.sliceRows}×${g.sliceCols}${cells}.`);
    if (g.shown < g.slices) notes.push(`Showing ${formatInteger(g.shown)} of ${formatInteger(g.slices)} slices.`);
    if (reduced) notes.push(`Each slice downsampled ${d!.rowFactor}×${d!.colFactor} by block ${how}.`);
  } else if (reduced) {
    notes.push(
      `Downsampled ${d!.rowFactor}×${d!.colFactor} by block ${how} (${formatInteger(image.source.rows)}×${formatInteger(image.source.cols)} values, one pixel per block).`,
    );
  } else if (image.layout === 'matrix') {
    notes.push(`Full resolution: every value drawn (${formatInteger(image.source.rows)}×${formatInteger(image.source.cols)}).`);
  }
  return notes;
}

/** Legend labels for the diverging scale, centred at zero. */
export function scaleLabels(image: TensorImage): { low: string; mid: string; high: string; caption: string } {
  const l = image.scale.limit;
  const low = image.scale.low ?? -l;
  const high = image.scale.high ?? l;
  return {
    low: formatNumber(low),
    mid: formatNumber((low + high) / 2),
    high: formatNumber(high),
    caption: `Colour scale ${image.scale.colormap}, centred at 0, ±${formatNumber(l)} (values from ${formatNumber(image.scale.min)} to ${formatNumber(image.scale.max)})`,
  };
}

/** Integer scale factor so that small images are shown with visible pixels but fit the width. */
export function displayScale(width: number, height: number, maxWidth: number, maxHeight = 640): number {
  if (width <= 0 || height <= 0) return 1;
  const s = Math.floor(Math.min(maxWidth / width, maxHeight / height));
  return Math.max(1, Math.min(16, s));
}

export interface HistogramBar {
  x: number;
  y: number;
  width: number;
  height: number;
  from: number;
  to: number;
  count: number;
}

/** Bars of a histogram in a width×height box; optional log scale so rare bins stay visible. */
export function histogramBars(
  hist: { min: number; max: number; counts: number[] },
  width: number,
  height: number,
  log = false,
): HistogramBar[] {
  const n = hist.counts.length;
  if (n === 0) return [];
  const f = (c: number) => (log ? Math.log10(1 + c) : c);
  const top = Math.max(...hist.counts.map(f));
  const binWidth = (hist.max - hist.min) / n;
  const w = width / n;
  return hist.counts.map((count, i) => {
    const h = top > 0 ? (f(count) / top) * height : 0;
    return {
      x: i * w,
      y: height - h,
      width: w,
      height: h,
      from: hist.min + i * binWidth,
      to: hist.min + (i + 1) * binWidth,
      count,
    };
  });
}

/** The tensor entries under a point of a matrix or strip heatmap (fractions of its width and height). */
export interface HeatmapCell {
  /** The value's cell in the drawn (block-reduced) grid. */
  row: number;
  col: number;
  /** The source rows and columns it covers, inclusive. */
  rows: [number, number];
  cols: [number, number];
}

export function heatmapCellAt(image: TensorImage, fx: number, fy: number): HeatmapCell | undefined {
  if (image.layout === 'grid' || !(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return undefined;
  const rf = image.downsample?.rowFactor ?? 1;
  const cf = image.downsample?.colFactor ?? 1;
  const drawnRows = Math.ceil(image.source.rows / rf);
  const drawnCols = Math.ceil(image.source.cols / cf);
  const row = Math.floor(fy * drawnRows);
  const col = Math.floor(fx * drawnCols);
  return {
    row,
    col,
    rows: [row * rf, Math.min(image.source.rows, (row + 1) * rf) - 1],
    cols: [col * cf, Math.min(image.source.cols, (col + 1) * cf) - 1],
  };
}

/** The read-out line of a heatmap cell: where it is, and its value (a block's max-abs or mean when downsampled). */
export function heatmapReadout(image: TensorImage, cell: HeatmapCell, value: number | undefined): string {
  const span = (name: string, [a, b]: [number, number]) => (a === b ? `${name} ${a}` : `${name}s ${a}–${b}`);
  const where = image.layout === 'strip' ? span('index', cell.cols) : `${span('row', cell.rows)}, ${span('column', cell.cols)}`;
  const block = cell.rows[0] !== cell.rows[1] || cell.cols[0] !== cell.cols[1];
  const what = block ? ` (block ${image.downsample?.method === 'mean' ? 'mean' : 'max-abs'})` : '';
  return `${where}${what}: ${value === undefined ? 'not sent' : formatNumber(value)}`;
}
