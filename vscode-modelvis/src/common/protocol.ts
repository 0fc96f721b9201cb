// The host protocol (docs/protocol.md), declared once: the records the host sends and one typed request or
// notification per method (vscode-jsonrpc's RequestType / NotificationType). Property names are camelCase on
// the wire. Webviews import this file with `import type` only, so their bundles do not carry vscode-jsonrpc.

import { NotificationType, RequestType } from 'vscode-jsonrpc';

/**
 * A request whose method name the type system knows, so that a webview can name the requests it may make and get
 * their params and result types from the same declaration.
 */
export class HostRequest<M extends string, P, R> extends RequestType<P, R, void> {
  declare readonly method: M;
  constructor(method: M) {
    super(method);
  }
}

/** `request<P, R>()('method/name')`: the method name written once, params and result given. */
const request =
  <P, R>() =>
  <M extends string>(method: M) =>
    new HostRequest<M, P, R>(method);

export type ParamsOf<T> = T extends RequestType<infer P, unknown, unknown> ? P : never;
export type ResultOf<T> = T extends RequestType<unknown, infer R, unknown> ? R : never;


export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  /** A user error (bad checkpoint, unknown architecture, oversized input): the message is shown as is. */
  UserError: -32001,
} as const;

export interface InitializeResult {
  serverInfo: { name: string; version: string };
  runtime?: string;
  device?: {
    /** Where models run: cpu, cuda or ilgpu-cpu. */
    kind: string;
    /** Its name ("cuda: NVIDIA H100 80GB HBM3"). */
    accelerator?: string;
    /** Why models do not run on the device modelvis.device asked for. */
    warning?: string;
    cpuModel?: string;
    cores?: number;
    simdWidthBits?: number;
    instructionSets?: string[];
    os?: string;
    architecture?: string;
  };
}

/** The host's memory after a full compacting collection (host/memory). */
export interface HostMemory {
  managedBytes: number;
  workingSetBytes: number;
  peakWorkingSetBytes: number;
}

/** Where discovery found a model; the local runtimes' model stores are "ollama", "lm-studio" and "llama.cpp". */
export type ModelSource = 'workspace' | 'root' | 'hf-cache' | 'ollama' | 'lm-studio' | 'llama.cpp';

export interface ModelEntry {
  path: string;
  name: string;
  source: ModelSource;
  kind: 'folder' | 'file';
  architecture?: string;
  modelType?: string;
  error?: string;
}

export interface DiscoverParams {
  /** Searched as source "workspace". */
  workspaceFolders?: string[];
  /** Extra folders (modelvis.modelRoots), source "root". */
  roots: string[];
  includeHfCache?: boolean;
  hfCache?: string;
  /** Search Ollama's, LM Studio's and llama.cpp's model stores (default true). */
  includeLocalRuntimes?: boolean;
  /** Replaces the runtimes' default locations. */
  runtimeFolders?: RuntimeFolder[];
}

export interface RuntimeFolder {
  folder: string;
  source: 'ollama' | 'lm-studio' | 'llama.cpp';
}

export interface DiscoverResult {
  models: ModelEntry[];
  hfCache?: string | null;
}

export interface TensorRef {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  readable: boolean;
}

export interface TreeNode {
  name: string;
  /** Dotted prefix, e.g. "model.layers.0.self_attn". */
  path: string;
  kind: 'model' | 'module' | 'layers' | 'tensor';
  parameters: number;
  /** For "layers": the first and last index of the collapsed numbered children. */
  range?: [number, number];
  children?: TreeNode[];
  tensor?: TensorRef;
}

export interface ModelTree {
  path: string;
  name: string;
  architecture?: string;
  modelType?: string;
  totalParameters: number;
  dtypes: Record<string, number>;
  files: string[];
  root: TreeNode;
}

export interface TensorStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  zeros: number;
  zeroFraction: number;
  nan: number;
  inf: number;
}

