import { test } from 'node:test';
import assert from 'node:assert/strict';
import { untrustedFolders, UntrustedWorkspaceError, workspacePathsIn } from '../src/common/trust';

const folders = ['/home/u/project', '/data/shared'];

test('paths inside the workspace folders are found wherever they sit in the params', () => {
  const params = {
    model: '/home/u/project/models/gpt2',
    image: { path: '/data/shared/cat.png' },
    files: ['/home/u/project/a.py', '/elsewhere/b.py'],
    text: 'select /home/u/project here',
  };
  assert.deepEqual(workspacePathsIn(params, folders), ['/home/u/project/models/gpt2', '/data/shared/cat.png', '/home/u/project/a.py']);
});

test('the folder itself counts; a sibling with the same prefix, the HF cache and relative strings do not', () => {
  assert.deepEqual(workspacePathsIn({ roots: ['/home/u/project'] }, folders), ['/home/u/project']);
  assert.deepEqual(workspacePathsIn({ path: '/home/u/project-old/model', hf: '/home/u/.cache/huggingface/hub', rel: 'models/x', n: 3 }, folders), []);
  assert.deepEqual(workspacePathsIn({ path: '/home/u/project/../elsewhere/x' }, folders), []);
});

test('the error names the first file and how many more', () => {
  const e = new UntrustedWorkspaceError(['/home/u/project/models/gpt2/model.safetensors', '/home/u/project/b']);
  assert.match(e.message, /model\.safetensors and 1 more stay closed/);
  assert.match(e.message, /Restricted Mode/);
});

test('a trusted workspace has no untrusted folders; an untrusted one all its local folders', () => {
  const ws = [{ uri: { scheme: 'file', fsPath: '/a' } }, { uri: { scheme: 'vscode-remote', fsPath: '/r' } }];
  assert.deepEqual(untrustedFolders(true, ws), []);
  assert.deepEqual(untrustedFolders(false, ws), ['/a']);
  assert.deepEqual(untrustedFolders(false, undefined), []);
});
