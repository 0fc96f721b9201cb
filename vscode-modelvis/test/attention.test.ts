import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attentionKinds,
  axesOf,
  bucketRow,
  chooseText,
  crossAlignment,
  isEncoderDecoder,
  layerFor,
  decodeBase64,
  decodeFloat32,
  headViewLines,
  labelIndices,
  matrixJson,
  nextHead,
  readableToken,
  statusText,
  tokenAtOffset,
  tokenLabel,
  topKeys,
  weightBucket,
} from '../src/attention/attentionLogic';
import type { AttentionRun } from '../src/common/protocol';

test('base64 float32 decoding matches Buffer (little-endian)', () => {
  const values = new Float32Array([0, 1, -2.5, 0.125, 3.4028234663852886e38, 1e-7]);
  const b64 = Buffer.from(values.buffer).toString('base64');
  assert.deepEqual(Array.from(decodeFloat32(b64)), Array.from(values));
  assert.deepEqual(Array.from(decodeBase64('aGVsbG8=')), Array.from(Buffer.from('hello')));
  assert.deepEqual(Array.from(decodeBase64('')), []);
  assert.throws(() => decodeBase64('ab$d'));
});

test('every token is labelled when the labels fit, else every k-th from 0 with k on a 1-2-5 scale', () => {
  assert.deepEqual(labelIndices(5, 100, 12), [0, 1, 2, 3, 4]);
  const many = labelIndices(100, 400, 12); // 4 px per token: needs stride 3 → 5
  assert.equal(many[1] - many[0], 5);
  assert.equal(many[0], 0);
  assert.equal(labelIndices(2048, 800, 12)[1], 50);
  assert.deepEqual(labelIndices(0, 100), []);
});

test('a token label is readable, shows its whitespace and is cut to its length', () => {
  assert.equal(tokenLabel({ display: ' Lily', text: '▁Lily' }), ' Lily');
  assert.equal(tokenLabel({ display: '\n', text: 'Ċ' }), '↵');
  assert.equal(tokenLabel({ display: '  ', text: 'ĠĠ' }), '␣␣');
  assert.equal(tokenLabel({ display: 'abcdefghijklmnopqrstuvwxyz', text: '' }, 8), 'abcdefg…');
  assert.equal(tokenLabel({ display: '<script>', text: '<script>' }), '<script>', 'escaping is the DOM\'s job (text nodes)');
});

test('head-view lines of several heads are those at the threshold or above, strongest first, up to the cap', () => {
  const n = 3;
  const h0 = new Float32Array([1, 0, 0, 0.6, 0.4, 0, 0.2, 0.3, 0.5]);
  const h1 = new Float32Array([1, 0, 0, 0.05, 0.95, 0, 0.1, 0.1, 0.8]);
  const lines = headViewLines(new Map([[0, h0], [1, h1]]), n, 0.3);
  assert.ok(lines.every((l) => l.weight >= 0.3));
  assert.equal(lines[0].weight, 1);
  assert.equal(lines.length, 8);
  assert.deepEqual(
    lines.filter((l) => l.head === 0).map((l) => [l.query, l.key]).sort(),
    [[0, 0], [1, 0], [1, 1], [2, 1], [2, 2]].sort(),
  );
  assert.equal(lines.filter((l) => l.head === 1).length, 3);
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1].weight >= lines[i].weight);
  assert.equal(headViewLines(new Map([[0, h0]]), n, 0, 2).length, 2);
  assert.equal(headViewLines(new Map([[0, h0]]), n, 0).length, 6, 'zero weights (the causal future) never drawn');
});

test('editor decorations bucket each key by its share of the row maximum and leave the query out', () => {
  assert.equal(weightBucket(1, 1), 4);
  assert.equal(weightBucket(0.5, 1), 2);
  assert.equal(weightBucket(0.01, 1), -1);
  assert.equal(weightBucket(0, 1), -1);
  assert.equal(weightBucket(0.3, 0), -1);
  const b = bucketRow([0.5, 0.3, 0.2, 0.0, 0.001], 2);
  assert.deepEqual(b[4], [0]);
  assert.deepEqual(b[3], [1]);
  assert.ok(!b.flat().includes(2), 'query itself not painted');
  assert.ok(!b.flat().includes(3) && !b.flat().includes(4));
});

test('the token under the cursor is found among special tokens that have no offsets', () => {
  const tokens = [
    { start: null, end: null },
    { start: 0, end: 4 },
    { start: 4, end: 8 },
  ];
  assert.equal(tokenAtOffset(tokens, 0), 1);
  assert.equal(tokenAtOffset(tokens, 4), 2);
  assert.equal(tokenAtOffset(tokens, 8), 2, 'just after the last character');
  assert.equal(tokenAtOffset(tokens, 9), -1);
  assert.equal(tokenAtOffset(tokens, -1), -1);
});

test('heads cycle through mean and max, the status bar names model, layer and head, and no selection means the line', () => {
  assert.equal(nextHead(0, 2), 1);
  assert.equal(nextHead(1, 2), 'mean');
  assert.equal(nextHead('mean', 2), 'max');
  assert.equal(nextHead('max', 2), 0);
  assert.equal(statusText('stories260K', 2, 3), 'ModelVis: stories260K L2 H3');
  assert.equal(statusText('m', 0, 'mean'), 'ModelVis: m L0 Hmean');
  assert.equal(chooseText('sel', 'line'), 'sel');
  assert.equal(chooseText('', 'line'), 'line');
  assert.equal(chooseText(undefined, 'line'), 'line');
});

