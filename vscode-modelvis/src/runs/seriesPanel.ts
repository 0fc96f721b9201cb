// A folder of one run's checkpoints (epoch=0 … N): every tensor's value distribution over the checkpoints, drawn by
// the Runs panel's webview exactly as an event file's histogram tags (TensorBoard's distribution bands and offset
// stack). checkpoints/series lists the checkpoints and the tensors they share and gives the first tensor's
// histograms; the others are asked for as their cards are opened.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { CheckpointsSeries, CheckpointSeriesResult, RunHistogramsResult } from '../common/protocol';
import { histogramKey, RunsWebviewMessage, RunView } from '../common/runsView';
import { HostClient } from '../host/hostClient';
import { RunsStatePanel } from './runsStatePanel';
import { RUNS_VIEW_TYPE } from './runPanel';

export function openSeriesPanel(extensionUri: vscode.Uri, host: HostClient, folder: string): void {
  new SeriesPanel(extensionUri, host, folder);
}

class SeriesPanel extends RunsStatePanel {
  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
    private readonly folder: string,
  ) {
    super(extensionUri, { viewType: RUNS_VIEW_TYPE, page: 'runs', title: `Checkpoints: ${path.basename(folder)}`, styleDir: ['dist', 'webview'] }, {
      status: 'loading',
      runs: [],
      histograms: {},
      revision: 0,
      following: false,
    });
    void this.load();
  }

  protected onMessage(m: RunsWebviewMessage): void {
    if (m.type === 'reload') void this.load();
    else if (m.type === 'loadHistogram' && typeof m.tag === 'string') void this.loadTensor(m.tag);
  }

  private async load(): Promise<void> {
    const folder = this.folder;
    this.update({ status: 'loading', error: undefined, histograms: {} });
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'ModelVis: reading the checkpoints' }, () =>
        this.host.request(CheckpointsSeries, { path: folder }, { token: this.cancel.token, timeoutMs: 600_000 }),
      );
      if (this.isDisposed) return;
      const run: RunView = {
        path: folder,
        name: path.basename(folder),
        tags: {},
        histograms: r.tensors.map((t) => ({ tag: t.name, count: r.checkpoints.length })),
        problems: [],
        notes: r.notes,
      };
      const statusLine =
        `${r.checkpoints.length} checkpoints (${r.checkpoints.map((c) => c.name).join(', ')}); each tensor's values over them, ` +
        `x = the step in each checkpoint's name. ${r.tensors.length} tensors are in all of them with the same shape.`;
      this.update({ status: 'ready', runs: [run], histograms: { [histogramKey(folder, r.tensor)]: asHistograms(r) }, statusLine, revision: this.state.revision + 1 });
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.update({ status: 'error', error: errorMessage(e) });
    }
  }

  private loadTensor(tensor: string): Promise<void> {
    return this.loadHistogramInto(histogramKey(this.folder, tensor), async (token) =>
      asHistograms(await this.host.request(CheckpointsSeries, { path: this.folder, tensor }, { token, timeoutMs: 600_000 })),
    );
  }
}

/** A series answer as the runs webview takes a histogram tag's. */
function asHistograms(r: CheckpointSeriesResult): RunHistogramsResult {
  return { tag: r.tensor, basisPoints: r.basisPoints, steps: r.steps };
}