export interface TensorInspection {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  parameters: number;
  readable: boolean;
  /** Why the values are not shown (dtypes ModelVis does not read); for GGUF block types that are shown, that they are dequantized. */
  note?: string;
  stats?: TensorStats;
  histogram?: { min: number; max: number; counts: number[] };
}

export interface TensorImage {
  name?: string;
  shape?: number[];
  /** base64 PNG */
  png: string;
  width: number;
  height: number;
  layout: 'matrix' | 'strip' | 'grid';
  source: { rows: number; cols: number };
  downsample?: { rowFactor: number; colFactor: number; method: 'maxabs' | 'mean' } | null;
  grid?: {
    slices: number;
    shown: number;
    gridRows?: number;
    gridCols: number;
    sliceRows: number;
    sliceCols: number;
    cellWidth?: number;
    cellHeight?: number;
    gap?: number;
  } | null;
  /** Values from low to high map to the ends of the colormap; diverging maps are centred at 0 (±limit). */
  scale: { min: number; max: number; low?: number; high?: number; limit: number; colormap: string };
  /** The host's own sentence about what was downsampled or left out. */
  note?: string | null;
  /** A matrix's or strip's values as drawn (block-reduced), base64 float32 [rows, cols]; absent for grids. */
  values?: { rows: number; cols: number; values: string } | null;
}

export interface WorkDoneProgressValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

// ---- Training runs and checkpoints compared (issue 18; docs/protocol.md "Training runs") ----

export interface RunFileEntry {
  path: string;
  kind: 'tfevents' | 'csv' | 'jsonl';
  size: number;
}

export interface RunEntry {
  /** The run folder. */
  path: string;
  /** The folder relative to the root it was found under ("lightning_logs/version_0"). */
  name: string;
  root: string;
  files: RunFileEntry[];
  lastWrite: string;
}

export interface RunsDiscoverParams {
  workspaceFolders?: string[];
  roots?: string[];
  maxDepth?: number;
}

export interface RunsDiscoverResult {
  runs: RunEntry[];
}

/** Opaque to the client: handed back to runs/scalars to get only what the files gained since. */
export interface RunCursor {
  files: Record<string, { offset: number; lines: number; rows: number }>;
  plugins: Record<string, string>;
}

/** Non-finite values travel as the strings "NaN", "Infinity", "-Infinity"; missing wall times as null. */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface ScalarSeriesWire {
  steps: number[];
  values: WireNumber[];
  wallTimes: Array<number | null>;
}

export interface RunScalarsParams {
  path: string;
  cursor?: RunCursor;
}

export interface RunScalarsResult {
  path: string;
  tags: Record<string, ScalarSeriesWire>;
  histograms: Array<{ tag: string; count: number }>;
  problems: Array<{ file: string; offset: number; message: string }>;
  notes: string[];
  cursor: RunCursor;
  /** Files that were rewritten rather than appended to: drop what came from them before. */
  reset: string[];
}

export interface RunTagsResult {
  path: string;
  tags: Array<{ tag: string; kind: 'scalar' | 'histogram'; count: number; firstStep: number | null; lastStep: number | null; last: WireNumber | null }>;
  problems: number;
  notes: string[];
}

export interface HistogramStepWire {
  step: number;
  wallTime: number | null;
  left: number[];
  right: number[];
  counts: number[];
  /** The values at RunHistogramsResult.basisPoints percentiles. */
  percentiles: WireNumber[];
}

export interface RunHistogramsResult {
  tag: string;
  basisPoints: number[];
  steps: HistogramStepWire[];
}

export interface TensorChange {
  name: string;
  shape: number[];
  relChange: WireNumber;
  maxAbsDiff: WireNumber;
  normA: WireNumber;
  normB: WireNumber;
}

export interface CheckpointComparison {
  a: string;
  b: string;
  tensors: TensorChange[];
  onlyInA: string[];
  onlyInB: string[];
  notCompared: string[];
  notes: string[];
}

export interface CompareDiffResult {
  name: string;
  shape: number[];
  difference: TensorImage;
  histograms: { edges: number[]; countsA: number[]; countsB: number[] };
}

