import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelDescription, tensorDescription } from '../src/common/labels';
import type { ModelTree, TensorRef, TreeNode } from '../src/common/protocol';
import { groupTensors, nodeLabel, normalizeTree, walkTensors } from '../src/common/treeModel';

const t = (name: string, shape: number[], dtype = 'F32'): TensorRef => ({ name, dtype, shape, file: 'model.safetensors', readable: true });

function llamaLike(layers: number): TensorRef[] {
  const list = [t('model.embed_tokens.weight', [32, 8])];
  for (let i = 0; i < layers; i++) {
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) list.push(t(`model.layers.${i}.self_attn.${p}.weight`, [8, 8]));
    list.push(t(`model.layers.${i}.input_layernorm.weight`, [8]));
  }
  list.push(t('model.norm.weight', [8]), t('lm_head.weight', [32, 8]));
  return list;
}

const child = (n: TreeNode, name: string) => n.children!.find((c) => c.name === name)!;

test('dotted names become modules and numbered layers collapse into one "layers [0–N]" node', () => {
  const root = groupTensors(llamaLike(12));
  assert.deepEqual(
    root.children!.map((c) => c.name),
    ['model', 'lm_head'],
  );
  const model = child(root, 'model');
  assert.deepEqual(
    model.children!.map(nodeLabel),
    ['embed_tokens', 'layers [0–11]', 'norm'],
  );
  const layers = child(model, 'layers');
  assert.equal(layers.kind, 'layers');
  assert.deepEqual(layers.range, [0, 11]);
  assert.equal(layers.path, 'model.layers');
  assert.deepEqual(
    layers.children!.map((c) => c.name),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'],
    'numeric order, 2 before 10',
  );
  const q = child(child(child(layers, '3'), 'self_attn'), 'q_proj');
  assert.equal(child(q, 'weight').kind, 'tensor');
  assert.equal(child(q, 'weight').tensor!.name, 'model.layers.3.self_attn.q_proj.weight');
  assert.equal(child(q, 'weight').path, 'model.layers.3.self_attn.q_proj.weight');
});

test('parameter counts add up from tensors to modules to the root', () => {
  const root = groupTensors(llamaLike(2));
  const perLayer = 4 * 64 + 8;
  assert.equal(child(child(root, 'model'), 'layers').parameters, 2 * perLayer);
  assert.equal(root.parameters, 256 + 2 * perLayer + 8 + 256);
  assert.equal([...walkTensors(root)].length, 2 + 2 * 5 + 1);
});

test('a single numbered child is not collapsed; mixed siblings keep names first', () => {
  const root = groupTensors([t('h.0.w', [2]), t('blocks.0.a', [1]), t('blocks.1.a', [1]), t('blocks.x', [3])]);
  assert.equal(child(root, 'h').kind, 'module');
  assert.equal(nodeLabel(child(root, 'h')), 'h');
  const blocks = child(root, 'blocks');
  assert.equal(blocks.kind, 'module');
  assert.deepEqual(blocks.children!.map((c) => c.name), ['x', '0', '1']);
});

test('a name that is both a tensor and a prefix keeps both', () => {
  const root = groupTensors([t('a.b', [2]), t('a.b.c', [3])]);
  const b = child(child(root, 'a'), 'b');
  assert.equal(b.children![0].kind, 'tensor');
  assert.equal(b.children![0].tensor!.name, 'a.b');
  assert.equal(b.parameters, 5);
});

test('normalizeTree groups a flat host tree and leaves a grouped one alone', () => {
  const flat: ModelTree = {
    path: '/m', name: 'm', totalParameters: 4, dtypes: { F32: 4 }, files: [],
    root: { name: '', path: '', kind: 'module', parameters: 4, children: [
      { name: 'a.0.w', path: 'a.0.w', kind: 'tensor', parameters: 2, tensor: t('a.0.w', [2]) },
      { name: 'a.1.w', path: 'a.1.w', kind: 'tensor', parameters: 2, tensor: t('a.1.w', [2]) },
    ] },
  };
  const grouped = normalizeTree(flat);
  assert.equal(nodeLabel(grouped.root.children![0]), 'a [0–1]');
  assert.equal(nodeLabel({ name: 'layers [0–31]', path: 'model.layers', kind: 'layers', parameters: 1, range: [0, 31] }), 'layers [0–31]', 'host-named');
  const again = normalizeTree(grouped);
  assert.equal(again, grouped);
});

test('a model row shows its parameters, dtypes and architecture, and a tensor row its dtype, shape and size', () => {
  const tree = { path: '/m', name: 'm', totalParameters: 124_439_808, dtypes: { F32: 124_439_808 }, files: ['model.safetensors'], architecture: 'GPT2LMHeadModel', root: groupTensors([]) };
  assert.equal(modelDescription({ path: '/m', name: 'm', source: 'workspace', kind: 'folder' }, tree), '124M params · F32 · GPT2LMHeadModel');
  assert.equal(modelDescription({ path: '/m', name: 'm', source: 'workspace', kind: 'folder', architecture: 'LlamaForCausalLM' }), 'LlamaForCausalLM');
  assert.equal(tensorDescription(t('x', [768, 3072])), 'F32 · 768×3072 · 2.36M');
  assert.equal(tensorDescription({ ...t('x', [4]), dtype: 'I64', readable: false }), 'I64 · 4 · not shown');
});
