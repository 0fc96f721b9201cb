// Grad-CAM in the CNN feature-map panel (issue 17), end to end: LeNet-5 (ONNX) on an MNIST 7, right-click the PNG →
// Show CNN Feature Maps → lenet.onnx; LeNet does not end in global pooling, so the panel offers Grad-CAM on a chosen
// layer: conv1's map of the predicted 7 overlaid on the digit, its peak the value the host computes (checked against
// finite differences in xunit, GradCamTests), then another class on conv2; then activation maximisation of a conv1
// channel, the image evolving step by step, stopped with the Stop button, and saved with Save PNG; screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchLenetSession, openLenetFeatureMaps, TIMEOUTS, waitFor } from './harness.mjs';

const digit = 'mnist_test_00_label7.png';
let s;
let frame;

before(async () => {
  s = await launchLenetSession('gradcam', digit);
});
after(async () => {
  await s?.close();
});

test('Grad-CAM of the predicted 7 on conv1 overlaid on the digit, then the runner-up on conv2', async () => {
  await s.guard('gradcam', async () => {
    frame = await openLenetFeatureMaps(s, digit);
    assert.equal(await frame.locator('#features-prediction').getAttribute('data-class'), '7');
    assert.match(await frame.locator('#features-cam-note').innerText(), /Grad-CAM weighs a chosen layer/);
    const layerSelect = frame.locator('#features-gradcam-layer');
    assert.equal(await layerSelect.inputValue(), '14', 'starts on the last convolution');

    // conv1 (ONNX value 11, 6 maps of 24×24) for the predicted 7: conv1 has positive evidence (peak 0.0198).
    await layerSelect.selectOption('11');
    await frame.locator('#features-top5 tr[data-class="7"] .gradcam-button').click();
    await frame.locator('#features-overlay[data-kind="cam"]:not([hidden])').waitFor({ timeout: TIMEOUTS.host });
    const note = frame.locator('#features-cam-note');
    await waitFor(async () => (await note.getAttribute('data-gradcam')) === '11:7', { timeout: TIMEOUTS.host, message: 'Grad-CAM of 7 on conv1' });
    assert.ok(Math.abs(Number(await note.getAttribute('data-high')) - 0.0198) < 1e-3, 'the peak of conv1\'s map');
    assert.match(await frame.locator('#features-overlay-caption').innerText(), /^Grad-CAM of (class )?7 on 11 \(24×24, magma\)/);
    assert.match(await note.innerText(), /ReLU\(Σₖ αₖ · A_k\) over 6 maps of 11/);
    await s.screenshot('gradcam-conv1-class7');

    // Another class on conv2.
    await layerSelect.selectOption('14');
    await frame.locator('#features-top5 tr[data-class]').nth(1).locator('.gradcam-button').click();
    const second = await frame.locator('#features-top5 tr[data-class]').nth(1).getAttribute('data-class');
    await waitFor(async () => (await note.getAttribute('data-gradcam')) === `14:${second}`, { timeout: TIMEOUTS.host, message: 'Grad-CAM of the runner-up on conv2' });
    assert.match(await frame.locator('#features-overlay-caption').innerText(), /on 14 \(8×8, magma\)/);
    await s.screenshot('gradcam-conv2-runner-up');
  });
});

test('activation maximisation of a conv1 channel: the image evolves, Stop ends it with the last image', async () => {
  await s.guard('visualize', async () => {
    assert.ok(frame, 'the panel from the first test');
    const section = frame.locator('#features-vis');
    await section.scrollIntoViewIfNeeded();
    await frame.locator('#vis-goal').selectOption('channel');
    await frame.locator('#vis-layer').selectOption('11');
    await frame.locator('#vis-index').fill('2');
    await frame.locator('#vis-steps').selectOption('10000');
    await frame.locator('#vis-start').click();
    // Steps stream in fast on LeNet, and the random shift each step makes the objective noisy from step to step:
    // the best objective 100 steps on is above the first step's.
    await waitFor(async () => Number(await section.getAttribute('data-step')) >= 1, { timeout: TIMEOUTS.host, message: 'steps streaming in' });
    const [first, early] = await section.evaluate((e) => [Number(e.dataset.step), Number(e.dataset.firstObjective)]);
    await waitFor(async () => Number(await section.getAttribute('data-step')) >= first + 100, { timeout: TIMEOUTS.host, message: '100 more steps' });
    const best = Number(await section.getAttribute('data-best-objective'));
    assert.ok(best > early, `the channel's mean activation rises: ${early} at the first step shown, best ${best} after 100 more`);
    assert.equal(await frame.locator('#vis-image').isVisible(), true);
    await s.screenshot('visualize-running');
    await frame.locator('#vis-stop').click();
    await waitFor(async () => (await section.getAttribute('data-status')) === 'stopped', { timeout: TIMEOUTS.host, message: 'stopped' });
    const at = Number(await section.getAttribute('data-step'));
    assert.ok(at >= first + 100 && at < 10000, `stopped at step ${at}`);
    assert.match(await frame.locator('#vis-status').innerText(), /^Stopped at step \d+/);
    assert.equal(await frame.locator('#vis-start').isEnabled(), true);
    await s.screenshot('visualize-stopped');
    // Save PNG: the optimised input as the host made it, the image on screen byte for byte, at the input's size.
    const saved = await s.saveFromPanel(frame, '#vis-save', 'png');
    const src = await frame.locator('#vis-image').getAttribute('src');
    assert.deepEqual(saved, Buffer.from(src.replace(/^data:image\/png;base64,/, ''), 'base64'));
    const [w, hgt] = await frame.locator('#vis-image').evaluate((i) => [i.naturalWidth, i.naturalHeight]);
    assert.deepEqual([saved.readUInt32BE(16), saved.readUInt32BE(20)], [w, hgt], 'the PNG header says the on-screen size');
  });
});
