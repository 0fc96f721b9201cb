import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absMax, headsAbove, headTable, oneWordChanged, signedIntensity } from '../src/attention/circuitsLogic';
import type { CircuitHeadsResult } from '../src/common/protocol';

const result: CircuitHeadsResult = {
  source: 'selection', layers: 2, heads: 2,
  previousToken: [[0.1, 0.9], [0.5, 0.2]],
  induction: [[0, 0.45], [0.41, 0]],
  duplicateToken: [[0.3, 0], [0, 0.7]],
  labels: [[null, 'previous-token'], ['previous-token', 'duplicate-token']],
  probeIds: null,
};

test('the filter keeps heads strictly above the threshold, strongest first', () => {
  assert.deepEqual(headsAbove(headTable(result, 'previous-token'), 0.4), [{ layer: 0, head: 1, score: 0.9 }, { layer: 1, head: 0, score: 0.5 }]);
  assert.deepEqual(headsAbove(headTable(result, 'induction'), 0.45).length, 0);
  assert.deepEqual(headsAbove(headTable(result, 'duplicate-token'), 0), [{ layer: 1, head: 1, score: 0.7 }, { layer: 0, head: 0, score: 0.3 }]);
});

test('signed colours share one symmetric limit over every table, clamp beyond it and leave NaN neutral', () => {
  assert.equal(absMax([[1, -3]], [2]), 3);
  assert.equal(absMax([[0]]), 1e-12);
  assert.equal(signedIntensity(-1.5, 3), -0.5);
  assert.equal(signedIntensity(9, 3), 1);
  assert.equal(signedIntensity(Number.NaN, 3), 0);
});

test('the corrupted prompt changes one word (a name, else a pronoun swap, else the last word) and keeps the number of words', () => {
  assert.equal(oneWordChanged('Lily went to the park with her mom.'), 'Tim went to the park with her mom.');
  assert.equal(oneWordChanged('Then Tim saw a dog.'), 'Then Sam saw a dog.');
  assert.equal(oneWordChanged('she went home'), 'she went thing');
  assert.equal(oneWordChanged('x = 1'), 'thing = 1');
  assert.equal(oneWordChanged('1 + 2'), '1 + 2');
});
