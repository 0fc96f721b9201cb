// Which layers the feature-map panel offers Grad-CAM on, and where it starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultGradCamLayer, gradCamLayers } from '../src/features/featuresLogic';

const layer = (name: string, opType: string, shape: number[], isFeatureMap = true) => ({ name, opType, shape, channels: shape[0], isFeatureMap });

test('Grad-CAM offers the maps with a grid and starts on the last convolution', () => {
  const layers = [layer('11', 'Conv', [6, 24, 24]), layer('12', 'MaxPool', [6, 12, 12]), layer('14', 'Conv', [16, 8, 8]), layer('15', 'MaxPool', [16, 4, 4]),
    layer('pool', 'GlobalAveragePool', [16, 1, 1]), layer('19', 'Gemm', [120], false)];
  assert.deepEqual(gradCamLayers(layers).map((l) => l.name), ['11', '12', '14', '15']);
  assert.equal(defaultGradCamLayer(layers), '14');
  assert.equal(defaultGradCamLayer([layer('a', 'Relu', [4, 3, 3])]), 'a');
  assert.equal(defaultGradCamLayer([layer('19', 'Gemm', [120], false)]), undefined);
});
