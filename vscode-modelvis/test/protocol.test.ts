// The typed protocol (src/common/protocol.ts) against docs/protocol.md: one request or notification per documented
// method, and the webviews' allow-lists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import * as protocol from '../src/common/protocol';

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
