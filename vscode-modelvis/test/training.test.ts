import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as path from 'path';
import { CORPUS_BUDGET, MAX_FILE, modelName, pickFiles, sameKindGlob, SHORT_DOCUMENT } from '../src/training/corpusPlan';

test('the corpus plan globs files of the same kind and gives the model a folder-safe name', () => {
  assert.equal(sameKindGlob('/w/src/a.ts'), '**/*.ts');
  assert.equal(sameKindGlob('/w/Makefile'), undefined);
  assert.equal(sameKindGlob('Untitled-1'), undefined);
  assert.equal(modelName('/w/src/attention panel.ts'), 'attention_panel');
  assert.equal(modelName('/w/.bashrc'), 'bashrc');
  assert.equal(modelName('Untitled-1'), 'Untitled-1');
  assert.equal(modelName('/w/???.md'), 'text');
  assert.ok(SHORT_DOCUMENT === 20 * 1024);
});

test('the corpus plan takes files in path order, leaves out the active one and empty or too big ones, and stays within the budget', () => {
  const f = (name: string, size: number) => ({ path: path.join('/w', name), size });
  const candidates = [f('c.ts', 300), f('a.ts', 100), f('active.ts', 50), f('empty.ts', 0), f('huge.ts', MAX_FILE + 1), f('b.ts', 200)];
  assert.deepEqual(pickFiles(candidates, '/w/active.ts', 50).map((c) => c.path), ['/w/a.ts', '/w/b.ts', '/w/c.ts']);
  // The budget counts the document's own bytes; a file that does not fit is skipped, smaller later ones still join.
  assert.deepEqual(pickFiles(candidates, '/w/active.ts', 50, 400).map((c) => c.path), ['/w/a.ts', '/w/b.ts']);
  assert.deepEqual(pickFiles([f('c.ts', 20), f('b.ts', 300), f('a.ts', 360)], undefined, 0, 400).map((c) => c.path), ['/w/a.ts', '/w/c.ts']);
  assert.equal(CORPUS_BUDGET, 4 * 1024 * 1024);
});
