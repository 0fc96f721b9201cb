// A small independent reader of safetensors files, so the tests can compute what the panel must show
// without asking the host: header parsing and F32 statistics in float64.
import { readFileSync } from 'node:fs';

export function readHeader(file) {
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  delete header.__metadata__;
  return { header, bytes, dataStart: 8 + length };
}

/** The F32 values of one tensor. */
export function readF32(file, name) {
  const { header, bytes, dataStart } = readHeader(file);
  const info = header[name];
  if (!info) throw new Error(`${name} not in ${file}`);
  if (info.dtype !== 'F32') throw new Error(`${name} is ${info.dtype}, only F32 is read here`);
  const [begin, end] = info.data_offsets;
  const values = new Float32Array((end - begin) / 4);
  for (let i = 0; i < values.length; i++) values[i] = bytes.readFloatLE(dataStart + begin + 4 * i);
  return { values, shape: info.shape, dtype: info.dtype };
}

/** min, max, mean, population std, zeros, NaN and Inf counts, accumulated in float64. */
export function statistics(values) {
  let min = Infinity, max = -Infinity, sum = 0, zeros = 0, nan = 0, inf = 0, count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) { nan++; continue; }
    if (!Number.isFinite(v)) { inf++; continue; }
    if (v === 0) zeros++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    count++;
  }
  const mean = sum / count;
  let squares = 0;
  for (const v of values) if (Number.isFinite(v)) squares += (v - mean) ** 2;
  return { count: values.length, min, max, mean, std: Math.sqrt(squares / count), zeros, nan, inf };
}

/** Total parameter count of a checkpoint file. */
export function totalParameters(file) {
  const { header } = readHeader(file);
  return Object.values(header).reduce((s, t) => s + t.shape.reduce((p, d) => p * d, 1), 0);
}
