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
  mlp: number[];
  embed: number;
  /** The attention output biases and the final-norm bias. */
  rest: number;
  /** The logit (difference) from the forward pass. */
  logit: number;
  /** The sum of every part (equals logit up to float rounding). */
  total: number;
  /** The final norm's frozen denominator s. */
  scale: number;
}

export interface CircuitPatchParams {
  /** The clean prompt's run. */
  runId: string;
  corruptText?: string;
  corruptIds?: number[];
  target?: number;
  contrast?: number;
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
