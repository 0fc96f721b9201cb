// The attribution tab's pure helpers: signed buckets for the editor, the request built from the tab's choices,
// the exported JSON and the completeness line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributionJson, attributionParams, AttributionChoices, completenessText, signedBuckets } from '../src/attention/attributionLogic';
import type { AttributionRunResult } from '../src/common/protocol';

test('signed buckets: by |score| against the largest, sign kept, zero and NaN unpainted', () => {
  assert.deepEqual(signedBuckets([3, -3, 1.5, -0.2, 0, NaN]), [
    { bucket: 2, negative: false },
    { bucket: 2, negative: true },
    { bucket: 1, negative: false },
    { bucket: 0, negative: true },
    null,
    null,
  ]);
  assert.deepEqual(signedBuckets([0, 0]), [null, null]);
});

const choices = (o: Partial<AttributionChoices>): AttributionChoices => ({ method: 'ig', target: 'prediction', position: -1, token: '', contrast: '', steps: 64, baseline: 'zero', ...o });

test('params: the last position by default, typed tokens only when the target asks, IG settings only for IG', () => {
  assert.deepEqual(attributionParams(choices({}), 13), { method: 'ig', position: 12, steps: 64, baseline: 'zero' });
  assert.deepEqual(attributionParams(choices({ method: 'saliency', position: 4, target: 'token', token: ' She' }), 13), { method: 'saliency', position: 4, targetText: ' She' });
  assert.deepEqual(attributionParams(choices({ method: 'occlusion', target: 'difference', token: ' She', contrast: ' He', position: 40 }), 13),
    { method: 'occlusion', position: 12, targetText: ' She', contrastText: ' He' });
  assert.throws(() => attributionParams(choices({ target: 'token' }), 13), /Type the token/);
  assert.throws(() => attributionParams(choices({ target: 'difference', token: 'a' }), 13), /second token/);
});

const result: AttributionRunResult = {
  method: 'ig', position: 2, target: 7, targetToken: ' She', contrast: null, contrastToken: null, value: 3.5,
  tokens: ['<s>', ' Lily', ' went'], scores: [0, 1.25, -0.5],
  completeness: { steps: 64, sum: 0.75, targetValue: 3.5, baselineValue: 2.75, difference: 0.75, relativeError: 2e-5 }, baselineToken: '<unk>',
};

test('export: the CLI\'s names plus the model, text and completeness', () => {
  const j = attributionJson(result, 'stories260K', 'Lily went') as Record<string, unknown>;
  assert.equal(j.model, 'stories260K');
  assert.deepEqual(j.scores, [0, 1.25, -0.5]);
  assert.equal(j.target_token, ' She');
  assert.equal(j.baseline_token, '<unk>');
  assert.deepEqual(Object.keys(attributionJson({ ...result, method: 'saliency', completeness: null, baselineToken: null }, 'm', 't')).includes('completeness'), false);
});

test('completeness line: Σ vs f(x) − f(baseline) and the error in percent', () => {
  assert.match(completenessText(result)!, /Σ attributions 0\.75000 vs f\(x\) − f\(baseline\) 0\.75000: completeness error 2\.0e-3 % \(64 steps\)/);
  assert.match(completenessText({ ...result, completeness: { ...result.completeness!, relativeError: 0.4512 } })!, /45\.12 %/);
  assert.equal(completenessText({ ...result, completeness: null }), undefined);
});
