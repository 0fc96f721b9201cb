// Point positions for the projector's WebGL cloud (pure: the benchmark times the same code).

/** Positions scaled into [-1, 1] on the largest axis, centred (aspect kept); z = 0 for 2-D data. */
export function normalise(coords: ArrayLike<number>, count: number, stride: number, dims: 2 | 3): Float32Array {
  const out = new Float32Array(count * 3);
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < count; i++) for (let d = 0; d < dims; d++) {
    const v = coords[i * stride + d];
    if (v < lo[d]) lo[d] = v;
    if (v > hi[d]) hi[d] = v;
  }
  let span = 0;
  for (let d = 0; d < dims; d++) span = Math.max(span, hi[d] - lo[d]);
  const scale = span > 0 ? 2 / span : 1;
  for (let i = 0; i < count; i++) for (let d = 0; d < dims; d++) out[i * 3 + d] = (coords[i * stride + d] - (lo[d] + hi[d]) / 2) * scale;
  return out;
}
