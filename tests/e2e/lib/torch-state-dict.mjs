// Writes a PyTorch state dict as torch.save does (a zip of archive/data.pkl, archive/data/N, archive/version),
// with stored (uncompressed) entries and a protocol-2 pickle of an OrderedDict of _rebuild_tensor_v2 calls,
// so the e2e tests can hand the extension a torchvision-keyed .pth without PyTorch.
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

class Pickle {
  parts = [];
  op(...bytes) { this.parts.push(Buffer.from(bytes)); return this; }
  raw(buf) { this.parts.push(buf); return this; }
  global(module, name) { return this.op(0x63).raw(Buffer.from(`${module}\n${name}\n`, 'ascii')); }
  str(s) {
    const b = Buffer.from(s, 'utf8'); const n = Buffer.alloc(4); n.writeUInt32LE(b.length);
    return this.op(0x58).raw(n).raw(b);
  }
  int(v) {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    const b = Buffer.alloc(4); b.writeInt32LE(v); return this.op(0x4a).raw(b);
  }
  tuple(values) { this.op(0x28); for (const v of values) this.int(v); return this.op(0x74); }
  bytes() { return Buffer.concat(this.parts); }
}

/** A stored-entry zip (no compression), as torch.save writes it. */
function zip(entries) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * Writes `tensors` ([name, shape, Float32Array][]) as a .pth state dict. Shapes of [] with a BigInt64Array are
 * int64 scalars (BatchNorm's num_batches_tracked).
 */
export function writeStateDict(path, tensors) {
  const p = new Pickle().op(0x80, 2).global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  const entries = [];
  tensors.forEach(([name, shape, values], key) => {
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storage = values instanceof BigInt64Array ? 'LongStorage' : 'FloatStorage';
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28)
      .op(0x28).str('storage').global('torch', storage).str(String(key)).str('cpu').int(values.length).op(0x74, 0x51)
      .int(0).tuple(shape).tuple(stride).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
    entries.push([`archive/data/${key}`, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
  });
  p.op(0x75, 0x2e);
  writeFileSync(path, zip([['archive/data.pkl', p.bytes()], ['archive/byteorder', Buffer.from('little')], ...entries, ['archive/version', Buffer.from('3\n')]]));
}

/**
 * torchvision's resnet18 state dict (its key set, as resnet.py's BasicBlock layers register them) with every width
 * divided by `div`, random weights (seeded) and BatchNorm at identity statistics.
 */
export function resnet18(div = 8, seed = 1) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const tensors = [];
  const conv = (name, inC, outC, k) => {
    const n = outC * inC * k * k, limit = Math.sqrt(3 / (inC * k * k));
    tensors.push([`${name}.weight`, [outC, inC, k, k], Float32Array.from({ length: n }, () => random() * limit)]);
  };
  const bn = (name, c) => {
    tensors.push([`${name}.weight`, [c], new Float32Array(c).fill(1)], [`${name}.bias`, [c], new Float32Array(c)],
      [`${name}.running_mean`, [c], new Float32Array(c)], [`${name}.running_var`, [c], new Float32Array(c).fill(1)],
      [`${name}.num_batches_tracked`, [], new BigInt64Array([100n])]);
  };
  let inplanes = 64 / div;
  conv('conv1', 3, inplanes, 7); bn('bn1', inplanes);
  for (let stage = 0; stage < 4; stage++) {
    const planes = (64 << stage) / div;
    for (let i = 0; i < 2; i++) {
      const p = `layer${stage + 1}.${i}`;
      conv(`${p}.conv1`, inplanes, planes, 3); bn(`${p}.bn1`, planes);
      conv(`${p}.conv2`, planes, planes, 3); bn(`${p}.bn2`, planes);
      if (stage > 0 && i === 0) { conv(`${p}.downsample.0`, inplanes, planes, 1); bn(`${p}.downsample.1`, planes); }
      inplanes = planes;
    }
  }
  tensors.push(['fc.weight', [1000, inplanes], Float32Array.from({ length: 1000 * inplanes }, () => random() * Math.sqrt(3 / inplanes))]);
  tensors.push(['fc.bias', [1000], new Float32Array(1000)]);
  return tensors;
}
