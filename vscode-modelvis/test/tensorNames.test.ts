import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSuffixIndex, candidateAt, looksLikeTensorName, resolveTensorName, stringLiteralAt } from '../src/common/tensorNames';

test('looksLikeTensorName wants dotted identifiers', () => {
  assert.ok(looksLikeTensorName('model.layers.0.mlp.down_proj.weight'));
  assert.ok(looksLikeTensorName('wte.weight'));
  assert.ok(!looksLikeTensorName('weight'));
  assert.ok(!looksLikeTensorName('0.5'));
  assert.ok(!looksLikeTensorName('a b.c'));
  assert.ok(!looksLikeTensorName('os.path/x'));
  assert.ok(!looksLikeTensorName('x.'));
});

test('candidateAt finds the string literal under the cursor', () => {
  const line = 'w = sd["model.layers.0.mlp.down_proj.weight"]  # see also';
  const col = line.indexOf('down_proj');
  assert.deepEqual(candidateAt(line, col), { text: 'model.layers.0.mlp.down_proj.weight', start: 8, end: 43 });
  assert.equal(line.slice(8, 43), 'model.layers.0.mlp.down_proj.weight');
});

test('candidateAt takes the dotted word outside strings and trims full stops', () => {
  const line = 'See transformer.h.0.attn.c_attn.weight.';
  const c = candidateAt(line, line.indexOf('attn'))!;
  assert.equal(c.text, 'transformer.h.0.attn.c_attn.weight');
  assert.equal(candidateAt('   ', 1), undefined);
});

test('a string literal with other characters falls back to the word under the cursor', () => {
  const line = "print('weights of wte.weight are')";
  assert.equal(candidateAt(line, line.indexOf('wte') + 1)?.text, 'wte.weight');
});

test('stringLiteralAt honours escapes and quote kinds', () => {
  const line = `a = 'x\\'y' + "b.c"`;
  assert.equal(stringLiteralAt(line, line.indexOf('b.c'))?.text, 'b.c');
  assert.equal(stringLiteralAt(line, 0), undefined);
});

test('resolveTensorName takes the exact name, else a unique dotted suffix', () => {
  const names = new Set(['model.layers.0.mlp.down_proj.weight', 'model.layers.1.mlp.down_proj.weight', 'lm_head.weight']);
  const index = buildSuffixIndex(names);
  assert.equal(resolveTensorName('lm_head.weight', names, index), 'lm_head.weight');
  assert.equal(resolveTensorName('layers.0.mlp.down_proj.weight', names, index), 'model.layers.0.mlp.down_proj.weight');
  assert.equal(resolveTensorName('mlp.down_proj.weight', names, index), undefined, 'ambiguous');
  assert.equal(resolveTensorName('weight', names, index), undefined);
  assert.equal(resolveTensorName('layers.0.mlp.down_proj.weight', names), 'model.layers.0.mlp.down_proj.weight', 'without an index');
});
