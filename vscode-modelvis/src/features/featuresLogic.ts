// CNN feature maps (issue 7): the protocol types of features/* and the messages between the extension and
// the features webview. Pure (no vscode), shared with media/features/features.ts.

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp'];
export const CNN_MODEL_EXTENSIONS = ['.onnx', '.pth', '.pt'];

export interface PngDto { png: string; width: number; height: number }
export interface PreprocessingDto { channels: number; width: number; height: number; mean: number[]; std: number[]; pixelScale: number; describe: string }
export interface FeatureTopClass { index: number; probability: number; logit: number; label?: string | null }
export interface FeatureLayerInfo { name: string; opType: string; shape: number[]; channels: number; isFeatureMap: boolean }

export interface FeaturesRunResult {
  runId: string;
  model: { path: string; kind: string; name: string; hasLabels: boolean };
  input: PngDto;
  preprocessing: PreprocessingDto;
  predicted?: number | null;
  top5: FeatureTopClass[];
  layers: FeatureLayerInfo[];
  hasKernels: boolean;
  hasCam: boolean;
  camLayer?: string | null;
  milliseconds: number;
}

export interface FeatureCell { channel: number; x: number; y: number; width: number; height: number }
export interface FeatureGridResult {
  layer: string; opType: string; shape: number[]; png: string; width: number; height: number; columns: number; rows: number;
  cellWidth: number; cellHeight: number; cells: FeatureCell[]; order: number[]; scaling: 'channel' | 'layer'; sorted: boolean;
  low: number; high: number; colormap: string; note: string;
}
export interface FeatureMapResult { layer: string; channel: number; png: string; width: number; height: number; mapWidth: number; mapHeight: number; min: number; max: number; mean: number; colormap: string }
export interface KernelsResult { node: string; shape: number[]; filters: number; inChannels: number; png: string; width: number; height: number; columns: number; rows: number; cellWidth: number; cellHeight: number; limit: number; colormap: string; note: string }
export interface CamResult { class: number; label?: string | null; featureLayer: string; png: string; width: number; height: number; mapWidth: number; mapHeight: number; low: number; high: number; colormap: string; note: string }

/** The requests the webview may make (the extension adds the run id). */
export const WEBVIEW_METHODS = ['features/grid', 'features/map', 'features/kernels', 'features/cam'] as const;
export type WebviewMethod = (typeof WEBVIEW_METHODS)[number];
export function isWebviewMethod(m: unknown): m is WebviewMethod {
  return typeof m === 'string' && (WEBVIEW_METHODS as readonly string[]).includes(m);
}

export type ToFeaturesWebview =
  | { type: 'running'; image: string; model: string }
  | { type: 'run'; image: string; run: FeaturesRunResult }
  | { type: 'runError'; image: string; model: string; message: string }
  | { type: 'response'; id: number; result?: unknown; error?: string };

export type FromFeaturesWebview =
  | { type: 'ready' }
  | { type: 'request'; id: number; method: string; params: Record<string, unknown> };

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
