import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distinguishingFolders, groupModels } from '../src/common/modelGroups';
import type { ModelEntry } from '../src/common/protocol';

const entry = (path: string, source: ModelEntry['source']): ModelEntry => ({ path, name: path.split('/').pop()!, source, kind: path.endsWith('.gguf') ? 'file' : 'folder' });

test('models are grouped under Workspace, Extra folders, Hugging Face cache and GGUF stores, by name within a group', () => {
  const groups = groupModels([
    entry('/ollama/blobs/llama.gguf', 'ollama'),
    entry('/ws/b-model', 'workspace'),
    entry('/hf/models--gpt2/snapshots/abc', 'hf-cache'),
    entry('/ws/a-model', 'workspace'),
    entry('/lms/qwen.gguf', 'lm-studio'),
  ]);
  assert.deepEqual(groups.map((g) => g.group.label), ['Workspace', 'Hugging Face cache', 'GGUF stores'], 'empty groups are left out');
  assert.deepEqual(groups[0].entries.map((e) => e.name), ['a-model', 'b-model']);
  assert.deepEqual(groups[2].entries.map((e) => e.name), ['llama.gguf', 'qwen.gguf'], 'every runtime store is one group');
});

test('models of the same name are told apart by the shortest end of their folder that differs', () => {
  const folders = distinguishingFolders([
    entry('/ws/runs/a/checkpoint-100', 'workspace'),
    entry('/ws/runs/b/checkpoint-100', 'workspace'),
    entry('/data/x/final', 'root'),
    entry('/data/y/x/final', 'root'),
    entry('/ws/gpt2', 'workspace'),
  ]);
  assert.equal(folders.get('/ws/runs/a/checkpoint-100'), 'a');
  assert.equal(folders.get('/ws/runs/b/checkpoint-100'), 'b');
  assert.equal(folders.get('/data/x/final'), 'data/x');
  assert.equal(folders.get('/data/y/x/final'), 'y/x');
  assert.equal(folders.has('/ws/gpt2'), false, 'a name of its own needs no folder');
});
