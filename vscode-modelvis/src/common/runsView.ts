// The state the run panel's extension side posts to its webview, and the webview's messages.

import type { CheckpointComparison, CompareDiffResult, RunHistogramsResult, ScalarSeriesWire } from './protocol';

export interface RunView {
  path: string;
  name: string;
  tags: Record<string, ScalarSeriesWire>;
  histograms: Array<{ tag: string; count: number }>;
  problems: string[];
  notes: string[];
}

export interface RunsViewState {
  status: 'loading' | 'ready' | 'error';
  error?: string;
  runs: RunView[];
  /** Histogram data by "<run path>\n<tag>", loaded when the webview asks. */
  histograms: Record<string, RunHistogramsResult | { error: string }>;
  /** Bumped on every update from a growing file (the webview keeps zoom and scroll). */
  revision: number;
  /** Whether the panel follows the runs' files as they grow. */
  following: boolean;
  /** A line under the title (the loss curve of a training run: its step and moving-average loss). */
  statusLine?: string;
}

export type RunsWebviewMessage = { type: 'loadHistogram'; run: string; tag: string } | { type: 'reload' };

export function histogramKey(run: string, tag: string): string {
  return `${run}\n${tag}`;
}

export interface CompareViewState {
  status: 'loading' | 'ready' | 'error';
  error?: string;
  a: string;
  b: string;
  result?: CheckpointComparison;
  selected?: string;
  diffStatus?: 'loading' | 'ready' | 'error';
  diff?: CompareDiffResult;
  diffError?: string;
}

export type CompareWebviewMessage = { type: 'select'; tensor: string } | { type: 'reload' };
