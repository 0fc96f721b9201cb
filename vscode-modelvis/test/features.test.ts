import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreprocessingDto } from '../src/common/protocol';
import { choiceOf, choiceToParams, parseNumbers, sourceText } from '../src/features/featuresLogic';

const guessed: PreprocessingDto = {
  channels: 1, width: 28, height: 28, mean: [0], std: [1], pixelScale: 255, describe: 'grey 28×28', resize: 'letterbox', channelOrder: 'grey',
  cropFraction: 1, preset: 'raw', source: 'guess', sourceDetail: 'nothing in or beside the model says how it was trained', guess: true,
};

test('a guessed preprocessing says it is a guess and how to fix it', () => {
  assert.match(sourceText(guessed), /^A guess: nothing in or beside the model says/);
  assert.match(sourceText(guessed), /Pick the preset/);
  assert.equal(sourceText({ ...guessed, guess: false, source: 'onnx-metadata', sourceDetail: 'the metadata_props of m.onnx' }),
    'From the ONNX model\u2019s metadata_props: the metadata_props of m.onnx.');
  assert.equal(sourceText({ ...guessed, guess: false, source: 'user', sourceDetail: 'set in the panel' }), 'Your choice in this panel, remembered for this model.');
});

test('typed numbers are read with commas or spaces, and anything else is refused', () => {
  assert.deepEqual(parseNumbers('0.485, 0.456 0.406'), [0.485, 0.456, 0.406]);
  assert.equal(parseNumbers('0.5, x'), undefined);
  assert.equal(parseNumbers(' '), undefined);
});

test('a preset choice sends the preset and the resize mode; channel order only for colour models', () => {
  const c = { ...choiceOf(guessed), preset: 'mnist', resize: 'crop' as const };
  assert.deepEqual(choiceToParams(c, 1), { params: { resize: 'crop', preset: 'mnist' } });
  assert.deepEqual(choiceToParams({ ...c, channelOrder: 'bgr' }, 3), { params: { resize: 'crop', channelOrder: 'bgr', preset: 'mnist' } });
});

test('custom values are checked against the channel count before anything runs', () => {
  const c = { ...choiceOf(guessed), preset: 'custom', mean: '0.1307', std: '0.3081', pixelScale: '255' };
  assert.deepEqual(choiceToParams(c, 1), { params: { resize: 'letterbox', mean: [0.1307], std: [0.3081], pixelScale: 255 } });
  assert.match(choiceToParams({ ...c, mean: '0.1, 0.2' }, 1).error!, /^Mean: one value/);
  assert.match(choiceToParams({ ...c, std: '0' }, 1).error!, /not be 0/);
  assert.match(choiceToParams({ ...c, pixelScale: '-1' }, 1).error!, /Pixel scale/);
});

test('the form starts from what is in force, or "custom" when no preset matches', () => {
  assert.equal(choiceOf(guessed).preset, 'raw');
  assert.equal(choiceOf({ ...guessed, preset: null, mean: [0.12345678] }).mean, '0.123457');
});
