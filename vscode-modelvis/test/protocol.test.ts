// The typed protocol (src/common/protocol.ts) against docs/protocol.md: one request or notification per documented
// method, and the webviews' allow-lists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import * as protocol from '../src/common/protocol';
import { HostResponseError } from '../src/common/errors';
import { answerViewRequest } from '../src/webview/viewRequests';

const declared = (Object.values(protocol) as unknown[])
  .filter((v) => v instanceof RequestType || v instanceof NotificationType)
  .map((t) => (t as { method: string }).method);

test('every method docs/protocol.md lists is declared once, and nothing else', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'protocol.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `([a-z$][\w/$]*)`/gm)].map((m) => m[1]);
  assert.ok(documented.length > 25, `read the method tables of docs/protocol.md (${documented.length} rows)`);
  assert.deepEqual([...declared].sort(), [...new Set(documented)].sort());
  assert.equal(new Set(declared).size, declared.length, 'each method declared once');
});

test('a webview may ask only for the views of its own run', () => {
  assert.equal(protocol.viewRequest(protocol.ATTENTION_VIEW_REQUESTS, 'attention/matrix'), protocol.AttentionMatrixRequest);
  assert.equal(protocol.viewRequest(protocol.ATTENTION_VIEW_REQUESTS, 'neurons/nmf'), protocol.NeuronsNmf);
  assert.equal(protocol.viewRequest(protocol.ATTENTION_VIEW_REQUESTS, 'circuits/patch'), protocol.CircuitsPatch);
  for (const m of ['attention/run', 'attention/release', 'models/forget', 'features/grid', 'shutdown', 42, undefined]) {
    assert.equal(protocol.viewRequest(protocol.ATTENTION_VIEW_REQUESTS, m), undefined, String(m));
  }
  assert.equal(protocol.viewRequest(protocol.FEATURE_VIEW_REQUESTS, 'features/cam'), protocol.FeaturesCam);
  for (const m of ['features/run', 'features/release', 'attention/matrix']) {
    assert.equal(protocol.viewRequest(protocol.FEATURE_VIEW_REQUESTS, m), undefined, m);
  }
});

test("a webview's request is answered under its id: the host's result with the run id added, the host's error, or a refusal", async () => {
  const calls: Array<{ method: string; params: unknown }> = [];
  const logged: string[] = [];
  const call = async (type: { method: string }, params: Record<string, unknown>) => {
    calls.push({ method: type.method, params });
    if (params.layer === 9) throw new HostResponseError(type.method, protocol.ErrorCodes.UserError, 'layer 9 is out of range (2 layers)');
    return { n: 3 };
  };
  const ask = (method: string, params: Record<string, unknown>, shown: { runId?: string } = { runId: 'run-1' }) =>
    answerViewRequest(protocol.ATTENTION_VIEW_REQUESTS, { type: 'request', id: 7, method, params }, shown.runId, call, (l) => logged.push(l));

  assert.deepEqual(await ask('attention/matrix', { layer: 1, head: 0 }), { type: 'response', id: 7, result: { n: 3 } });
  assert.deepEqual(calls[0], { method: 'attention/matrix', params: { layer: 1, head: 0, runId: 'run-1' } });
  // The run shown is the one asked about, whatever run id the page sends.
  await ask('attention/matrix', { layer: 1, head: 0, runId: 'other' });
  assert.equal((calls[1].params as { runId: string }).runId, 'run-1');

  assert.deepEqual(await ask('attention/matrix', { layer: 9, head: 0 }), { type: 'response', id: 7, error: 'layer 9 is out of range (2 layers)' });
  assert.deepEqual(logged, ['attention/matrix → layer 9 is out of range (2 layers)']);

  assert.deepEqual(await ask('models/forget', {}), { type: 'response', id: 7, error: 'not allowed: models/forget' });
  assert.deepEqual(await ask('attention/matrix', { layer: 1, head: 0 }, {}), { type: 'response', id: 7, error: 'no run is shown' });
  assert.equal(calls.length, 3, 'refused requests never reach the host');
});
