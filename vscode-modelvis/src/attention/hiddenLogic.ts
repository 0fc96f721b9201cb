// Pure logic of the hidden-state tabs (no vscode, no DOM): the host's result types, PCA points made
// comparable across layers, linear scales and axis ticks, NMF components as token colours, the
// (token, dimension) under a point of the hidden-state image, and the JSON export of a view.

import type { AttentionRun, PcaLayer } from '../common/protocol';

/**
 * Each layer's PCA is computed on its own, so an axis may come out mirrored from one layer to the
 * next (the sign of an eigenvector is arbitrary). Flip each layer's axes to agree with the layer
 * before (non-negative correlation over the tokens), then scale each layer by its largest |coordinate|
 * (the same factor on both axes, so distances keep their proportions) into [-1, 1]. The result lets a
 * token's trajectory across layers be drawn in one picture.
 */
export function alignedPca(layers: ReadonlyArray<Pick<PcaLayer, 'x' | 'y'>>): Array<{ x: number[]; y: number[] }> {
  const out: Array<{ x: number[]; y: number[] }> = [];
  for (const l of layers) {
    let x = l.x.slice();
    let y = l.y.slice();
    const prev = out[out.length - 1];
    if (prev) {
      if (dot(x, prev.x) < 0) x = x.map((v) => -v);
      if (dot(y, prev.y) < 0) y = y.map((v) => -v);
    }
    const extent = Math.max(...x.map(Math.abs), ...y.map(Math.abs));
    const s = extent > 0 ? 1 / extent : 1;
    // (+ 0 turns a flipped -0 back into 0)
    out.push({ x: x.map((v) => v * s + 0), y: y.map((v) => v * s + 0) });
  }
  return out;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += a[i] * b[i];
  return s;
}

/** The linear map taking domain [d0, d1] onto range [r0, r1] (a degenerate domain maps to the middle). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/**
 * About `count` evenly spaced round values (steps of 1, 2 or 5 × 10^k) covering [min, max]: the first
 * tick at or below min, the last at or above max.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < max + step - 1e-9 * step; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export interface LabelPlacement {
  /** Left edge and baseline of the label's text; undefined: no room (the point keeps its tooltip). */
  x: number;
  y: number;
}

/**
 * Greedy labels for a scatter plot: each point's label goes right of it, else left, above or below,
 * wherever it overlaps no label placed before it and no other point (`pointRadius`), inside `bounds`
 * when given (points earlier in `order` go first; `always` ones are placed even when every side is
 * taken). Labels are `height` tall and `widths[i]` wide; a point left without one is undefined.
 */
export function placeLabels(
  points: ReadonlyArray<{ x: number; y: number }>,
  widths: readonly number[],
  order: readonly number[],
  { height = 10, gap = 5, always = [] as readonly number[], pointRadius = 0, bounds = undefined as { width: number; height: number } | undefined } = {},
): Array<LabelPlacement | undefined> {
  const placed: Array<{ x0: number; y0: number; x1: number; y1: number }> = [];
  const out: Array<LabelPlacement | undefined> = points.map(() => undefined);
  const dots = points.map((p) => ({ x0: p.x - pointRadius, x1: p.x + pointRadius, y0: p.y - pointRadius, y1: p.y + pointRadius }));
  const hit = (b: { x0: number; y0: number; x1: number; y1: number }, p: { x0: number; y0: number; x1: number; y1: number }) =>
    b.x0 < p.x1 && p.x0 < b.x1 && b.y0 < p.y1 && p.y0 < b.y1;
  const outside = (b: { x0: number; y0: number; x1: number; y1: number }) => bounds !== undefined && (b.x0 < 0 || b.y0 < 0 || b.x1 > bounds.width || b.y1 > bounds.height);
  const overlaps = (b: { x0: number; y0: number; x1: number; y1: number }) =>
    outside(b) || placed.some((p) => hit(b, p)) || (pointRadius > 0 && dots.some((d) => hit(b, d)));
  for (const i of order) {
    const { x, y } = points[i];
    const w = widths[i];
    // Baselines sit 0.3 of the height below the middle of the box.
    const candidates = [
      { x: x + gap, y: y + height * 0.3 },
      { x: x - gap - w, y: y + height * 0.3 },
      { x: x - w / 2, y: y - gap },
      { x: x - w / 2, y: y + gap + height * 0.8 },
    ];
    const box = (c: { x: number; y: number }) => ({ x0: c.x, x1: c.x + w, y0: c.y - height * 0.8, y1: c.y + height * 0.2 });
    const free = candidates.find((c) => !overlaps(box(c)));
    const choice = free ?? (always.includes(i) ? candidates[0] : undefined);
    if (choice) {
      out[i] = choice;
      placed.push(box(choice));
    }
  }
  return out;
}

export interface TokenComponent {
  /** The component with the largest weight on this token (-1: every weight is 0). */
  component: number;
  /** That weight as a share of the component's largest weight over the tokens, 0..1. */
  strength: number;
}

/**
 * Ecco's NMF colouring: every token takes the colour of its dominant component, as strong as the
 * token's weight relative to that component's peak (so each component reaches full colour somewhere).
 */
export function nmfColouring(tokenWeights: ReadonlyArray<ReadonlyArray<number>>): TokenComponent[] {
  const k = tokenWeights.length;
  const n = k > 0 ? tokenWeights[0].length : 0;
  const peaks = tokenWeights.map((w) => Math.max(0, ...w));
  const out: TokenComponent[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestShare = 0;
    for (let c = 0; c < k; c++) {
      const share = peaks[c] > 0 ? tokenWeights[c][i] / peaks[c] : 0;
      if (share > bestShare) {
        best = c;
        bestShare = share;
      }
    }
    out.push({ component: best, strength: Math.min(1, bestShare) });
  }
  return out;
}

/** As many NMF components as attention.css has colours for (`--mv-component-0..5`, per light/dark theme). */
export const MAX_COMPONENTS = 6;

/** CSS colour of component c (cycling through the palette). */
export function componentColor(c: number): string {
  return `var(--mv-component-${((c % MAX_COMPONENTS) + MAX_COMPONENTS) % MAX_COMPONENTS})`;
}

/**
 * The (row, column) of a [rows, cols] matrix drawn stretched over a box, at fractions (fx, fy) of the
 * box's width and height; undefined outside it.
 */
export function matrixCellAt(fx: number, fy: number, rows: number, cols: number): { row: number; col: number } | undefined {
  if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1) || rows <= 0 || cols <= 0) return undefined;
  return { row: Math.floor(fy * rows), col: Math.floor(fx * cols) };
}

/** What a hidden-state layer index k = 0..L is called. */
export function hiddenLayerName(k: number, layers: number): string {
  return k === 0 ? 'embeddings (h0)' : k === layers ? `h${k} (final, normed)` : `h${k} (after block ${k - 1})`;
}

/** The JSON export of one view: which model and text, the tokens, then the view's own numbers. */
export function viewJson(run: Pick<AttentionRun, 'model' | 'tokens' | 'n'>, text: string, view: string, numbers: Record<string, unknown>): object {
  return {
    model: run.model.name,
    modelPath: run.model.path,
    text,
    view,
    tokens: run.tokens.map((t) => ({ id: t.id, text: t.text, display: t.display, start: t.start, end: t.end })),
    ...numbers,
  };
}

/** Rows of a flat row-major float array, rounded to 6 significant digits (for JSON). */
export function rowsOf(values: ArrayLike<number>, rows: number, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let c = 0; c < cols; c++) row.push(Number(Number(values[r * cols + c]).toPrecision(6)));
    out.push(row);
  }
  return out;
}
