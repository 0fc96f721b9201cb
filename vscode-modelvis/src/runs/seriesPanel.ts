// A folder of one run's checkpoints (epoch=0 … N): every tensor's value distribution over the checkpoints, drawn by
// the Runs panel's webview exactly as an event file's histogram tags (TensorBoard's distribution bands and offset
// stack). checkpoints/series lists the checkpoints and the tensors they share and gives the first tensor's
// histograms; the others are asked for as their cards are opened.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { CheckpointsSeries, CheckpointSeriesResult } from '../common/protocol';
import { histogramKey, RunsViewState, RunsWebviewMessage, RunView } from '../common/runsView';
import { HostClient } from '../host/hostClient';
import { StatePanel } from '../webview/statePanel';
import { RUNS_VIEW_TYPE } from './runPanel';

export function openSeriesPanel(extensionUri: vscode.Uri, host: HostClient, folder: string): void {
  const initial: RunsViewState = { status: 'loading', runs: [], histograms: {}, revision: 0, following: false };
  const view: StatePanel<RunsViewState, RunsWebviewMessage> = new StatePanel(
    extensionUri,
    { viewType: RUNS_VIEW_TYPE, page: 'runs', title: `Checkpoints: ${path.basename(folder)}`, styleDir: ['dist', 'webview'] },
    initial,
    (m) => {
      if (m.type === 'reload') void load();
      else if (m.type === 'loadHistogram' && typeof m.tag === 'string') void loadTensor(m.tag);
    },
  );
  const cancel = new vscode.CancellationTokenSource();
  view.onDidDispose(() => cancel.cancel());

  const asHistograms = (r: CheckpointSeriesResult) => ({ tag: r.tensor, basisPoints: r.basisPoints, steps: r.steps });

  const load = async () => {
    view.update({ status: 'loading', error: undefined, histograms: {} });
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'ModelVis: reading the checkpoints' }, () =>
        host.request(CheckpointsSeries, { path: folder }, { token: cancel.token, timeoutMs: 600_000 }),
      );
      if (view.isDisposed) return;
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
      view.update({ status: 'ready', runs: [run], histograms: { [histogramKey(folder, r.tensor)]: asHistograms(r) }, statusLine, revision: view.state.revision + 1 });
    } catch (e) {
      if (isCancellation(e) || view.isDisposed) return;
      view.update({ status: 'error', error: errorMessage(e) });
    }
  };

  const loadTensor = async (tensor: string) => {
    const key = histogramKey(folder, tensor);
    try {
      const r = await host.request(CheckpointsSeries, { path: folder, tensor }, { token: cancel.token, timeoutMs: 600_000 });
      if (!view.isDisposed) view.update({ histograms: { ...view.state.histograms, [key]: asHistograms(r) } });
    } catch (e) {
      if (isCancellation(e) || view.isDisposed) return;
      view.update({ histograms: { ...view.state.histograms, [key]: { error: errorMessage(e) } } });
    }
  };

  void load();
}
