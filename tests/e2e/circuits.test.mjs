// The attention panel's circuit tabs (issue 16) end to end on the real stories260K model, each checked against the CLI
// on the same text: Head detectors (the layers × heads grid equals `heads --json` for every detector; a click on a cell
// opens that head's heatmap), Logit attribution (the parts sum to the logit shown and equal `dla --json`) and Patching
// (the selection with one word changed, progress in a notification, the grids equal `patch --json`, also with the
// metric's two tokens typed in the tab). Screenshots of each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchStoriesSession, modelvisCli, TIMEOUTS, waitFor } from './harness.mjs';

const log = (m) => process.stderr.write(`[e2e] ${m}\n`);
let s;
let model;
let sentence;

before(async () => {
  s = await launchStoriesSession('circuits');
  model = s.workspaceInfo.models.stories260K;
  sentence = s.workspaceInfo.sentence;
});
after(async () => {
  await s?.close();
});

/** Asserts |a − b| ≤ 1e-6 (1 + |b|): the panel and the CLI run the same engine on the same ids. */
function close(a, b, what) {
  assert.ok(Number.isFinite(a) && Math.abs(a - b) <= 1e-6 * (1 + Math.abs(b)), `${what}: panel ${a} = CLI ${b}`);
}

/** The numbers behind the cells matching `selector` in `frame`, keyed by `key(dataset)`. */
async function cellValues(frame, selector, attribute) {
  return frame.locator(selector).evaluateAll((els, attribute) => els.map((e) => ({ ...e.dataset, value: Number(e.getAttribute(attribute)) })), attribute);
}

/** Opens a tab of the panel and waits for its view to be ready. */
async function openTab(frame, view, ready) {
  await frame.locator(`#view-tabs button[data-view=${view}]`).click();
  await frame.locator(`#view-tabs button[data-view=${view}][aria-selected="true"]`).waitFor();
  if (ready) await frame.locator(ready).waitFor({ timeout: TIMEOUTS.host });
}

let frame;

test('head detectors: the layers × heads grid is the CLI\'s `heads`; a click opens that head\'s heatmap', () => s.guard('heads', async () => {
  const cli = JSON.parse(modelvisCli('heads', '--model', model, '--text', sentence, '--json'));
  const layers = cli.previous_token.length, heads = cli.previous_token[0].length;
  assert.equal(layers, 5);
  assert.equal(heads, 8);

  // Room for the panel: the grids (40 heads plus the MLP column) fit beside the editor without the side bar.
  await s.runCommand('View: Close Primary Side Bar');
  await s.page.locator('.part.sidebar').waitFor({ state: 'hidden' });
  await s.openFile(s.workspaceInfo.pythonName);
  const box = await s.selectText(sentence);
  await s.rightClickMenu('Visualize Attention', box);
  frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
  assert.match(await frame.locator('#run-meta').innerText(), /tokens · 5 layers × 8 heads/);

  await openTab(frame, 'heads', '#heads-view[data-status="ready"] #heads-grid');
  for (const [kind, table] of [['previous-token', cli.previous_token], ['induction', cli.induction], ['duplicate-token', cli.duplicate_token]]) {
    if ((await frame.locator('#heads-kind').inputValue()) !== kind) {
      await frame.locator('#heads-kind').selectOption(kind);
      await frame.locator('#heads-view[data-status="ready"] #heads-grid').waitFor({ timeout: TIMEOUTS.host });
      await waitFor(async () => (await frame.locator('#heads-kind').inputValue()) === kind, { message: `detector ${kind}` });
    }
    const cells = await cellValues(frame, '#heads-grid .circuit-cell[data-layer][data-head]', 'data-score');
    assert.equal(cells.length, layers * heads, `${kind}: a cell per head`);
    for (const c of cells) close(c.value, table[c.layer][c.head], `${kind} L${c.layer}H${c.head}`);
    // The text shown is the score to two decimals.
    const shown = await frame.locator('#heads-grid .circuit-cell[data-layer="1"][data-head="2"]').innerText();
    assert.equal(shown.trim(), table[1][2].toFixed(2), `${kind}: L1H2 reads ${table[1][2].toFixed(2)}`);
  }

  // Back to previous-token; its strongest head is the one to open.
  await frame.locator('#heads-kind').selectOption('previous-token');
  await frame.locator('#heads-view[data-status="ready"] #heads-grid').waitFor({ timeout: TIMEOUTS.host });
  let best = { layer: 0, head: 0, score: -Infinity };
  cli.previous_token.forEach((row, layer) => row.forEach((score, head) => { if (score > best.score) best = { layer, head, score }; }));
  log(`strongest previous-token head: L${best.layer}H${best.head} ${best.score}`);
  const cell = frame.locator(`#heads-grid .circuit-cell[data-layer="${best.layer}"][data-head="${best.head}"]`);
  close(Number(await cell.getAttribute('data-score')), best.score, 'the strongest cell');
  await s.screenshot('circuits-heads');

  await cell.click();
  await frame.locator('#view-tabs button[data-view=heatmap][aria-selected="true"]').waitFor();
  await frame.locator(`#attention-heatmap[data-layer="${best.layer}"][data-head="${best.head}"][data-status="ready"] img[data-loaded="true"]`).waitFor({ timeout: TIMEOUTS.host });
  assert.equal(await frame.locator('#layer-select').inputValue(), String(best.layer));
  assert.equal(await frame.locator('#head-select').inputValue(), String(best.head));
  await s.screenshot('circuits-heads-opened');
}));

