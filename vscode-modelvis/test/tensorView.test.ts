import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnoseStartFailure, describeResponseError } from '../src/common/errors';
import { resolveModelSetting } from '../src/common/modelSetting';
import type { TensorImage, TensorInspection } from '../src/common/protocol';
import { displayScale, histogramBars, imageNotes, scaleLabels, statRows } from '../src/common/tensorView';

const image = (over: Partial<TensorImage>): TensorImage => ({
  png: '', width: 96, height: 512, layout: 'matrix', source: { rows: 2048, cols: 768 },
  scale: { min: -0.5, max: 0.25, limit: 0.5, colormap: 'RdBu' }, ...over,
});

test('image notes say how the picture was downsampled', () => {
  assert.deepEqual(imageNotes(image({ downsample: { rowFactor: 4, colFactor: 8, method: 'maxabs' } })), [
    'Downsampled 4×8 by block max-abs (2,048×768 values, one pixel per block).',
  ]);
  assert.deepEqual(imageNotes(image({ width: 768, height: 2048 })), ['Full resolution: every value drawn (2,048×768).']);
  assert.match(imageNotes(image({ layout: 'strip', source: { rows: 1, cols: 768 } }))[0], /1-D tensor of 768 values, shown as a strip/);
  const grid = imageNotes(image({ layout: 'grid', grid: { slices: 64, gridCols: 8, sliceRows: 3, sliceCols: 3, shown: 64 } }));
  assert.deepEqual(grid, ['Grid of 2-D slices of 3×3, 8 per row.']);
  const partial = imageNotes(
    image({ layout: 'grid', grid: { slices: 4096, gridRows: 16, gridCols: 16, sliceRows: 3, sliceCols: 3, shown: 256 }, downsample: { rowFactor: 1, colFactor: 2, method: 'mean' } }),
  );
  assert.deepEqual(partial, ['Grid of 2-D slices of 3×3, 16×16 cells.', 'Showing 256 of 4,096 slices.', 'Each slice downsampled 1×2 by block mean.']);
});

test('scale labels are centred at zero', () => {
  const l = scaleLabels(image({}));
  assert.deepEqual([l.low, l.mid, l.high], ['-0.5', '0', '0.5']);
  assert.match(l.caption, /centred at 0, ±0\.5/);
});

test('the statistics rows are formatted for reading, and absent without statistics', () => {
  const insp: TensorInspection = {
    name: 'w', dtype: 'F32', shape: [2, 2], file: 'f', parameters: 4, readable: true,
    stats: { count: 4, min: -1, max: 2, mean: 0.25, std: 1.0897, zeros: 1, zeroFraction: 0.25, nan: 0, inf: 0 },
  };
  const rows = Object.fromEntries(statRows(insp).map((r) => [r.key, r.value]));
  assert.deepEqual(rows, { count: '4', min: '-1', max: '2', mean: '0.25', std: '1.09', zeros: '25% (1)', nan: '0', inf: '0' });
  assert.deepEqual(statRows({ ...insp, stats: undefined }), []);
});

test('histogram bars fill the box and the log scale lifts rare bins', () => {
  const hist = { min: -1, max: 1, counts: [1, 100, 0, 10] };
  const bars = histogramBars(hist, 400, 100);
  assert.equal(bars.length, 4);
  assert.deepEqual(bars.map((b) => b.x), [0, 100, 200, 300]);
  assert.equal(bars[1].height, 100);
  assert.equal(bars[1].y, 0);
  assert.equal(bars[2].height, 0);
  assert.equal(bars[0].from, -1);
  assert.equal(bars[3].to, 1);
  const log = histogramBars(hist, 400, 100, true);
  assert.ok(log[0].height > bars[0].height * 5);
  assert.deepEqual(histogramBars({ min: 0, max: 0, counts: [] }, 10, 10), []);
});

test('display scale enlarges small images with whole pixels and never shrinks', () => {
  assert.equal(displayScale(32, 32, 800), 16);
  assert.equal(displayScale(128, 64, 800), 6);
  assert.equal(displayScale(64, 128, 800), 5, 'height limit 640');
  assert.equal(displayScale(1024, 512, 800), 1);
});

test('user errors are shown as they are and start failures are diagnosed', () => {
  assert.equal(describeResponseError('attention/run', -32001, 'needs a model engine'), 'needs a model engine');
  assert.match(describeResponseError('models/tree', -32603, 'boom'), /failed on models\/tree: boom/);
  assert.match(describeResponseError('x/y', -32601, 'unknown'), /does not support x\/y/);
  assert.match(diagnoseStartFailure({ dotnetPath: 'dotnet', dllPath: 'h.dll', spawnErrorCode: 'ENOENT', stderr: '' })!, /Install the \.NET 10 runtime.*modelvis\.dotnetPath/);
  assert.equal(diagnoseStartFailure({ dotnetPath: 'dotnet', dllPath: 'h.dll', stderr: 'Unhandled exception' }), undefined);
});

test('the modelvis.model setting may be absolute, under home, workspace-relative or a discovered name', () => {
  const ctx = { workspaceFolders: ['/ws'], home: '/home/u', exists: (p: string) => p === '/ws/models/tiny' };
  assert.equal(resolveModelSetting('/abs/m', ctx), '/abs/m');
  assert.equal(resolveModelSetting('~/m', ctx), '/home/u/m');
  assert.equal(resolveModelSetting('models/tiny', ctx), '/ws/models/tiny');
  assert.equal(resolveModelSetting('org/name', { ...ctx, entries: [{ name: 'org/name', path: '/hf/snap' }] }), '/hf/snap');
  assert.equal(resolveModelSetting('org/other', ctx), undefined);
  assert.equal(resolveModelSetting('  ', ctx), undefined);
});
