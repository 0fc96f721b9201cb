// Circuits (issue 16) through vscode-jsonrpc on the real stories260K model: head detectors on the run and on the
// probe, direct logit attribution, activation patching with $/progress and cancellation, and the CLI beside them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startHost, hostDll, fixtures } from './host-client.mjs';

const model = join(fixtures, 'models', 'stories260K');
const clean = 'Lily went to the park with her mom.';
const corrupt = 'Tim went to the park with his mom.';
const SHE = 338, HE = 346;
let host;
let run;
before(async () => {
  host = startHost();
  run = await host.connection.sendRequest('attention/run', { model, text: clean });
});
after(async () => { await host.stop(); });

const cli = (...args) => {
  const r = spawnSync('dotnet', [hostDll(), ...args, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('circuits/heads on the run: layers × heads from the run\'s attention, labels, and the CLI agrees', async () => {
  const r = await host.connection.sendRequest('circuits/heads', { runId: run.runId });
  assert.equal(r.source, 'selection');
  assert.equal(r.previousToken.length, 5);
  assert.equal(r.previousToken[0].length, 8);
  r.previousToken.forEach((row, l) => row.forEach((s, h) => assert.equal(r.labels[l][h] === 'previous-token', s >= 0.4 && s >= r.duplicateToken[l][h] && s >= r.induction[l][h], `${l}.${h}`)));
  const out = cli('heads', '--model', model, '--text', clean);
  assert.deepEqual(Object.keys(out).sort(), ['duplicate_token', 'induction', 'previous_token']);
  for (let l = 0; l < 5; l++) for (let h = 0; h < 8; h++) close(out.previous_token[l][h], r.previousToken[l][h], 1e-6, `${l}.${h}`);
});

test('circuits/heads on the probe: seeded BOS + block + block, no induction head in stories260K', async () => {
  const r = await host.connection.sendRequest('circuits/heads', { runId: run.runId, probeBlock: 20, seed: 5, blocks: 2 });
  assert.equal(r.source, 'probe');
  assert.equal(r.probeIds.length, 2);
  for (const ids of r.probeIds) {
    assert.equal(ids.length, 41);
    assert.equal(ids[0], 1);
    assert.deepEqual(ids.slice(1, 21), ids.slice(21));
  }
  // README-interp: layer 3 head 6 is the strong previous-token head (0.913 on its repeated-block case).
  assert.ok(r.previousToken[3][6] > 0.85, `3.6: ${r.previousToken[3][6]}`);
  assert.equal(r.labels[3][6], 'previous-token');
  const best = Math.max(...r.induction.flat());
  assert.ok(best < 0.4, `README-interp: no induction head (best ${best})`);
  const out = cli('heads', '--model', model, '--probe', 'repeated', '--block', '20', '--seed', '5', '--blocks', '2');
  for (let l = 0; l < 5; l++) for (let h = 0; h < 8; h++) close(out.induction[l][h], r.induction[l][h], 1e-9, `${l}.${h}`);
});

test('circuits/dla: the parts add up to the logit of ▁She at the last position, as the CLI says', async () => {
  const r = await host.connection.sendRequest('circuits/dla', { runId: run.runId });
  assert.equal(r.position, run.n - 1);
  assert.equal(r.target, SHE, 'default target: the prediction');
  assert.equal(r.targetToken, ' She');
  const parts = r.heads.flat().reduce((a, b) => a + b, 0) + r.mlp.reduce((a, b) => a + b, 0) + r.embed + r.rest;
  close(parts, r.logit, 1e-4, 'sum of parts');
  const out = cli('dla', '--model', model, '--text', clean, '--target', String(SHE));
  assert.deepEqual(Object.keys(out).sort(), ['approximations', 'embed', 'heads', 'logit', 'mlp', 'parts_sum', 'residual', 'rest']);
  close(out.logit, r.logit, 1e-9, 'logit');
  close(out.residual, out.logit - out.parts_sum, 1e-12, 'residual = logit − parts');
  assert.ok(Math.abs(r.residual) < 1e-4 && r.crossHeads === null, 'Llama: no post-norm, no cross-attention');
  assert.deepEqual(r.approximations, ["final norm scale frozen at this run's value"]);
  const diff = await host.connection.sendRequest('circuits/dla', { runId: run.runId, target: SHE, contrast: HE });
  close(diff.logit, 2.645, 1e-3, 'README-interp: the clean logit difference');
});

test('dla on Gemma 2 (post-norms frozen, soft-capped logits) and T5 (cross-attention heads): the residual and what was frozen', () => {
  const g = cli('dla', '--model', join(fixtures, 'models', 'tiny-gemma2'), '--ids', '386,10,415,335,493,959,313');
  assert.equal(g.approximations.length, 3, g.approximations.join(' | '));
  assert.match(g.approximations[1], /^post-attention norm scales frozen/);
  assert.match(g.approximations[2], /^final_logit_softcapping 3/);
  // The parts add up to the logit before the cap: the capped one is 3·tanh(parts / 3).
  close(3 * Math.tanh(g.parts_sum / 3), g.logit, 1e-5, 'cap(parts) = logit');
  close(g.residual, g.logit - g.parts_sum, 1e-12, 'residual');
  const t = cli('dla', '--model', join(fixtures, 'models', 'tiny-t5'), '--ids', '763,535,857,483,157,686,1', '--decoder-ids', '0,58,900,431,256');
  assert.equal(t.cross_heads.length, 3);
  assert.equal(t.cross_heads[0].length, 4);
  const parts = [...t.heads.flat(), ...t.cross_heads.flat(), ...t.mlp, t.embed, t.rest].reduce((a, b) => a + b, 0);
  close(parts, t.logit, 1e-5, 'T5: self + cross + feed-forward + embedding = logit');
});

test('circuits/patch: progress, the metrics of README-interp, exact 0 where the prompts agree', async () => {
  const token = 'patch-1';
  host.progress.length = 0;
  const r = await host.connection.sendRequest('circuits/patch', { runId: run.runId, corruptText: corrupt, target: SHE, contrast: HE, workDoneToken: token });
  close(r.clean, 2.645, 1e-3, 'metric clean');
  close(r.corrupt, -0.233, 1e-3, 'metric corrupted');
  assert.equal(r.resid.length, 5);
  assert.equal(r.resid[0].length, run.n);
  assert.equal(r.heads.length, 5);
  assert.equal(r.tokens.length, r.corruptTokens.length);
  r.tokens.forEach((t, p) => { if (t === r.corruptTokens[p]) assert.equal(r.resid[0][p], 0, `position ${p}`); });
  const kinds = host.progress.filter((p) => p.token === token).map((p) => p.value.kind);
  assert.equal(kinds[0], 'begin');
  assert.ok(kinds.includes('report'));
  assert.equal(kinds.at(-1), 'end');
  await assert.rejects(host.connection.sendRequest('circuits/patch', { runId: run.runId, corruptText: 'Tim went.' }),
    (e) => e.code === -32001 && /same number of tokens/.test(e.message));
  // The metric's tokens as the panel shows them (" She", " He") or as the vocabulary spells them give the same grids as their ids.
  const typed = await host.connection.sendRequest('circuits/patch', { runId: run.runId, corruptText: corrupt, targetToken: ' She', contrastToken: '▁He', heads: false });
  assert.equal(typed.tClean, SHE);
  assert.equal(typed.tCorrupt, HE);
  assert.deepEqual(typed.resid, r.resid);
  await assert.rejects(host.connection.sendRequest('circuits/patch', { runId: run.runId, corruptText: corrupt, targetToken: 'She went' }),
    (e) => e.code === -32001 && /the clean answer: “She went” is \d+ tokens/.test(e.message));
});

test('cancelling circuits/patch answers -32800 within a few passes', async () => {
  const { CancellationTokenSource } = await import('vscode-jsonrpc/node.js');
  // 20 sentences: 5 layers × ~250 positions of patched runs, long enough to cancel in the middle.
  const long = await host.connection.sendRequest('attention/run', { model, text: Array(20).fill(clean).join(' ') });
  const ids = long.tokens.map((t) => t.id);
  const corruptIds = [...ids];
  corruptIds[1] = ids[1] === 400 ? 401 : 400;
  const source = new CancellationTokenSource();
  const token = 'patch-cancel';
  host.progress.length = 0;
  const pending = host.connection.sendRequest('circuits/patch', { runId: long.runId, corruptIds, workDoneToken: token }, source.token);
  const started = Date.now();
  while (!host.progress.some((p) => p.token === token && p.value.kind === 'report')) await new Promise((r) => setTimeout(r, 10));
  source.cancel();
  await assert.rejects(pending, (e) => e.code === -32800);
  assert.ok(Date.now() - started < 20_000);
});