test('logit attribution: the parts sum to the logit shown and equal the CLI\'s `dla`', () => s.guard('dla', async () => {
  assert.ok(frame, 'the panel from the first test');
  const cli = JSON.parse(modelvisCli('dla', '--model', model, '--text', sentence, '--json'));
  await openTab(frame, 'dla', '#dla-view[data-status="ready"] #dla-grid');

  const heads = await cellValues(frame, '#dla-grid .circuit-cell[data-layer][data-head]', 'data-value');
  const mlp = await cellValues(frame, '#dla-grid .circuit-cell[data-mlp]', 'data-value');
  assert.equal(heads.length, 40, 'a cell per head');
  assert.equal(mlp.length, 5, 'a cell per MLP');
  const embed = Number(await frame.locator('#dla-embed').getAttribute('data-value'));
  const rest = Number(await frame.locator('#dla-rest').getAttribute('data-value'));
  for (const c of heads) close(c.value, cli.heads[c.layer][c.head], `head L${c.layer}H${c.head}`);
  for (const c of mlp) close(c.value, cli.mlp[c.mlp], `MLP ${c.mlp}`);
  close(embed, cli.embed, 'embedding');
  close(rest, cli.rest, 'biases');
  // Each cell's text is its value to three significant digits.
  const l0h0 = frame.locator('#dla-grid .circuit-cell[data-layer="0"][data-head="0"]');
  assert.ok(Math.abs(Number(await l0h0.innerText()) - cli.heads[0][0]) <= 5e-3 * Math.abs(cli.heads[0][0]) + 1e-12, 'L0H0 reads its value');

  // "Parts sum to X; the forward's logit is Y (residual Z).": the parts shown add up to both, and Y is the CLI's logit.
  const sumText = await frame.locator('#dla-sum').innerText();
  const m = /Parts sum to (\S+); the forward's logit is (\S+) \(residual (\S+)\)\. /.exec(sumText);
  assert.ok(m, `sum line: ${sumText}`);
  close(Number(await frame.locator('#dla-sum').getAttribute('data-residual')), cli.residual, 'residual');
  assert.deepEqual(await frame.locator('#dla-approximations li').allInnerTexts(), cli.approximations, 'what was held fixed, as the CLI says');
  const [total, logit] = [Number(m[1]), Number(m[2])];
  const parts = heads.reduce((a, c) => a + c.value, 0) + mlp.reduce((a, c) => a + c.value, 0) + embed + rest;
  log(`dla: parts ${parts}, shown total ${total}, shown logit ${logit}, CLI logit ${cli.logit}`);
  const tol = 1e-5 * (1 + Math.abs(logit)); // the line shows six significant digits
  assert.ok(Math.abs(parts - total) <= tol, `the parts (${parts}) sum to the total shown (${total})`);
  assert.ok(Math.abs(parts - logit) <= Math.max(tol, 1e-3 * (1 + Math.abs(logit))), `the parts (${parts}) sum to the logit shown (${logit})`);
  assert.ok(Math.abs(logit - cli.logit) <= tol, `the logit shown (${logit}) is the CLI's (${cli.logit})`);
  assert.match(await frame.locator('#dla-what').innerText(), /^logit of “.*” \(\d+\) at position \d+/);
  await s.screenshot('circuits-dla');
}));