/** A folder of one run's checkpoints, and one tensor's histogram over them (drawn as runs/histograms). */
export interface CheckpointSeriesResult {
  path: string;
  /** In the order they were saved; `step` from the name (step=N, checkpoint-N, else its last number). */
  checkpoints: Array<{ path: string; name: string; step: number }>;
  /** The floating-point tensors every checkpoint has, with the same shape. */
  tensors: Array<{ name: string; shape: number[] }>;
  tensor: string;
  basisPoints: number[];
  /** One per checkpoint; buckets share edges over the series (the outer ones are each checkpoint's min and max). */
  steps: HistogramStepWire[];
  notes: string[];
}

// ---- attention (issue 5) ----

export type HeadChoice = number | 'mean' | 'max';

export interface AttentionToken {
  id: number;
  /** Raw token as the tokenizer has it (`Ġfoo`, `▁bar`, `##baz`). */
  text: string;
  /** Readable form. */
  display: string;
  /** UTF-16 offsets in the run's text; null for special tokens. */
  start: number | null;
  end: number | null;
  special: boolean;
}

export interface AttentionRun {
  runId: string;
  /** layers: the decoder's for an encoder-decoder, whose encoder has encoderLayers (0 or absent otherwise). */
  model: { path: string; name: string; modelType: string; layers: number; heads: number; causal: boolean; maxPositions?: number; encoderLayers?: number };
  n: number;
  truncatedFrom?: number;
  tokens: AttentionToken[];
  /** An encoder-decoder's target (null or absent otherwise). */
  target?: AttentionTarget | null;
}

/** An encoder-decoder's target: the decoder's tokens (the start token first), its text, and whether the model wrote it (greedy). */
export interface AttentionTarget {
  text: string;
  tokens: AttentionToken[];
  greedy: boolean;
}

/** The attentions of an encoder-decoder: the encoder's over the source, the decoder's over the target, and the target's over the source. */
export type AttentionKind = 'encoder' | 'decoder' | 'cross';

/** attention/run's error data when the text is over the model's context (-32001): retry with `maxTokens: limit`. */
export interface TooManyTokensData {
  /** The text's token count; with atLeast, only how far it was tokenized (the text is longer). */
  tokens: number;
  limit: number;
  atLeast?: boolean;
}

export interface PngImage {
  png: string;
  width: number;
  height: number;
}

/** A matrix drawn by the host: `factor` tokens per pixel block, `high` the top of the colour scale. */
export interface MatrixImage extends PngImage {
  n: number;
  factor: number;
  high: number;
  colormap: string;
}

export interface AttentionMatrix {
  /** The number of keys (= cols; square for self-attention). */
  n: number;
  /** base64 float32 [rows, cols], row = query; null over 512 tokens. */
  values: string | null;
  max: number;
  rows: number;
  cols: number;
}

export interface AttentionRow {
  query: number;
  weights: number[];
  top: Array<{ key: number; weight: number }>;
  acrossLayers: PngImage;
}

export interface AttentionGrid extends PngImage {
  layers: number;
  heads: number;
  cells: Array<{ layer: number; head: number; x: number; y: number; width: number; height: number }>;
  note?: string;
}

export interface RolloutResult {
  n: number;
  /** base64 float32 [n, n]; null over 512 tokens. */
  values: string | null;
  image: MatrixImage;
  method: string;
  note?: string;
}

export interface AttentionRunParams {
  model: string;
  text: string;
  maxTokens?: number;
  /** An encoder-decoder's decoder text; absent or empty: the model's own greedy output for the text. */
  target?: string;
}

/** Every request about a run names it; the webview's requests get it from the extension. */
export interface RunRef {
  runId: string;
}

export interface HeadParams extends RunRef {
  layer: number;
  head: HeadChoice;
  /** Which attention of an encoder-decoder run (default decoder); decoder-only runs leave it out. */
  kind?: AttentionKind;
}

export interface LayerDoneParams {
  runId: string;
  layer: number;
  layers: number;
}

// ---- hidden states and neurons (issue 6) ----

