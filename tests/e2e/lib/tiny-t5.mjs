// tiny-t5 (random weights, 1,000 ids) made readable by a real tokenizer: its config and weights with the shared
// embedding tiled to t5-small's 32,128 ids (row i = tiny row i mod 1,000), beside t5-small's tokenizer.json. The
// fixtures ship no tokenizer for tiny-t5; this is what lets the panel run it on text. Used by the e2e and node tests.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHeader } from './safetensors.mjs';

const VOCAB = 32128;

/** Writes the model folder `out` from the fixtures folder; returns `out`. */
export function tinyT5WithTokenizer(fixturesDir, out) {
  mkdirSync(out, { recursive: true });
  const source = join(fixturesDir, 'models', 'tiny-t5');
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8'));
  config.vocab_size = VOCAB;
  writeFileSync(join(out, 'config.json'), JSON.stringify(config));

  const { header, bytes, dataStart } = readHeader(join(source, 'model.safetensors'));
  const entries = [];
  for (const [name, info] of Object.entries(header)) {
    let data = bytes.subarray(dataStart + info.data_offsets[0], dataStart + info.data_offsets[1]);
    let shape = info.shape;
    if (name === 'shared.weight') {
      const rowBytes = data.length / shape[0];
      const tiled = Buffer.alloc(VOCAB * rowBytes);
      for (let i = 0; i < VOCAB; i++) data.copy(tiled, i * rowBytes, (i % shape[0]) * rowBytes, (i % shape[0] + 1) * rowBytes);
      data = tiled;
      shape = [VOCAB, shape[1]];
    }
    entries.push({ name, dtype: info.dtype, shape, data });
  }
  const newHeader = {};
  let offset = 0;
  for (const e of entries) {
    newHeader[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.length] };
    offset += e.data.length;
  }
  let json = JSON.stringify(newHeader);
  while (json.length % 8 !== 0) json += ' ';
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(out, 'model.safetensors'), Buffer.concat([size, Buffer.from(json), ...entries.map((e) => e.data)]));
  copyFileSync(join(fixturesDir, 'tokenizers', 't5-small', 'tokenizer.json'), join(out, 'tokenizer.json'));
  return out;
}
