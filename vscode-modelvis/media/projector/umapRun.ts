// UMAP (umap-js) over the host's principal-component scores, as the projector's worker and the benchmark run it:
// the k-nearest-neighbour graph and fuzzy set first (initializeFit), then the layout's epochs, handing out the
// embedding every few epochs so the view draws while it settles.

import { UMAP } from 'umap-js';

export interface UmapInput {
  /** float32 [count, dims], row-major. */
  data: Float32Array;
  count: number;
  dims: number;
  nNeighbors?: number;
  minDist?: number;
  seed?: number;
}

/** A seeded uniform generator (mulberry32), so a projection is the same every time it is asked for. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs UMAP to 2-D, calling onEmbedding(xy, epoch, epochs) after initialisation (epoch 0) and every `every`
 * epochs. Returns the final embedding [count, 2].
 */
export function runUmap(input: UmapInput, onEmbedding: (xy: Float32Array, epoch: number, epochs: number) => void, every = 25): Float32Array {
  const rows: number[][] = new Array(input.count);
  for (let i = 0; i < input.count; i++) rows[i] = Array.from(input.data.subarray(i * input.dims, (i + 1) * input.dims));
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(input.nNeighbors ?? 15, input.count - 1), minDist: input.minDist ?? 0.1, random: seeded(input.seed ?? 42) });
  const epochs = umap.initializeFit(rows);
  const flatten = () => {
    const e = umap.getEmbedding();
    const xy = new Float32Array(e.length * 2);
    for (let i = 0; i < e.length; i++) {
      xy[2 * i] = e[i][0];
      xy[2 * i + 1] = e[i][1];
    }
    return xy;
  };
  onEmbedding(flatten(), 0, epochs);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    umap.step();
    if (epoch % every === 0 || epoch === epochs) onEmbedding(flatten(), epoch, epochs);
  }
  return flatten();
}
