// CNN feature maps (issue 7): the protocol types of features/* and the messages between the extension and
// the features webview. Pure (no vscode), shared with media/features/features.ts.

import type { FeatureLayerInfo, FeaturesRunResult, FeatureVisualizeStep, PreprocessingDto, PreprocessingParams, ResizeMode, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp'];
export const CNN_MODEL_EXTENSIONS = ['.onnx', '.pth', '.pt'];

export type ToFeaturesWebview =
  | { type: 'running'; image: string; model: string }
  | { type: 'run'; image: string; run: FeaturesRunResult }
  | { type: 'runError'; image: string; model: string; message: string }
  /** A feature visualisation's image as it evolves. */
  | ({ type: 'visualizeStep' } & FeatureVisualizeStep)
  /** The host restarted: the run is gone; the page offers to run it again. */
  | { type: 'runGone'; image: string; model: string; message: string }
  | ViewResponseMessage;

export type FromFeaturesWebview =
  | { type: 'ready' }
  | ViewRequestMessage
  /** The Stop button of a running feature visualisation. */
  | { type: 'stopVisualize' }
  /** Run again on the same picture with this preprocessing (remembered for the model); null goes back to the model's own. */
  | { type: 'rerun'; preprocessing: PreprocessingParams | null }
  /** The same picture, model and preprocessing again (after the host restarted and the run was lost). */
  | { type: 'runAgain' };

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

// ---- preprocessing (issue 20): what is in force, where it came from, and the user's choice ----

export const RESIZE_MODES: { id: ResizeMode; label: string }[] = [
  { id: 'letterbox', label: 'letterbox (keep aspect, black bars)' },
  { id: 'crop', label: 'centre crop (keep aspect, cut edges)' },
  { id: 'stretch', label: 'stretch (change aspect)' },
];

/** Where the preprocessing in force came from, in words for the panel; guesses say so first. */
export function sourceText(p: PreprocessingDto): string {
  const where: Record<string, string> = {
    sidecar: 'the architecture sidecar',
    'preprocessor_config.json': 'preprocessor_config.json beside the model',
    'onnx-metadata': 'the ONNX model\u2019s metadata_props',
    architecture: 'the recognised architecture',
  };
  if (p.source === 'user') return 'Your choice in this panel, remembered for this model.';
  if (p.guess) return `A guess: ${p.sourceDetail}. Pick the preset the model was trained with if you know it.`;
  return `From ${where[p.source] ?? p.source}: ${p.sourceDetail}.`;
}

/** Numbers typed as "0.485, 0.456, 0.406" (or one number); undefined when any is not a finite number. */
export function parseNumbers(text: string): number[] | undefined {
  const parts = text.split(/[\s,;]+/).filter((t) => t.length > 0);
  if (parts.length === 0) return undefined;
  const values = parts.map(Number);
  return values.every((v) => Number.isFinite(v)) ? values : undefined;
}

/** The form's state: a preset (or "custom" with typed values), the resize mode, the channel order. */
export interface PreprocessingChoice {
  preset: string;
  mean: string;
  std: string;
  pixelScale: string;
  resize: ResizeMode;
  channelOrder: 'rgb' | 'bgr';
}

/** The features/run override for a choice, or an error to show beside the form. */
export function choiceToParams(c: PreprocessingChoice, channels: number): { params?: PreprocessingParams; error?: string } {
  const params: PreprocessingParams = { resize: c.resize };
  if (channels === 3) params.channelOrder = c.channelOrder;
  if (c.preset !== 'custom') return { params: { ...params, preset: c.preset } };
  const mean = parseNumbers(c.mean), std = parseNumbers(c.std), scale = parseNumbers(c.pixelScale);
  const counts = channels === 1 ? 'one value' : `one value or ${channels}`;
  if (!mean || (mean.length !== 1 && mean.length !== channels)) return { error: `Mean: ${counts}, numbers separated by commas.` };
  if (!std || (std.length !== 1 && std.length !== channels)) return { error: `Std: ${counts}, numbers separated by commas.` };
  if (std.some((v) => v === 0)) return { error: 'Std must not be 0.' };
  if (!scale || scale.length !== 1 || scale[0] <= 0) return { error: 'Pixel scale: one positive number (255 for pixel/255, 1 for raw 0–255).' };
  return { params: { ...params, mean, std, pixelScale: scale[0] } };
}

/** The form's starting state for what is in force. */
export function choiceOf(p: PreprocessingDto): PreprocessingChoice {
  const fmt = (xs: number[]) => xs.map((x) => +x.toPrecision(6)).join(', ');
  return {
    preset: p.preset ?? 'custom',
    mean: fmt(p.mean),
    std: fmt(p.std),
    pixelScale: String(+p.pixelScale.toPrecision(6)),
    resize: p.resize,
    channelOrder: p.channelOrder === 'bgr' ? 'bgr' : 'rgb',
  };
}
