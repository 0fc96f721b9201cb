// `serve --device`: where the host runs models, as modelvis.device sets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHost, storiesModel as model, storiesText as text } from './host-client.mjs';
const floats = (b64) => { const buf = Buffer.from(b64, 'base64'); return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4); };

async function attention(host) {
  const run = await host.connection.sendRequest('attention/run', { model, text });
  const m = await host.connection.sendRequest('attention/matrix', { runId: run.runId, layer: 4, head: 3 });
  return { run, values: floats(m.values) };
}

test('--device cuda where there is no GPU: the host starts on the CPU and says why; on a GPU it reports the card', async () => {
  const host = startHost(['--device', 'cuda']);
  try {
    const r = await host.connection.sendRequest('initialize', {});
    if (r.device.kind === 'cpu') {
      assert.match(r.device.warning, /modelvis\.device is "cuda", but ILGPU found no CUDA device/);
      assert.equal(r.device.accelerator, 'cpu');
    } else {
      assert.equal(r.device.kind, 'cuda');
      assert.match(r.device.accelerator, /^cuda: /);
    }
  } finally { await host.stop(); }
});

test('--device ilgpu-cpu runs the GPU kernels and gives the attention the CPU gives', async () => {
  const gpu = startHost(['--device', 'ilgpu-cpu']);
  const cpu = startHost(['--device', 'cpu']);
  try {
    const info = await gpu.connection.sendRequest('initialize', {});
    assert.equal(info.device.kind, 'ilgpu-cpu');
    assert.equal(info.device.warning ?? null, null);
    assert.equal((await cpu.connection.sendRequest('initialize', {})).device.kind, 'cpu');
    const [a, b] = await Promise.all([attention(gpu), attention(cpu)]);
    assert.deepEqual(a.run.tokens.map((t) => t.id), b.run.tokens.map((t) => t.id));
    assert.equal(a.values.length, b.run.n * b.run.n);
    let worst = 0;
    for (let i = 0; i < a.values.length; i++) worst = Math.max(worst, Math.abs(a.values[i] - b.values[i]));
    assert.ok(worst < 1e-5, `max |diff| ${worst}`);
  } finally { await Promise.all([gpu.stop(), cpu.stop()]); }
});
