// CNN preprocessing and state dicts without a sidecar end to end (issue 20). A workspace with lenet.onnx alone
// (nothing says how it was trained), the ten MNIST test digits, a torchvision-keyed ResNet-18 state dict (random
// weights, widths / 8) and a photo. The panel says LeNet's preprocessing is a guess; picking the MNIST preset
// reruns the digit and is remembered for the model, so all ten digits are then read as their labels (the labels
// in the file names, which the fixture's reference outputs confirm). The ResNet-18 .pth opens without a sidecar,
// recognised, with torchvision's transforms and ImageNet class names. Screenshots of each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, launch, repoRoot, TIMEOUTS, waitFor } from './harness.mjs';
import { resnet18, writeStateDict } from './lib/torch-state-dict.mjs';

const digitsDir = join(fixturesDir, 'inputs', 'mnist-png');
const digits = readdirSync(digitsDir).filter((f) => f.endsWith('.png')).sort();
const imagenet = readFileSync(join(repoRoot, 'server', 'src', 'ModelVis.Vision', 'Torchvision', 'imagenet-classes.txt'), 'utf8').split('\n');
const labelOf = (file) => Number(/label(\d)/.exec(file)[1]);

let s;

before(async () => {
  s = await launch({
    name: 'cnn-preprocessing',
    vsix: process.env.MODELVIS_VSIX,
    workspace: (dir) => {
      mkdirSync(join(dir, 'models'), { recursive: true });
      copyFileSync(join(fixturesDir, 'models', 'lenet5-mnist', 'lenet.onnx'), join(dir, 'models', 'lenet.onnx'));
      writeStateDict(join(dir, 'models', 'resnet18.pth'), resnet18());
      for (const d of digits) copyFileSync(join(digitsDir, d), join(dir, d));
      copyFileSync(join(fixturesDir, 'images', 'cat.jpg'), join(dir, 'cat.jpg'));
      return { dir };
    },
    settings: () => ({ 'workbench.colorTheme': 'Default Dark Modern' }),
  });
});
after(async () => {
  await s?.close();
});

/** Right-click `image` → Show CNN Feature Maps → `model`; the panel's frame once a run other than `previousRun` is shown. */
async function showFeatureMaps(image, model, previousRun) {
  await s.explorerMenu(image, 'Show CNN Feature Maps');
  const pick = s.page.locator('.quick-input-list .monaco-list-row', { has: s.page.locator('.label-name', { hasText: model }) }).first();
  await pick.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
  await pick.click();
  return newRun(previousRun);
}

async function newRun(previousRun) {
  const frame = await s.webview('body[data-state="ready"] #features-prediction', { timeout: TIMEOUTS.host });
  await waitFor(async () => {
    const id = await frame.locator('body[data-state="ready"]').getAttribute('data-run-id').catch(() => null);
    return id && id !== previousRun;
  }, { timeout: TIMEOUTS.host, message: 'a new feature run' });
  return frame;
}

const runId = (frame) => frame.locator('body').getAttribute('data-run-id');
const predicted = async (frame) => Number(await frame.locator('#features-prediction').getAttribute('data-class'));