test('the JSON export holds every weight with its tokens, and the top keys are the strongest first', () => {
  const run = {
    n: 2,
    model: { path: '/m', name: 'm', modelType: 'llama', layers: 1, heads: 1, causal: true },
    tokens: [
      { id: 1, text: '<s>', display: '<s>', start: null, end: null, special: true },
      { id: 5, text: '▁a', display: ' a', start: 0, end: 1, special: false },
    ],
  };
  const j = matrixJson(run, 0, 'mean', new Float32Array([1, 0, 0.25, 0.75]), 'a') as { values: number[][]; tokens: unknown[]; head: unknown };
  assert.deepEqual(j.values, [[1, 0], [0.25, 0.75]]);
  assert.equal(j.tokens.length, 2);
  assert.equal(j.head, 'mean');
  assert.deepEqual(topKeys([0.1, 0.7, 0.2], 2), [{ key: 1, weight: 0.7 }, { key: 2, weight: 0.2 }]);
});

test('raw vocabulary tokens are made readable', () => {
  assert.equal(readableToken('▁the'), ' the');
  assert.equal(readableToken('Ġworld'), ' world');
  assert.equal(readableToken('##ing'), 'ing');
  assert.equal(readableToken('Ċ'), '\n');
  assert.equal(readableToken('</s>'), '</s>');
});

// ---- encoder-decoder runs (T5) ----

const tok = (display: string, special = false, start: number | null = null) => ({ id: 0, text: display, display, start, end: start === null ? null : start + display.length, special });
const t5Run: AttentionRun = {
  runId: 'r1',
  model: { path: '/m', name: 't5', modelType: 't5', layers: 3, heads: 4, causal: true, encoderLayers: 2 },
  n: 4,
  tokens: [tok('Das', false, 0), tok('Haus', false, 4), tok('.', false, 8), tok('</s>', true)],
  target: { text: 'The house.', greedy: true, tokens: [tok('<pad>', true), tok('The'), tok('house'), tok('.'), tok('</s>', true)] },
};

test('an encoder-decoder run has cross, encoder and decoder attention with their own axes and depths', () => {
  assert.equal(isEncoderDecoder(t5Run), true);
  const kinds = attentionKinds(t5Run);
  assert.deepEqual(kinds.map((k) => [k.kind, k.layers, k.queries.length, k.keys.length]), [
    ['cross', 3, 5, 4],
    ['encoder', 2, 4, 4],
    ['decoder', 3, 5, 5],
  ]);
  assert.equal(axesOf(t5Run, 'cross').queries, t5Run.target!.tokens);
  assert.equal(axesOf(t5Run, 'cross').keys, t5Run.tokens);
  // The encoder is shallower: decoder layer 2 shows as the encoder's last layer.
  assert.equal(layerFor(axesOf(t5Run, 'encoder'), 2), 1);
  assert.equal(layerFor(axesOf(t5Run, 'decoder'), 2), 2);
  // A decoder-only run has only its self-attention, over its tokens both ways.
  const gpt2 = { ...t5Run, model: { ...t5Run.model, encoderLayers: 0 }, target: undefined };
  assert.equal(isEncoderDecoder(gpt2), false);
  assert.deepEqual(attentionKinds(gpt2), []);
  assert.equal(axesOf(gpt2, 'cross').keys, gpt2.tokens);
  assert.equal(axesOf(gpt2, undefined).layers, 3);
});

test('cross-attention reads as an alignment: each target token to its strongest source token, special tokens left out', () => {
  // rows: <pad>, The, house, ., </s>; columns: Das, Haus, ., </s>
  const m = new Float32Array([
    0.1, 0.1, 0.1, 0.7,
    0.6, 0.2, 0.1, 0.1,
    0.1, 0.5, 0.0, 0.4,
    0.0, 0.1, 0.3, 0.6, // "." attends most to </s>, which aligns nothing: its real link is the source "."
    0.2, 0.2, 0.2, 0.4,
  ]);
  const links = crossAlignment(m, t5Run.target!.tokens, t5Run.tokens);
  assert.deepEqual(links.map((l) => [l.target, l.source]), [[1, 0], [2, 1], [3, 2]]);
  assert.ok(Math.abs(links[1].weight - 0.5) < 1e-7);
  assert.throws(() => crossAlignment(new Float32Array(3), t5Run.target!.tokens, t5Run.tokens), /5 × 4/);
});

test('JSON export of a cross-attention matrix names its kind, rows (target) and columns (source)', () => {
  const values = new Float32Array(5 * 4).map((_, i) => i / 20);
  const j = matrixJson(t5Run, 1, 0, values, 'Das Haus.', 'cross') as { kind: string; target: string; values: number[][]; queryTokens: unknown[]; keyTokens: unknown[] };
  assert.equal(j.kind, 'cross');
  assert.equal(j.target, 'The house.');
  assert.equal(j.values.length, 5);
  assert.equal(j.values[0].length, 4);
  assert.equal(j.values[4][3], 0.95);
  assert.equal(j.queryTokens.length, 5);
  assert.equal(j.keyTokens.length, 4);
});