test('patching: the selection with one word changed, progress in a notification, the grids equal the CLI\'s `patch`', () => s.guard('patch', async () => {
  assert.ok(frame, 'the panel from the first test');
  await openTab(frame, 'patch', '#patch-view[data-status="idle"] #patch-corrupt');
  const corrupt = await frame.locator('#patch-corrupt').inputValue();
  assert.equal(corrupt, sentence.replace('Lily', 'Tim'), 'the name swapped');
  const cli = JSON.parse(modelvisCli('patch', '--model', model, '--clean', sentence, '--corrupt', corrupt, '--json'));

  const toast = s.page.locator('.notifications-toasts .notification-toast', { hasText: 'ModelVis: activation patching' });
  await frame.locator('#patch-run').click();
  await frame.locator('#patch-view[data-status="ready"] #patch-resid').waitFor({ timeout: TIMEOUTS.host });
  await waitFor(async () => (await toast.count()) === 0, { timeout: TIMEOUTS.host, message: 'the progress notification gone' });

  const resid = await cellValues(frame, '#patch-resid .circuit-cell[data-layer][data-pos]', 'data-value');
  assert.equal(resid.length, cli.resid.length * cli.resid[0].length, 'a cell per layer and position');
  for (const c of resid) close(c.value, cli.resid[c.layer][c.pos], `residual L${c.layer} @${c.pos}`);
  const heads = await cellValues(frame, '#patch-heads .circuit-cell[data-layer][data-head]', 'data-value');
  assert.equal(heads.length, 40, 'a cell per head');
  for (const c of heads) close(c.value, cli.heads[c.layer][c.head], `head L${c.layer}H${c.head}`);
  // The metric line shows the CLI's clean and corrupted metric.
  const metric = await frame.locator('#patch-metric').innerText();
  const mm = /: (\S+) clean, (\S+) corrupted\./.exec(metric);
  assert.ok(mm, `metric line: ${metric}`);
  assert.ok(Math.abs(Number(mm[1]) - cli.clean) <= 1e-3 * (1 + Math.abs(cli.clean)), `clean metric ${mm[1]} = CLI ${cli.clean}`);
  assert.ok(Math.abs(Number(mm[2]) - cli.corrupt) <= 1e-3 * (1 + Math.abs(cli.corrupt)), `corrupted metric ${mm[2]} = CLI ${cli.corrupt}`);
  // The changed token is marked in the axis.
  assert.ok((await frame.locator('#patch-resid th.token-label.changed').count()) >= 1, 'the changed token marked');
  await s.screenshot('circuits-patch');

  // The metric's tokens chosen in the tab: " She" as the grid shows it, "▁They" as the vocabulary spells it.
  const [SHE, THEY] = [338, 342];
  const chosen = JSON.parse(modelvisCli('patch', '--model', model, '--clean', sentence, '--corrupt', corrupt, '--target', String(SHE), '--contrast', String(THEY), '--json'));
  await frame.locator('#patch-target').fill(' She');
  await frame.locator('#patch-contrast').fill('▁They');
  await frame.locator('#patch-run').click();
  await frame.locator(`#patch-view[data-status="ready"] #patch-metric[data-t-corrupt="${THEY}"]`).waitFor({ timeout: TIMEOUTS.host });
  assert.equal(await frame.locator('#patch-metric').getAttribute('data-t-clean'), String(SHE));
  assert.match(await frame.locator('#patch-metric').innerText(), /logit\(“ She” 338\) − logit\(“ They” 342\)/);
  for (const c of await cellValues(frame, '#patch-resid .circuit-cell[data-layer][data-pos]', 'data-value'))
    close(c.value, chosen.resid[c.layer][c.pos], `She − They: residual L${c.layer} @${c.pos}`);
  for (const c of await cellValues(frame, '#patch-heads .circuit-cell[data-layer][data-head]', 'data-value'))
    close(c.value, chosen.heads[c.layer][c.head], `She − They: head L${c.layer}H${c.head}`);
  const mc = /: (\S+) clean, (\S+) corrupted\./.exec(await frame.locator('#patch-metric').innerText());
  assert.ok(Math.abs(Number(mc[1]) - chosen.clean) <= 1e-3 * (1 + Math.abs(chosen.clean)), `She − They: clean metric ${mc[1]} = CLI ${chosen.clean}`);
  // A text of two tokens is refused with the tokens named.
  await frame.locator('#patch-contrast').fill('They went');
  await frame.locator('#patch-run').click();
  const error = frame.locator('#patch-view[data-status="error"] [role="alert"]');
  await error.waitFor({ timeout: TIMEOUTS.host });
  assert.match(await error.innerText(), /the corrupted answer: “They went” is 3 tokens \( They,  w, ent\)/);
  await frame.locator('#patch-contrast').fill('▁They');
  await frame.locator('#patch-run').click();
  await frame.locator('#patch-view[data-status="ready"] #patch-resid').waitFor({ timeout: TIMEOUTS.host });
  await s.screenshot('circuits-patch-chosen-tokens');
}));
