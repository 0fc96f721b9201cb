import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as path from 'path';
import { linePath, lossScales, niceTicks, smooth } from '../src/training/lossCurve';
import { CORPUS_BUDGET, MAX_FILE, modelName, pickFiles, sameKindGlob, SHORT_DOCUMENT } from '../src/training/corpusPlan';

const box = { width: 200, height: 100, left: 20, right: 10, top: 5, bottom: 15 };

test('niceTicks are round steps of 1, 2 or 5 × 10^k inside the range', () => {
  assert.deepEqual(niceTicks(0, 600, 6), [0, 100, 200, 300, 400, 500, 600]);
  assert.deepEqual(niceTicks(1.83, 6.4, 5), [2, 3, 4, 5, 6]);
  assert.deepEqual(niceTicks(2.31, 2.38, 4), [2.32, 2.34, 2.36, 2.38]);
  assert.deepEqual(niceTicks(3, 3), [3]);
  assert.deepEqual(niceTicks(NaN, 1), []);
  assert.deepEqual(niceTicks(5, 0, 5), [0, 1, 2, 3, 4, 5]);
});

test('the loss chart\'s x spans 0…total steps and its y the losses (padded, never below 0) upside down', () => {
  const points = [{ step: 1, loss: 6 }, { step: 2, loss: 4 }, { step: 3, loss: 2 }];
  const s = lossScales(points, 600, box);
  assert.deepEqual(s.xDomain, [0, 600]);
  assert.equal(s.x(0), 20);
  assert.equal(s.x(600), 190);
  assert.equal(s.x(300), 105);
  assert.ok(Math.abs(s.yDomain[0] - 1.8) < 1e-9 && Math.abs(s.yDomain[1] - 6.2) < 1e-9);
  assert.equal(s.y(s.yDomain[0]), 85, 'lowest loss at the bottom of the plot');
  assert.equal(s.y(s.yDomain[1]), 5, 'highest at the top');
  assert.ok(s.y(2) > s.y(6));
  // A flat curve still gets a range; losses near 0 do not push the axis negative.
  const flat = lossScales([{ step: 1, loss: 0.01 }, { step: 2, loss: 0.01 }], 10, box);
  assert.ok(flat.yDomain[0] === 0 && flat.yDomain[1] > 0.01);
  // Steps beyond the announced total widen the axis; NaN losses are ignored.
  const over = lossScales([{ step: 12, loss: NaN }, { step: 15, loss: 1 }], 10, box);
  assert.deepEqual(over.xDomain, [0, 15]);
  assert.ok(Number.isFinite(over.y(1)));
});

test('smoothing the loss is an exponential moving average that skips non-finite losses', () => {
  const out = smooth([{ step: 1, loss: 10 }, { step: 2, loss: NaN }, { step: 3, loss: 0 }], 0.9);
  assert.deepEqual(out, [{ step: 1, loss: 10 }, { step: 3, loss: 9 }]);
});

test('linePath is M then L commands at scaled, rounded coordinates, with long curves bucketed', () => {
  const points = [{ step: 0, loss: 2 }, { step: 300, loss: 1 }, { step: 600, loss: 0.5 }];
  const s = lossScales(points, 600, box);
  const d = linePath(points, s);
  const parts = d.split(' ');
  assert.equal(parts.length, 3);
  assert.match(parts[0], /^M20,/);
  assert.match(parts[1], /^L105,/);
  assert.match(parts[2], /^L190,/);
  assert.equal(linePath([], s), '');
  const many = Array.from({ length: 5000 }, (_, i) => ({ step: i + 1, loss: 5 - i / 5000 }));
  const long = linePath(many, lossScales(many, 5000, box), 500);
  assert.equal(long.split(' ').length, 500);
  for (const part of long.split(' ')) assert.match(part, /^[ML]-?\d+(\.\d)?,-?\d+(\.\d)?$/);
});

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
