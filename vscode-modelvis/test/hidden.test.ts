import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alignedPca,
  componentColor,
  hiddenLayerName,
  linearScale,
  matrixCellAt,
  niceTicks,
  nmfColouring,
  placeLabels,
  rowsOf,
  viewJson,
} from '../src/attention/hiddenLogic';

test('PCA across layers flips mirrored axes back and scales each layer into [-1, 1] by one factor', () => {
  const layers = [
    { x: [2, -1, 0], y: [0, 1, -0.5] },
    // The same picture, mirrored on x and twice as large: after alignment equal to the first.
    { x: [-4, 2, 0], y: [0, 2, -1] },
    // y mirrored, x unchanged.
    { x: [1, -0.5, 0], y: [0, -0.5, 0.25] },
  ];
  const [a, b, c] = alignedPca(layers);
  assert.deepEqual(a, { x: [1, -0.5, 0], y: [0, 0.5, -0.25] });
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  // The largest |coordinate| becomes 1 on one axis; the other keeps its proportion.
  const [d] = alignedPca([{ x: [0.1, -0.1], y: [0.4, 0.2] }]);
  assert.deepEqual(d.y, [1, 0.5]);
  assert.deepEqual(d.x, [0.25, -0.25]);
  // All points at the origin stay there.
  assert.deepEqual(alignedPca([{ x: [0, 0], y: [0, 0] }])[0], { x: [0, 0], y: [0, 0] });
});

test('linear scale maps the domain onto the range (reversed ranges too)', () => {
  const s = linearScale([-1, 1], [10, 110]);
  assert.equal(s(-1), 10);
  assert.equal(s(0), 60);
  assert.equal(s(1), 110);
  const y = linearScale([0, 4], [200, 0]);
  assert.equal(y(1), 150);
  assert.equal(linearScale([3, 3], [0, 10])(3), 5);
});

test('nice ticks are 1-2-5 steps that cover the range', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.3, 2.7, 5), [0, 0.5, 1, 1.5, 2, 2.5, 3]);
  assert.deepEqual(niceTicks(13, 87, 4), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.deepEqual(niceTicks(10, 0, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(NaN, 1), []);
});

test('NMF colouring gives each token its dominant component, as strong as its share of that component\'s peak', () => {
  const weights = [
    [4, 2, 0, 0],
    [0, 0.5, 1, 0],
  ];
  assert.deepEqual(nmfColouring(weights), [
    { component: 0, strength: 1 },
    { component: 0, strength: 0.5 }, // 2/4 of component 0 beats 0.5/1 of component 1
    { component: 1, strength: 1 },
    { component: -1, strength: 0 },
  ]);
  assert.deepEqual(nmfColouring([]), []);
});

test('component colours come from the themed palette and cycle', () => {
  assert.equal(componentColor(0), 'var(--mv-component-0)');
  assert.equal(componentColor(5), 'var(--mv-component-5)');
  assert.equal(componentColor(6), componentColor(0));
  assert.equal(componentColor(-1), componentColor(5));
});

test('the matrix cell under a point is found on a stretched image', () => {
  assert.deepEqual(matrixCellAt(0, 0, 10, 64), { row: 0, col: 0 });
  assert.deepEqual(matrixCellAt(0.999, 0.55, 10, 64), { row: 5, col: 63 });
  assert.equal(matrixCellAt(1, 0.5, 10, 64), undefined);
  assert.equal(matrixCellAt(-0.01, 0.5, 10, 64), undefined);
});

test('hidden states are named by the block they follow, and a view\'s JSON export carries the run\'s tokens', () => {
  assert.equal(hiddenLayerName(0, 5), 'embeddings (h0)');
  assert.equal(hiddenLayerName(2, 5), 'h2 (after block 1)');
  assert.equal(hiddenLayerName(5, 5), 'h5 (final, normed)');
  const run = {
    n: 2,
    model: { path: '/m', name: 'm', modelType: 'llama', layers: 5, heads: 8, causal: true },
    tokens: [
      { id: 1, text: '<s>', display: '<s>', start: null, end: null, special: true },
      { id: 7, text: '▁a', display: ' a', start: 0, end: 1, special: false },
    ],
  };
  const json = viewJson(run, 'a', 'geometry', { layer: 3, similarity: rowsOf(new Float32Array([1, 0.1234567, 0.1234567, 1]), 2, 2) }) as Record<string, unknown>;
  assert.equal(json.view, 'geometry');
  assert.equal(json.text, 'a');
  assert.deepEqual(json.similarity, [[1, 0.123457], [0.123457, 1]]);
  assert.deepEqual((json.tokens as Array<{ id: number }>).map((t) => t.id), [1, 7]);
});

test('a scatter label goes right of its point, else on another free side, else nowhere (unless always shown)', () => {
  const points = [
    { x: 100, y: 100 },
    { x: 102, y: 101 }, // almost on top of point 0: its right side is taken
    { x: 300, y: 300 },
  ];
  const widths = [30, 30, 30];
  const at = placeLabels(points, widths, [0, 1, 2], { height: 10, gap: 5 });
  assert.deepEqual(at[0], { x: 105, y: 103 });
  assert.deepEqual(at[1], { x: 102 - 5 - 30, y: 104 }); // left
  assert.deepEqual(at[2], { x: 305, y: 303 });
  // Points in one place: right, left, then below (above overlaps both side labels); the rest are
  // left out, unless they must be shown.
  const crowd = Array.from({ length: 4 }, () => ({ x: 50, y: 50 }));
  const four = placeLabels(crowd, [20, 20, 20, 20], [0, 1, 2, 3]);
  assert.deepEqual(four, [{ x: 55, y: 53 }, { x: 25, y: 53 }, { x: 40, y: 63 }, undefined]);
  assert.deepEqual(placeLabels(crowd, [20, 20, 20, 20], [0, 1, 2, 3], { always: [3] })[3], { x: 55, y: 53 });
});