export interface LensResult {
  layers: number;
  n: number;
  top: Array<Array<Array<{ id: number; token: string; prob: number }>>>;
  nextRank: number[][];
  nextProb: number[][];
  rankImage: MatrixImage;
  rankNote?: string;
}

export interface PcaLayer {
  layer: number;
  x: number[];
  y: number[];
  /** Share of the variance along the first two components. */
  explained: number[];
}

export interface GeometryResult {
  layer: number;
  n: number;
  /** base64 float32 [n, n] cosine similarity, null for long runs. */
  similarity: string | null;
  similarityImage: PngImage;
  /** norms[k][pos]: |h_k(pos)| for every hidden state k = 0..L. */
  norms: number[][];
  pca: PcaLayer[];
}

export interface HiddenImageResult extends PngImage {
  layer: number;
  rows: number;
  cols: number;
  note?: string | null;
  limit: number;
  /** base64 float32 [rows, cols], null when too large to send. */
  values: string | null;
}

export interface NeuronSummary {
  neuron: number;
  max: number;
  mean: number;
  argMax: number;
}

export interface NeuronsResult {
  layer: number;
  intermediate: number;
  top: NeuronSummary[];
}

export interface NeuronActivations {
  layer: number;
  neuron: number;
  activations: number[];
  max: number;
  min: number;
}

export interface NmfResult {
  layer: number;
  components: number;
  /** tokenWeights[c][pos] ≥ 0. */
  tokenWeights: number[][];
  relativeError: number;
  topNeurons: number[][];
}

// ---- CNN features (issue 7) ----

export type ResizeMode = 'stretch' | 'letterbox' | 'crop';
/** Where a preprocessing came from: the model's own sources, a guess, or the user's choice in the panel. */
export type PreprocessingSourceName = 'sidecar' | 'preprocessor_config.json' | 'onnx-metadata' | 'architecture' | 'guess' | 'user';
export interface PreprocessingDto {
  channels: number; width: number; height: number; mean: number[]; std: number[]; pixelScale: number; describe: string;
  resize: ResizeMode; channelOrder: 'rgb' | 'bgr' | 'grey'; cropFraction: number;
  /** The preset these values match, if any. */
  preset?: string | null;
  source: PreprocessingSourceName; sourceDetail: string; guess: boolean;
}
/** What the panel may ask features/run to change; every field optional (a preset's values first, then each field). */
export interface PreprocessingParams {
  width?: number; height?: number; channels?: number; mean?: number[]; std?: number[];
  preset?: string; pixelScale?: number; resize?: ResizeMode; channelOrder?: 'rgb' | 'bgr'; cropFraction?: number;
}
export interface PresetInfo { id: string; label: string }
export interface FeatureTopClass { index: number; probability: number; logit: number; label?: string | null }
export interface FeatureLayerInfo { name: string; opType: string; shape: number[]; channels: number; isFeatureMap: boolean }

export interface FeaturesRunParams {
  model: string;
  archPath?: string;
  /** The host decodes the picture (PNG, JPEG, GIF, WebP, BMP): a file on disk by its absolute path, else the file's bytes (base64). */
  image: { path: string } | { data: string };
  preprocessing?: PreprocessingParams;
}

