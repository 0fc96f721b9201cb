import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignSeries, appendScalars, emaSmooth, forLogScale, groupTags, num, runStartTime, xValues } from '../src/common/runsChart';

test('smoothing is the debiased EMA, as computed by hand', () => {
  // w = 0.5: acc1 = 0.5·2 = 1 → 1/(1−0.5) = 2; acc2 = 0.5·1 + 0.5·4 = 2.5 → 2.5/0.75; acc3 = 1.25 + 0.5·0 = 1.25 → 1.25/0.875.
  const s = emaSmooth([2, 4, 0], 0.5);
  assert.equal(s[0], 2);
  assert.ok(Math.abs(s[1] - 2.5 / 0.75) < 1e-12);
  assert.ok(Math.abs(s[2] - 1.25 / 0.875) < 1e-12);
  // No smoothing, and a constant series, come back unchanged; smoothing does change a noisy one.
  assert.deepEqual(emaSmooth([3, 1, 2], 0), [3, 1, 2]);
  assert.deepEqual(emaSmooth([5, 5, 5], 0.9), [5, 5, 5]);
  assert.notDeepEqual(emaSmooth([3, 1, 2], 0.6), [3, 1, 2]);
});

test('non-finite points pass through smoothing and do not enter the average', () => {
  const s = emaSmooth([1, NaN, 3], 0.5);
  assert.equal(s[0], 1);
  assert.ok(Number.isNaN(s[1]));
  // acc = 0.5·1 = 0.5 after one point; then 0.25 + 1.5 = 1.75, divided by 1 − 0.25.
  assert.ok(Math.abs(s[2] - 1.75 / 0.75) < 1e-12);
});

test('the x axis is the step, the time since the run started or the wall time, and undefined without times', () => {
  const series = { steps: [10, 20, 30], values: [1, 2, 3], wallTimes: [1000, 1060, 1200] };
  assert.deepEqual(xValues(series, 'step'), [10, 20, 30]);
  assert.deepEqual(xValues(series, 'relative'), [0, 60, 200]);
  assert.deepEqual(xValues(series, 'relative', 900), [100, 160, 300]);
  assert.deepEqual(xValues(series, 'wall'), [1000, 1060, 1200]);
  const csv = { steps: [1, 2], values: [1, 2], wallTimes: [null, null] };
  assert.equal(xValues(csv, 'relative'), undefined);
  assert.deepEqual(xValues(csv, 'step'), [1, 2]);
  assert.equal(runStartTime({ a: series, b: { steps: [0], values: [0], wallTimes: [990] } }), 990);
  assert.equal(runStartTime({ a: csv }), undefined);
  // A million points (a spread into Math.min would overflow the stack).
  const n = 1_000_000;
  const big = { steps: [], values: [], wallTimes: Array.from({ length: n }, (_, i) => 5 + i) } as unknown as Parameters<typeof xValues>[0];
  const rel = xValues(big, 'relative')!;
  assert.equal(rel[0], 0);
  assert.equal(rel[n - 1], n - 1);
});

test('numbers written as strings on the wire are read back, and a log scale leaves out what is not positive', () => {
  assert.equal(num('Infinity'), Infinity);
  assert.ok(Number.isNaN(num('NaN')));
  assert.equal(num(2.5), 2.5);
  assert.deepEqual(forLogScale([1, 0, -1, NaN, 2]), [1, null, null, null, 2]);
});

test('overlaid runs share one ascending x with gaps; one run keeps every point in x order', () => {
  const a = { x: [0, 10, 20], y: [1, 2, 3] };
  const b = { x: [5, 10], y: [7, 8] };
  assert.deepEqual(alignSeries([a, b]), { x: [0, 5, 10, 20], ys: [[1, null, 2, 3], [null, 7, 8, null]] });
  assert.deepEqual(alignSeries([{ x: [2, 1, 1], y: [20, 10, 11] }]), { x: [1, 1, 2], ys: [[10, 11, 20]] });
});

test('a growing run\'s new points are appended to what is shown', () => {
  const held = { loss: { steps: [1], values: [2], wallTimes: [null] } };
  const merged = appendScalars(held, { loss: { steps: [2], values: [1], wallTimes: [null] }, acc: { steps: [2], values: [0.5], wallTimes: [null] } });
  assert.deepEqual(merged.loss.steps, [1, 2]);
  assert.deepEqual(merged.acc.values, [0.5]);
  assert.deepEqual(held.loss.steps, [1]);
});

test('tags are grouped by their first path segment in first-seen order', () => {
  assert.deepEqual(groupTags(['Loss/train', 'acc', 'Loss/val']), [
    { group: 'Loss', tags: ['Loss/train', 'Loss/val'] },
    { group: 'acc', tags: ['acc'] },
  ]);
});

test('histograms resampled onto a shared grid keep their counts, spread by overlap', async () => {
  const { resampleHistogram, spreadIndices } = await import('../src/common/runsChart');
  // One bucket (0, 2] of 4 values on a grid of 4 bins over [0, 4]: 2 + 2 + 0 + 0.
  assert.deepEqual(resampleHistogram([0], [2], [4], 0, 4, 4), [2, 2, 0, 0]);
  // A bucket (0.5, 1.5] of 2 values on bins of width 1: half in each.
  assert.deepEqual(resampleHistogram([0.5], [1.5], [2], 0, 2, 2), [1, 1]);
  // A zero-width bucket lands in its bin; the total is kept.
  const r = resampleHistogram([1, 3, 3], [3, 3, 4], [6, 2, 1], 0, 4, 8);
  assert.ok(Math.abs(r.reduce((x, y) => x + y, 0) - 9) < 1e-12);
  assert.equal(r[6], 2 + 0.5);
  assert.deepEqual(spreadIndices(3, 5), [0, 1, 2]);
  assert.deepEqual(spreadIndices(10, 4), [0, 3, 6, 9]);
});
