// The attention panel's Attribution tab (issue 17) end to end on the real stories260K model: integrated gradients of
// the next-token prediction equal the CLI's `attribute` on the same text, the completeness error is shown (poor for
// the zero baseline of an RMSNorm model, small for the pad/unk baseline), the scores are painted on the selection in
// the theme's two attribution colours and listed strongest first; a typed token difference by another method.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchStoriesSession, modelvisCli, TIMEOUTS, waitFor } from './harness.mjs';

const log = (m) => process.stderr.write(`[e2e] ${m}\n`);
let s;
let model;
let sentence;
let frame;

before(async () => {
  s = await launchStoriesSession('attribution');
  model = s.workspaceInfo.models.stories260K;
  sentence = s.workspaceInfo.sentence;
});
after(async () => {
  await s?.close();
});

/** The editor's decorated token backgrounds as [r, g, b, a]. */
const paintedColours = () =>
  s.editor().evaluate((el) => [...el.querySelectorAll('.view-overlays div, .view-line span')]
    .filter((e) => /ced-\w+/.test(e.className))
    .map((e) => getComputedStyle(e).backgroundColor)
    .filter((c) => c !== 'rgba(0, 0, 0, 0)')
    .map((c) => (c.match(/[\d.]+/g) ?? []).map(Number)));

async function chipScores() {
  return frame.locator('#attr-tokens .attr-token').evaluateAll((els) => els.map((e) => Number(e.dataset.value)));
}

function closeAll(panel, cli, what) {
  assert.equal(panel.length, cli.length, `${what}: a score per token`);
  const scale = Math.max(...cli.map(Math.abs));
  panel.forEach((v, i) => assert.ok(Math.abs(v - cli[i]) <= 1e-5 * scale, `${what} token ${i}: panel ${v} = CLI ${cli[i]}`));
}

test('integrated gradients of the prediction: the CLI\'s scores, the completeness error, two colours in the editor', () => s.guard('ig', async () => {
  const cli = JSON.parse(modelvisCli('attribute', '--model', model, '--text', sentence, '--method', 'ig', '--steps', '64', '--json'));
  await s.runCommand('View: Close Primary Side Bar');
  await s.page.locator('.part.sidebar').waitFor({ state: 'hidden' });
  await s.openFile(s.workspaceInfo.pythonName);
  const box = await s.selectText(sentence);
  await s.rightClickMenu('Visualize Attention', box);
  frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });

  await frame.locator('#view-tabs button[data-view=attribution]').click();
  await frame.locator('#attribution-view[data-status="ready"] #attr-tokens').waitFor({ timeout: TIMEOUTS.host });
  closeAll(await chipScores(), cli.scores, 'IG zero baseline');
  assert.match(await frame.locator('#attr-what').innerText(), /^Integrated gradients of the logit of “ She” \(338\) at position 12/);
  const k = frame.locator('#attr-completeness');
  const shownError = Number(await k.getAttribute('data-relative-error'));
  assert.ok(Math.abs(shownError - cli.completeness.relative_error) <= 1e-4 * (1 + cli.completeness.relative_error), `relative error ${shownError} = CLI ${cli.completeness.relative_error}`);
  assert.equal(await k.getAttribute('class'), 'warning', 'README-interp: the zero baseline does not converge on an RMSNorm model');
  assert.match(await k.innerText(), /completeness error \d+\.\d\d %.*pad\/unk baseline/);

  // The list: every token once, strongest |score| first.
  const list = await frame.locator('#attr-list tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.querySelector('[data-value]').dataset.value)));
  assert.equal(list.length, cli.scores.length);
  for (let i = 1; i < list.length; i++) assert.ok(Math.abs(list[i - 1]) >= Math.abs(list[i]), 'sorted by |score|');

  // Painted in the editor: positive scores in the blue attribution colour, negative in the red one.
  let colours = [];
  await waitFor(async () => (colours = await paintedColours()).length > 0, { timeout: TIMEOUTS.host, message: 'attribution painted in the editor' });
  const blue = colours.filter(([r, , b]) => b > r).length, red = colours.filter(([r, , b]) => r > b).length;
  log(`editor: ${blue} blue, ${red} red decorations; scores ${cli.scores.map((v) => v.toFixed(2)).join(' ')}`);
  assert.ok(blue > 0 && red > 0, `both colours: ${JSON.stringify(colours)}`);
  assert.ok(cli.scores.some((v) => v < 0) && cli.scores.some((v) => v > 0));
  await s.screenshot('attribution-ig-zero');

  // The pad/unk baseline (BOS kept) converges: the error drops below 0.1 %.
  await frame.locator('#attr-baseline').selectOption('token');
  await frame.locator('#attr-run').click();
  await waitFor(async () => (await frame.locator('#attr-completeness').getAttribute('class')) === 'note', { timeout: TIMEOUTS.host, message: 'the token baseline converges' });
  const unk = JSON.parse(modelvisCli('attribute', '--model', model, '--text', sentence, '--method', 'ig', '--steps', '64', '--baseline', 'token', '--json'));
  closeAll(await chipScores(), unk.scores, 'IG unk baseline');
  assert.ok(Number(await frame.locator('#attr-completeness').getAttribute('data-relative-error')) < 1e-3);
  assert.match(await frame.locator('#attr-completeness').innerText(), /baseline “<unk>”/);
  await s.screenshot('attribution-ig-unk');
}));

test('a typed token difference by input × gradient, and occlusion: the CLI\'s numbers', () => s.guard('difference', async () => {
  assert.ok(frame, 'the panel from the first test');
  await frame.locator('#attr-method').selectOption('ixg');
  await frame.locator('#attr-target').selectOption('difference');
  await frame.locator('#attr-token').fill(' She');
  await frame.locator('#attr-contrast').fill(' He');
  await frame.locator('#attr-run').click();
  await waitFor(async () => /− logit\(“ He”\)/.test(await frame.locator('#attr-what').innerText().catch(() => '')), { timeout: TIMEOUTS.host, message: 'the difference explained' });
  const cli = JSON.parse(modelvisCli('attribute', '--model', model, '--text', sentence, '--method', 'ixg', '--target', '338', '--contrast', '346', '--json'));
  closeAll(await chipScores(), cli.scores, 'ixg She − He');
  assert.match(await frame.locator('#attr-what').innerText(), /f = 2\.64/);
  await s.screenshot('attribution-ixg-difference');

  await frame.locator('#attr-method').selectOption('occlusion');
  await frame.locator('#attr-target').selectOption('prediction');
  await frame.locator('#attr-run').click();
  await waitFor(async () => /^Occlusion/.test(await frame.locator('#attr-what').innerText().catch(() => '')), { timeout: TIMEOUTS.host, message: 'occlusion shown' });
  const occ = JSON.parse(modelvisCli('attribute', '--model', model, '--text', sentence, '--method', 'occlusion', '--json'));
  closeAll(await chipScores(), occ.scores, 'occlusion');
  await s.screenshot('attribution-occlusion');
}));
