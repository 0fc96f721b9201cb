// Hover preview in a real VS Code: with modelvis.model set to the workspace's tiny-gpt2 copy,
// hovering the tensor name in a Python file shows its shape, dtype and statistics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, waitFor } from './harness.mjs';
import { readF32, statistics } from './lib/safetensors.mjs';

let s;

before(async () => {
  s = await launch({ name: 'hover', settings: (ws) => ({ 'modelvis.model': ws.model }) });
});
after(async () => {
  await s?.close();
});

test('hovering a tensor name in a Python file shows its shape, dtype and statistics', async () => {
  await s.guard('hover', async () => {
    const { pythonName, tensorName, model } = s.workspaceInfo;
    await s.openFile(pythonName);
    // The provider answers once the host has read the tensor (the first request starts the host),
    // so the hover that names the tensor is the finished one.
    const hover = await s.hoverText(tensorName, tensorName);
    const text = (await hover.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /min \S+ · max \S+ · mean \S+ · std \S+/, `the hover shows statistics: "${text}"`);
    assert.match(text, /F32/);
    assert.match(text, /64×192/);
    const expected = statistics(readF32(join(model, 'model.safetensors'), tensorName).values);
    const shownMin = Number(/min (\S+)/.exec(text)[1]);
    const shownMax = Number(/max (\S+)/.exec(text)[1]);
    assert.ok(Math.abs(shownMin - expected.min) <= Math.abs(expected.min) * 6e-4, `min ${shownMin} vs ${expected.min}`);
    assert.ok(Math.abs(shownMax - expected.max) <= Math.abs(expected.max) * 6e-4, `max ${shownMax} vs ${expected.max}`);
    // The small heatmap: a PNG from the host, decoded by the browser.
    const image = hover.locator('img[src^="data:image/png"]').first();
    await image.waitFor({ state: 'visible' });
    const size = await waitFor(() => image.evaluate((el) => (el.complete && el.naturalWidth > 0 ? { w: el.naturalWidth, h: el.naturalHeight } : null)), { message: 'the hover heatmap decoded' });
    // At most one pixel per value (the host downsamples to fit a hover), wider than tall like the tensor.
    assert.ok(size.w <= 192 && size.h <= 64 && size.w > size.h, `hover heatmap of a 64×192 tensor is ${size.w}×${size.h}`);
    await s.screenshot('hover');
  });
});