export interface FeaturesRunResult {
  runId: string;
  model: { path: string; kind: string; name: string; hasLabels: boolean; architecture?: string | null; engine: 'interpreter' | 'onnxruntime' };
  input: PngImage;
  /** What this run used. */
  preprocessing: PreprocessingDto;
  /** What the model itself says (or the guess), whatever the user chose. */
  modelPreprocessing: PreprocessingDto;
  presets: PresetInfo[];
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

// ---- built-in model and training (issue 8) ----

export interface BuiltinStatus {
  ready: boolean;
  folder: string;
  /** Where "Train a Tiny Model on This File" saves models (a discovery root of the Models view). */
  trainedRoot: string;
}

export interface TrainSummary {
  steps: number;
  parameters: number;
  corpusTokens: number;
  finalTrainLoss: number;
  evalLoss: number;
  unigramEntropy: number;
  seconds: number;
}

export interface BuiltinEnsureResult {
  folder: string;
  trained: boolean;
  result?: TrainSummary | null;
}

export interface TrainStartParams {
  files?: string[];
  texts?: string[];
  name?: string;
  out?: string;
  steps?: number;
  seed?: number;
}

export interface TrainStartResult {
  folder: string;
  result: TrainSummary;
}

export interface TrainLossParams {
  run: string;
  step: number;
  steps: number;
  loss: number;
  learningRate?: number;
}

// ---- circuits (issue 16): views of an attention run; tables are [layer][head] or [layer][position] ----

export type HeadKind = 'previous-token' | 'induction' | 'duplicate-token';

export interface CircuitHeadsParams {
  runId: string;
  /** Score on the seeded repeated-block probe of this block length instead of the run's tokens. */
  probeBlock?: number;
  seed?: number;
  blocks?: number;
  labelThreshold?: number;
}

export interface CircuitHeadsResult {
  source: 'selection' | 'probe';
  layers: number;
  heads: number;
  previousToken: number[][];
  induction: number[][];
  duplicateToken: number[][];
  labels: Array<Array<HeadKind | null>>;
  probeIds: number[][] | null;
}

export interface CircuitDlaParams {
  runId: string;
  /** Default: the last position. */
  position?: number;
  /** Default: the model's prediction at the position. */
  target?: number;
  /** When given: the logit difference target − contrast. */
  contrast?: number;
}

export interface CircuitDlaResult {
  position: number;
  target: number;
  targetToken: string;
  contrast: number | null;
  contrastToken: string | null;
  heads: number[][];
  /** T5's decoder: each cross-attention head's part; null for decoder-only models. */
  crossHeads: number[][] | null;
  mlp: number[];
  embed: number;
  /** The attention output biases and the final-norm bias. */
  rest: number;
  /** The logit (difference) from the forward pass. */
  logit: number;
  /** The sum of every part (equals logit up to float rounding, or the logit before Gemma 2's soft cap). */
  total: number;
  /** logit − total: float rounding, or the soft cap's share. */
  residual: number;
  /** The final norm's frozen denominator s. */
  scale: number;
  /** What was held fixed to make the parts additive, in words. */
  approximations: string[];
}

export interface CircuitPatchParams {
  /** The clean prompt's run. */
  runId: string;
  corruptText?: string;
  corruptIds?: number[];
  /** t_clean by id (default: the clean run's prediction). */
  target?: number;
  /** t_corrupt by id (default: the corrupted run's prediction, or its best other token). */
  contrast?: number;
  /** t_clean as typed: a vocabulary token, text of one token, or an id. */
  targetToken?: string;
  /** t_corrupt as typed. */
  contrastToken?: string;
  heads?: boolean;
}

export interface CircuitPatchResult {
  tClean: number;
  tCleanToken: string;
  tCorrupt: number;
  tCorruptToken: string;
  /** The metric logit[n-1, tClean] − logit[n-1, tCorrupt] on each prompt. */
  clean: number;
  corrupt: number;
  tokens: string[];
  corruptTokens: string[];
  /** Recovered fraction (M_patched − M_corrupt) / (M_clean − M_corrupt), [layer][position]. */
  resid: number[][];
  heads: number[][] | null;
}

export type AttributionMethod = 'saliency' | 'ixg' | 'ig' | 'occlusion';

export interface AttributionRunParams {
  runId: string;
  method: AttributionMethod;
  /** Default: the last position (an encoder's first [MASK]). */
  position?: number;
  /** The token whose logit is explained, as an id or as text that is one token; default: the prediction there. */
  target?: number;
  targetText?: string;
  /** When given: explain the logit difference target − contrast. */
  contrast?: number;
  contrastText?: string;
  /** Integrated-gradients steps (middle Riemann rule), 1..4096; default 64. */
  steps?: number;
  /** Integrated-gradients baseline: zero rows, or the pad/unk row with a leading BOS kept. */
  baseline?: 'zero' | 'token';
}

export interface AttributionCompleteness {
  steps: number;
  /** Σ of the attributions, against difference = targetValue − baselineValue. */
  sum: number;
  targetValue: number;
  baselineValue: number;
  difference: number;
  relativeError: number;
}

export interface AttributionRunResult {
  method: AttributionMethod;
  position: number;
  target: number;
  targetToken: string;
  contrast: number | null;
  contrastToken: string | null;
  /** f: the logit (difference) explained. */
  value: number;
  tokens: string[];
  /** One signed score per token of the run. */
  scores: number[];
  completeness: AttributionCompleteness | null;
  /** The token baseline's token (integrated gradients with baseline "token"). */
  baselineToken: string | null;
}

// ---- the methods ----

export interface InitializeParams {
  clientInfo?: { name: string; version?: string };
  processId?: number;
}

export interface TensorParams {
  path: string;
  tensor: string;
  bins?: number;
  maxSize?: number;
  reduce?: 'maxabs' | 'mean';
  colormap?: string;
}

/** A request with nothing to say (sent as `{}`, as the host has always been asked). */
export type NoParams = Record<string, never>;

export const Initialize = request<InitializeParams, InitializeResult>()('initialize');
// ---------------------------------------------------------------- structure, embeddings and activations (issue 19)

export type ProjectorSource = 'embed' | 'unembed' | 'hidden';

/** The extension always names a run (the projector shows a run's model, its selection marked); the host also takes `model` alone. */
export interface ProjectorParams extends RunRef {
  source: ProjectorSource;
  layer?: number;
  components?: number;
}

export interface ProjectorResult {
  source: ProjectorSource;
  count: number;
  dims: number;
  width: number;
  /** base64 float32 [count, dims]: principal-component scores, largest first. */
  coords: string;
  variance: number[];
  explained: number[];
  labels: string[];
  ids: number[];
  properties: Record<string, number[]>;
  selected: number[];
  milliseconds: number;
}

export interface NeighborsParams extends RunRef {
  source: ProjectorSource;
  layer?: number;
  point?: number;
  token?: string;
  k?: number;
}

export interface NeighborEntry {
  point: number;
  id: number;
  token: string;
  cosine: number;
}

export interface NeighborsResult {
  point: number;
  id: number;
  token: string;
  neighbors: NeighborEntry[];
}

export interface GraphTensor {
  name: string;
  shape: number[];
  dType: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  tensor: string;
  shape: number[] | null;
}

export interface GraphNode {
  id: string;
  label: string;
  name: string;
  scope: string;
  parameters: number;
  tensors: GraphTensor[];
  attributes: Record<string, string>;
  children: GraphNode[] | null;
  childEdges: GraphEdge[] | null;
}

export interface ModelGraph {
  kind: 'onnx' | 'blocks';
  title: string;
  path: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  parameters: number;
  note: string | null;
}

export interface ActivationLayer {
  layer: number;
  min: number;
  max: number;
  counts: number[];
  total: number;
  mean: number;
  nearZero: number;
  flat: number;
  curveX: number[];
  curveY: number[];
}

export interface ActivationProfile {
  function: string;
  gated: boolean;
  units: number;
  layers: ActivationLayer[];
}

export const Shutdown = request<null, null>()('shutdown');
export const Exit = new NotificationType<void>('exit');
export const HostMemoryRequest = request<NoParams, HostMemory>()('host/memory');

export const ModelsDiscover = request<DiscoverParams, DiscoverResult>()('models/discover');
export const ModelsTree = request<{ path: string }, ModelTree>()('models/tree');
export const ModelsForget = request<{ path: string }, null>()('models/forget');
export const TensorsInspect = request<TensorParams, TensorInspection>()('tensors/inspect');
export const TensorsImage = request<TensorParams, TensorImage>()('tensors/image');

export const AttentionRunRequest = request<AttentionRunParams, AttentionRun>()('attention/run');
export const AttentionMatrixRequest = request<HeadParams, AttentionMatrix>()('attention/matrix');
export const AttentionImage = request<HeadParams & { maxSize?: number }, MatrixImage>()('attention/image');
export const AttentionRowRequest = request<HeadParams & { query: number; top?: number }, AttentionRow>()('attention/row');
export const AttentionGridRequest = request<RunRef & { cell?: number }, AttentionGrid>()('attention/grid');
export const AttentionRollout = request<RunRef & { method: 'rollout' | 'flow'; maxSize?: number }, RolloutResult>()('attention/rollout');
export const AttentionRelease = request<RunRef, null>()('attention/release');
/** Save PNG's figure of one head (or grid: the model view), drawn by the host in the page's theme. */
export const AttentionFigure = request<RunRef & { layer?: number; head?: HeadChoice; grid?: boolean; theme?: 'light' | 'dark' }, { png: string; width: number; height: number }>()('attention/figure');
export const LayerDone = new NotificationType<LayerDoneParams>('attention/layerDone');

export const HiddenLens = request<RunRef & { top?: number }, LensResult>()('hidden/lens');
export const HiddenGeometry = request<RunRef & { layer: number; maxSize?: number }, GeometryResult>()('hidden/geometry');
export const HiddenImage = request<RunRef & { layer: number; maxSize?: number }, HiddenImageResult>()('hidden/image');
export const NeuronsTop = request<RunRef & { layer: number; top?: number }, NeuronsResult>()('neurons/top');
export const NeuronsActivations = request<RunRef & { layer: number; neuron: number }, NeuronActivations>()('neurons/activations');
export const NeuronsNmf = request<RunRef & { layer: number; components?: number }, NmfResult>()('neurons/nmf');

export const FeaturesRun = request<FeaturesRunParams, FeaturesRunResult>()('features/run');
export const FeaturesGrid = request<RunRef & { layer: string; scaling: 'channel' | 'layer'; sort: boolean }, FeatureGridResult>()('features/grid');
export const FeaturesMap = request<RunRef & { layer: string; channel: number }, FeatureMapResult>()('features/map');
export const FeaturesKernels = request<RunRef, KernelsResult>()('features/kernels');
export const FeaturesCam = request<RunRef & { class?: number }, CamResult>()('features/cam');
export const FeaturesGradCam = request<RunRef & { layer: string; class?: number }, CamResult>()('features/gradcam');

export interface FeatureVisualizeParams extends RunRef {
  goal: 'channel' | 'class' | 'invert';
  layer?: string;
  index?: number;
  steps?: number;
  learningRate?: number;
  tv?: number;
  l2?: number;
  jitter?: number;
  seed?: number;
  fromImage?: boolean;
  every?: number;
}
export interface FeatureImage { png: string; width: number; height: number }
export interface FeatureVisualizeResult { steps: number; stopped: boolean; objective: number; objectives: number[]; image: FeatureImage }
export interface FeatureVisualizeStep { runId: string; step: number; steps: number; objective: number; image: FeatureImage }
export const FeaturesVisualize = request<FeatureVisualizeParams, FeatureVisualizeResult>()('features/visualize');
export const FeaturesVisualizeStep = new NotificationType<FeatureVisualizeStep>('features/visualizeStep');
export const FeaturesRelease = request<RunRef, null>()('features/release');

export const BuiltinStatusRequest = request<NoParams, BuiltinStatus>()('builtin/status');
export const BuiltinEnsure = request<NoParams, BuiltinEnsureResult>()('builtin/ensure');
export const TrainStart = request<TrainStartParams, TrainStartResult>()('train/start');
export const TrainLoss = new NotificationType<TrainLossParams>('train/loss');

export const RunsDiscover = request<RunsDiscoverParams, RunsDiscoverResult>()('runs/discover');
export const RunsScalars = request<RunScalarsParams, RunScalarsResult>()('runs/scalars');
export const RunsTags = request<{ path: string }, RunTagsResult>()('runs/tags');
export const RunsHistograms = request<{ path: string; tag: string }, RunHistogramsResult>()('runs/histograms');

export const EmbeddingsProject = request<ProjectorParams, ProjectorResult>()('embeddings/project');
export const EmbeddingsNeighbors = request<NeighborsParams, NeighborsResult>()('embeddings/neighbors');
export const GraphModel = request<{ model: string }, ModelGraph>()('graph/model');
export const ActivationsProfile = request<RunRef & { bins?: number }, ActivationProfile>()('activations/profile');

/** What the projector's and the activation view's pages may ask the host (their panels add the run id). */
export const ProjectorViewRequests = [EmbeddingsProject, EmbeddingsNeighbors] as const;
export const ActivationsViewRequests = [ActivationsProfile] as const;
export const CheckpointsCompare = request<{ a: string; b: string }, CheckpointComparison>()('checkpoints/compare');
export const CheckpointsSeries = request<{ path: string; tensor?: string; bins?: number }, CheckpointSeriesResult>()('checkpoints/series');
export const CheckpointsDiff = request<{ a: string; b: string; tensor: string; bins?: number; maxSize?: number }, CompareDiffResult>()('checkpoints/diff');

export const CircuitsHeads = request<CircuitHeadsParams, CircuitHeadsResult>()('circuits/heads');
export const CircuitsDla = request<CircuitDlaParams, CircuitDlaResult>()('circuits/dla');
export const CircuitsPatch = request<CircuitPatchParams, CircuitPatchResult>()('circuits/patch');
export const AttributionRun = request<AttributionRunParams, AttributionRunResult>()('attribution/run');

/** What the attention panel's webview may ask the host for (the extension adds the run id). */
export const ATTENTION_VIEW_REQUESTS = [
  AttentionMatrixRequest,
  AttentionImage,
  AttentionRowRequest,
  AttentionGridRequest,
  AttentionRollout,
  AttentionFigure,
  HiddenLens,
  HiddenGeometry,
  HiddenImage,
  NeuronsTop,
  NeuronsActivations,
  NeuronsNmf,
  CircuitsHeads,
  CircuitsDla,
  CircuitsPatch,
  AttributionRun,
] as const;

/** What the CNN feature-map webview may ask the host for (the extension adds the run id). */
export const FEATURE_VIEW_REQUESTS = [FeaturesGrid, FeaturesMap, FeaturesKernels, FeaturesCam, FeaturesGradCam, FeaturesVisualize] as const;

/** A webview's request by method name: its params without the run id, and its result. */
export type ViewRequest<Rs extends readonly HostRequest<string, RunRef, unknown>[], M extends Rs[number]['method']> = Extract<Rs[number], { method: M }>;
export type ViewParams<Rs extends readonly HostRequest<string, RunRef, unknown>[], M extends Rs[number]['method']> = Omit<ParamsOf<ViewRequest<Rs, M>>, 'runId'>;
export type ViewResult<Rs extends readonly HostRequest<string, RunRef, unknown>[], M extends Rs[number]['method']> = ResultOf<ViewRequest<Rs, M>>;

/** How a webview asks for one of its requests (through the extension, which adds the run id). */
export type ViewRequester<Rs extends readonly HostRequest<string, RunRef, unknown>[]> = <M extends Rs[number]['method']>(
  method: M,
  params: ViewParams<Rs, M>,
) => Promise<ViewResult<Rs, M>>;

/** A webview's request to its panel, which forwards it to the host with the run id. */
export interface ViewRequestMessage {
  type: 'request';
  id: number;
  method: string;
  params: Record<string, unknown>;
}

/** The panel's answer to a ViewRequestMessage: the host's result, or the error's message. */
export interface ViewResponseMessage {
  type: 'response';
  id: number;
  result?: unknown;
  error?: string;
}

/** Save PNG in any panel: the figure the page drew (base64 PNG), saved where the user chooses. */
export interface SavePngMessage {
  type: 'savePng';
  png: string;
  /** The file name offered (without .png). */
  name: string;
}

/** The request a webview named, when it is one it may make. */
export function viewRequest<Rs extends readonly HostRequest<string, RunRef, unknown>[]>(allowed: Rs, method: unknown): Rs[number] | undefined {
  return allowed.find((r) => r.method === method);
}
