// CNN feature maps (issue 7): the protocol types of features/* and the messages between the extension and
// the features webview. Pure (no vscode), shared with media/features/features.ts.

import type { FeatureLayerInfo, FeaturesRunResult, FeatureVisualizeStep, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp'];
export const CNN_MODEL_EXTENSIONS = ['.onnx', '.pth', '.pt'];

export type ToFeaturesWebview =
  | { type: 'running'; image: string; model: string }
  | { type: 'run'; image: string; run: FeaturesRunResult }
  | { type: 'runError'; image: string; model: string; message: string }
  /** A feature visualisation's image as it evolves. */
  | ({ type: 'visualizeStep' } & FeatureVisualizeStep)
  | ViewResponseMessage;

/** stopVisualize: the Stop button of a running feature visualisation. */
export type FromFeaturesWebview = { type: 'ready' } | { type: 'stopVisualize' } | ViewRequestMessage;

export function extensionOf(path: string): string {
  const base = path.replace(/^.*[\\/]/, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extensionOf(path));
}

export function isCnnModelPath(path: string): boolean {
  return CNN_MODEL_EXTENSIONS.includes(extensionOf(path));
}

/** A class's name for display: its label when the model has one, else its index. */
export function className(c: { index: number; label?: string | null }): string {
  return c.label ? `${c.label}` : `class ${c.index}`;
}

export function percent(p: number): string {
  if (p >= 0.9995) return '100%';
  if (p < 0.0005) return p > 0 ? '<0.1%' : '0%';
  return `${(p * 100).toFixed(1)}%`;
}

/** Layers Grad-CAM can weigh: maps with a grid larger than 1 × 1 ([C, H, W] without the batch). */
export function gradCamLayers(layers: FeatureLayerInfo[]): FeatureLayerInfo[] {
  return layers.filter((l) => l.isFeatureMap && l.shape.length === 3 && l.shape[1] > 1 && l.shape[2] > 1);
}

/** The layer Grad-CAM starts on: the last convolution with a grid (Selvaraju et al. use the last conv layer), else the last map. */
export function defaultGradCamLayer(layers: FeatureLayerInfo[]): string | undefined {
  const maps = gradCamLayers(layers);
  return ([...maps].reverse().find((l) => l.opType === 'Conv') ?? maps[maps.length - 1])?.name;
}
