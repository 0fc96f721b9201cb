// Pure logic of the attention panel and the editor decorations (no vscode, no DOM): protocol types,
// base64 float decoding, label layout, head-view line filtering, decoration buckets, token lookup.

import type { AttentionKind, AttentionRun, AttentionToken, HeadChoice, LayerDoneParams, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';

export interface KindAxes {
  kind: AttentionKind;
  label: string;
  layers: number;
  /** Row tokens (queries) and column tokens (keys). */
  queries: AttentionToken[];
  keys: AttentionToken[];
}

export function isEncoderDecoder(run: Pick<AttentionRun, 'model' | 'target'>): boolean {
  return (run.model.encoderLayers ?? 0) > 0 && run.target != null;
}

/** The kinds of attention a run has (none for a decoder-only or encoder-only run, whose attention is self-attention). */
export function attentionKinds(run: Pick<AttentionRun, 'model' | 'tokens' | 'target'>): KindAxes[] {
  if (!isEncoderDecoder(run)) return [];
  const source = run.tokens;
  const target = run.target!.tokens;
  return [
    { kind: 'cross', label: 'Cross (target → source)', layers: run.model.layers, queries: target, keys: source },
    { kind: 'encoder', label: 'Encoder self', layers: run.model.encoderLayers!, queries: source, keys: source },
    { kind: 'decoder', label: 'Decoder self', layers: run.model.layers, queries: target, keys: target },
  ];
}

/** Rows and columns of one kind (the run's tokens both ways for self-attention). */
export function axesOf(run: Pick<AttentionRun, 'model' | 'tokens' | 'target'>, kind: AttentionKind | undefined): KindAxes {
  const found = kind ? attentionKinds(run).find((k) => k.kind === kind) : undefined;
  return found ?? { kind: 'decoder', label: 'Self', layers: run.model.layers, queries: run.tokens, keys: run.tokens };
}

/** The layer shown for a kind: the chosen one, or the kind's last when it has fewer (the encoder may be shallower than the decoder). */
export function layerFor(axes: Pick<KindAxes, 'layers'>, layer: number): number {
  return Math.max(0, Math.min(axes.layers - 1, layer));
}

export interface AlignmentLink {
  /** Target token (row) and the source token (column) it attends to most. */
  target: number;
  source: number;
  weight: number;
}

/**
 * The hard alignment a cross-attention matrix [rows = target, cols = source] reads as: each target token's strongest
 * source token, leaving out the special tokens on either side (the decoder's start token, the source's end token),
 * which soak up attention without aligning anything.
 */
export function crossAlignment(values: ArrayLike<number>, target: ReadonlyArray<Pick<AttentionToken, 'special'>>, source: ReadonlyArray<Pick<AttentionToken, 'special'>>): AlignmentLink[] {
  const rows = target.length;
  const cols = source.length;
  if (values.length < rows * cols) throw new Error(`cross-attention has ${values.length} values; ${rows} × ${cols} expected`);
  const links: AlignmentLink[] = [];
  for (let t = 0; t < rows; t++) {
    if (target[t].special) continue;
    let best = -1;
    for (let s = 0; s < cols; s++) {
      if (source[s].special) continue;
      if (best < 0 || values[t * cols + s] > values[t * cols + best]) best = s;
    }
    if (best >= 0) links.push({ target: t, source: best, weight: values[t * cols + best] });
  }
  return links;
}

/** Messages from the extension to the attention webview. */
export type ToAttentionWebview =
  | { type: 'run'; run: AttentionRun; layersDone: number; text: string; layer: number; head: HeadChoice; kind?: AttentionKind }
  | { type: 'running'; text: string; model: string }
  /** retry: the panel can run it again; setting: the setting at fault (an Open Settings button). */
  | { type: 'runError'; message: string; retry?: boolean; setting?: string }
  /** The host restarted: the run is gone; the panel offers to run it again. */
  | { type: 'runGone'; message: string }
  | ({ type: 'layerDone' } & LayerDoneParams)
  | ViewResponseMessage
  | { type: 'select'; layer: number; head: HeadChoice };

/** Messages from the attention webview to the extension. */
export type FromAttentionWebview =
  | { type: 'ready' }
  | ViewRequestMessage
  | { type: 'retry' }
  | { type: 'openSettings'; setting: string }
  | { type: 'select'; layer: number; head: HeadChoice; kind?: AttentionKind }
  /** The attention matrix of a layer and head (fetched by the extension), or a view's own numbers. */
  | { type: 'saveJson'; layer: number; head: HeadChoice; kind?: AttentionKind }
  /** An encoder-decoder's run again with this target (empty: the model's own output). */
  | { type: 'retarget'; target: string }
  /** The same selection run again (after the host restarted and the run was lost). */
  | { type: 'rerun' }
  /** Paint these weights over the source tokens in the editor (a target token's cross-attention); null clears. */
  | { type: 'paintAlignment'; weights: number[] | null; target: number }
  | { type: 'saveJson'; name: string; json: object }
  | { type: 'paintNeuron'; layer: number; neuron: number; activations: number[] }
  /** Paint signed per-token attribution scores on the selection (two theme colours); null clears. */
  | { type: 'paintAttribution'; scores: number[] | null };

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  t['-'.charCodeAt(0)] = 62;
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/** Base64 → bytes (standard or URL alphabet, padding and whitespace ignored). */
export function decodeBase64(b64: string): Uint8Array {
  const clean = b64.replace(/[\s=]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let buf = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character at ${i}`);
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buf >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** Base64 of little-endian float32 values (the host's `values`) → Float32Array. */
export function decodeFloat32(b64: string): Float32Array {
  const bytes = decodeBase64(b64);
  const n = Math.floor(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Which token indices get a label when n tokens share `sizePx` pixels and a label needs `minPx`:
 * every token when they fit, else every k-th (k a 1-2-5 step so the axis reads evenly), always 0.
 */
export function labelIndices(n: number, sizePx: number, minPx = 12): number[] {
  if (n <= 0) return [];
  const cell = sizePx / n;
  let stride = 1;
  if (cell < minPx) {
    const need = minPx / Math.max(cell, 1e-9);
    const steps = [1, 2, 5];
    stride = 1;
    for (let mag = 1; stride < need; mag *= 10) {
      for (const s of steps) {
        stride = s * mag;
        if (stride >= need) break;
      }
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(i);
  return out;
}

/** A raw vocabulary token made readable (byte-level Ġ/Ċ, sentencepiece ▁, WordPiece ##). */
export function readableToken(raw: string): string {
  if (/^<.*>$/.test(raw)) return raw;
  let s = raw.startsWith('##') ? raw.slice(2) : raw;
  s = s.replace(/▁/g, ' ').replace(/Ġ/g, ' ').replace(/Ċ/g, '\n').replace(/ĉ/g, '\t');
  return s;
}

/** A token's label: its readable form, trimmed to `max` characters, with visible whitespace. */
export function tokenLabel(token: Pick<AttentionToken, 'display' | 'text'>, max = 16): string {
  let s = token.display ?? token.text ?? '';
  s = s.replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/\r/g, '');
  if (s.trim() === '' && s.length > 0) s = '␣'.repeat(Math.min(s.length, 3));
  if (s.length > max) s = s.slice(0, max - 1) + '…';
  return s;
}

export interface HeadLine {
  query: number;
  key: number;
  head: number;
  weight: number;
}

/**
 * Lines of the head view: for each selected head's [n, n] matrix (row = query), every pair whose
 * weight is at least `threshold`, strongest first, at most `maxLines` of them.
 */
export function headViewLines(
  matrices: ReadonlyMap<number, Float32Array>,
  n: number,
  threshold: number,
  maxLines = 4000,
): HeadLine[] {
  const lines: HeadLine[] = [];
  for (const [head, m] of matrices) {
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const w = m[q * n + k];
        if (w >= threshold && w > 0) lines.push({ query: q, key: k, head, weight: w });
      }
    }
  }
  lines.sort((a, b) => b.weight - a.weight);
  return lines.length > maxLines ? lines.slice(0, maxLines) : lines;
}

/** A distinct colour per head (HSL hue around the wheel), readable on light and dark backgrounds. */
export function headColor(head: number, heads: number): string {
  const hue = Math.round((360 * head) / Math.max(1, heads));
  return `hsl(${hue}, 70%, 50%)`;
}

/**
 * The decoration bucket of a weight: 0..buckets-1 by its share of the row's largest weight, or -1
 * when it is below `minShare` of it (not painted).
 */
export function weightBucket(weight: number, rowMax: number, buckets = 5, minShare = 0.05): number {
  if (!(rowMax > 0) || !(weight > 0)) return -1;
  const share = Math.min(1, weight / rowMax);
  if (share < minShare) return -1;
  return Math.min(buckets - 1, Math.floor(share * buckets));
}

/** Groups token indices by bucket: result[b] = keys painted with bucket b. The query itself is left out. */
export function bucketRow(weights: ArrayLike<number>, query: number, buckets = 5, minShare = 0.05): number[][] {
  let max = 0;
  for (let k = 0; k < weights.length; k++) if (k !== query && weights[k] > max) max = weights[k];
  const out: number[][] = Array.from({ length: buckets }, () => []);
  for (let k = 0; k < weights.length; k++) {
    if (k === query) continue;
    const b = weightBucket(weights[k], max, buckets, minShare);
    if (b >= 0) out[b].push(k);
  }
  return out;
}

/** The token whose [start, end) holds the offset (offsets in the run's text); -1 if none. */
export function tokenAtOffset(tokens: ReadonlyArray<Pick<AttentionToken, 'start' | 'end'>>, offset: number): number {
  let best = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.start === null || t.end === null) continue;
    if (offset >= t.start && offset < t.end) return i;
    if (offset === t.end) best = i; // cursor just after the token's last character
  }
  return best;
}

/** Next head choice when cycling: 0 → 1 → … → heads-1 → mean → max → 0. */
export function nextHead(head: HeadChoice, heads: number): HeadChoice {
  if (head === 'mean') return 'max';
  if (head === 'max') return 0;
  return head + 1 < heads ? head + 1 : 'mean';
}

export function headName(head: HeadChoice): string {
  return head === 'mean' ? 'mean' : head === 'max' ? 'max' : String(head);
}

/** Status-bar text: "ModelVis: stories260K L2 H3" (heads: H3, Hmean, Hmax). */
export function statusText(model: string, layer: number, head: HeadChoice): string {
  return `ModelVis: ${model} L${layer} H${headName(head)}`;
}

/** Text to visualize: the selection, else the current line (trailing newline excluded). */
export function chooseText(selected: string | undefined, line: string): string {
  return selected && selected.length > 0 ? selected : line;
}

/** The JSON export of one matrix: tokens and values as rows (query) of keys; an encoder-decoder's kind says which tokens. */
export function matrixJson(
  run: Pick<AttentionRun, 'model' | 'tokens' | 'n' | 'target'>,
  layer: number,
  head: HeadChoice,
  values: Float32Array,
  text: string,
  kind?: AttentionKind,
): object {
  const axes = axesOf(run, kind);
  const cols = axes.keys.length;
  const rows: number[][] = [];
  for (let q = 0; q < axes.queries.length; q++) rows.push(Array.from(values.subarray(q * cols, q * cols + cols), (v) => Number(v.toPrecision(6))));
  const tokenJson = (ts: AttentionToken[]) => ts.map((t) => ({ id: t.id, text: t.text, display: t.display, start: t.start, end: t.end }));
  const base = { model: run.model.name, modelPath: run.model.path, text, layer, head, causal: run.model.causal };
  if (!isEncoderDecoder(run)) return { ...base, tokens: tokenJson(run.tokens), values: rows };
  return { ...base, kind: axes.kind, target: run.target!.text, queryTokens: tokenJson(axes.queries), keyTokens: tokenJson(axes.keys), values: rows };
}

/** Top-k keys of one row, strongest first. */
export function topKeys(weights: ArrayLike<number>, k: number): Array<{ key: number; weight: number }> {
  const idx = Array.from({ length: weights.length }, (_, i) => i);
  idx.sort((a, b) => weights[b] - weights[a]);
  return idx.slice(0, k).map((key) => ({ key, weight: weights[key] }));
}