test('lenet.onnx: the guess is said, the MNIST preset reads every fixture digit right and is remembered', async () => {
  await s.guard('lenet guess then MNIST', async () => {
    let frame = await showFeatureMaps(digits[0], 'lenet.onnx');
    const section = frame.locator('#features-preprocessing-section');
    assert.equal(await section.getAttribute('data-guess'), 'true');
    assert.equal(await section.getAttribute('data-source'), 'guess');
    assert.match(await frame.locator('#features-preprocessing-source').innerText(), /^A guess: nothing in or beside the model says/);
    assert.match(await frame.locator('#features-preprocessing-now').innerText(), /grey 28×28.*pixel\/255 − \[0\]\) \/ \[1\]/);
    process.stderr.write(`[e2e] lenet with the guess (raw 0–1): ${await frame.locator('#features-prediction').innerText()}\n`);
    await frame.locator('#features-preprocessing-section').scrollIntoViewIfNeeded();
    await s.panelScreenshot('cnn-preprocessing-guess');

    const before = await runId(frame);
    await frame.locator('#pre-preset').selectOption('mnist');
    await frame.locator('#pre-apply').click();
    frame = await newRun(before);
    assert.equal(await frame.locator('#features-preprocessing-section').getAttribute('data-source'), 'user');
    assert.equal(await frame.locator('#features-preprocessing-section').getAttribute('data-preset'), 'mnist');
    assert.match(await frame.locator('#features-preprocessing-now').innerText(), /0\.1307.*0\.3081/);
    assert.match(await frame.locator('#features-preprocessing-own').innerText(), /The model’s own: .*A guess/);
    assert.equal(await predicted(frame), labelOf(digits[0]));
    await frame.locator('#features-preprocessing-section').scrollIntoViewIfNeeded();
    await s.panelScreenshot('cnn-preprocessing-mnist');

    // The other nine digits, each through the Explorer: the MNIST choice is remembered for lenet.onnx.
    const seen = [[digits[0], await predicted(frame)]];
    for (const d of digits.slice(1)) {
      frame = await showFeatureMaps(d, 'lenet.onnx', await runId(frame));
      assert.equal(await frame.locator('#features-preprocessing-section').getAttribute('data-preset'), 'mnist');
      seen.push([d, await predicted(frame)]);
    }
    process.stderr.write(`[e2e] lenet.onnx + MNIST preset: ${seen.map(([d, p]) => `${labelOf(d)}→${p}`).join(' ')}\n`);
    for (const [d, p] of seen) assert.equal(p, labelOf(d), d);

    // Custom values are checked before anything runs: two means for a grey model is refused on the spot.
    await frame.locator('#pre-preset').selectOption('custom');
    await frame.locator('#pre-custom:not([hidden])').waitFor();
    await frame.locator('#pre-mean').fill('0.1, 0.2');
    await frame.locator('#pre-apply').click();
    await frame.locator('#pre-error:not([hidden])').waitFor();
    assert.match(await frame.locator('#pre-error').innerText(), /^Mean: one value/);

    // Back to the model's own: the guess again.
    const last = await runId(frame);
    await frame.locator('#pre-reset').click();
    frame = await newRun(last);
    assert.equal(await frame.locator('#features-preprocessing-section').getAttribute('data-source'), 'guess');
  });
});

test('a torchvision-keyed ResNet-18 state dict runs without a sidecar, with ImageNet names and transforms', async () => {
  await s.guard('resnet18 recognised', async () => {
    const previous = await (await s.webview('body[data-state="ready"]')).locator('body').getAttribute('data-run-id');
    const frame = await showFeatureMaps('cat.jpg', 'resnet18.pth', previous);
    assert.match(await frame.locator('#features-meta').innerText(), /state dict, recognised as ResNet-18/);
    const section = frame.locator('#features-preprocessing-section');
    assert.equal(await section.getAttribute('data-source'), 'architecture');
    assert.equal(await section.getAttribute('data-guess'), 'false');
    assert.equal(await section.getAttribute('data-preset'), 'imagenet');
    assert.match(await frame.locator('#features-preprocessing-source').innerText(), /torchvision's ImageNet weights: resize to 256, centre crop 224/);
    assert.match(await frame.locator('#features-preprocessing-now').innerText(), /RGB 224×224, centre-cropped/);
    // Top-5 rows carry ImageNet class names at their indices (random weights: which classes does not matter).
    const rows = frame.locator('#features-top5 tbody tr');
    assert.equal(await rows.count(), 5);
    for (let i = 0; i < 5; i++) {
      const index = Number(await rows.nth(i).getAttribute('data-class'));
      assert.match(await rows.nth(i).locator('.class-name').innerText(), new RegExp(`^${imagenet[index].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${index}\\)`));
    }
    assert.match(await frame.locator('#features-cam-note').innerText(), /from layer4\.1\.relu/);
    await frame.locator('body[data-grids="ready"]').waitFor({ timeout: TIMEOUTS.host });
    assert.ok(await frame.locator('section.layer[data-layer="layer4.1.relu"][data-status="ready"]').count() === 1);
    await s.panelScreenshot('cnn-resnet18-recognised');
  });
});
