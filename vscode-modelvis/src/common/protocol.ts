// Types of the host protocol (docs/protocol.md). Property names are camelCase on the wire.

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
    kind: string;
    cpuModel?: string;
    cores?: number;
    simdWidthBits?: number;
    instructionSets?: string[];
    os?: string;
    architecture?: string;
  };
}

export interface ModelEntry {
  path: string;
  name: string;
  source: 'workspace' | 'root' | 'hf-cache';
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
