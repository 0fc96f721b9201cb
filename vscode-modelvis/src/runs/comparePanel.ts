// Two checkpoints compared: checkpoints/compare gives the sorted table; choosing a tensor asks
// checkpoints/diff for the heatmap of A−B and the two histograms overlaid.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { CheckpointsCompare, CheckpointsDiff } from '../common/protocol';
import { CompareViewState, CompareWebviewMessage } from '../common/runsView';
import { HostClient } from '../host/hostClient';
import { StatePanel } from '../webview/statePanel';

export const COMPARE_VIEW_TYPE = 'modelvis.compare';

export function openComparePanel(extensionUri: vscode.Uri, host: HostClient, a: string, b: string): void {
  const view: StatePanel<CompareViewState, CompareWebviewMessage> = new StatePanel(
    extensionUri,
    { viewType: COMPARE_VIEW_TYPE, page: 'compare', title: `Compare: ${path.basename(a)} ↔ ${path.basename(b)}`, styleDir: ['dist', 'webview'] },
    { status: 'loading', a, b },
    (m) => {
      if (m.type === 'reload') void load();
      else if (m.type === 'select' && typeof m.tensor === 'string') void select(m.tensor);
    },
  );
  const cancel = new vscode.CancellationTokenSource();
  view.onDidDispose(() => cancel.cancel());

  const load = async () => {
    view.update({ status: 'loading', error: undefined, result: undefined, selected: undefined, diff: undefined });
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'ModelVis: comparing checkpoints' }, () =>
        host.request(CheckpointsCompare, { a, b }, { token: cancel.token, timeoutMs: 600_000 }),
      );
      if (view.isDisposed) return;
      view.update({ status: 'ready', result });
      if (result.tensors.length > 0) await select(result.tensors[0].name);
    } catch (e) {
      if (isCancellation(e) || view.isDisposed) return;
      view.update({ status: 'error', error: errorMessage(e) });
    }
  };

  const select = async (tensor: string) => {
    view.update({ selected: tensor, diffStatus: 'loading', diff: undefined, diffError: undefined });
    try {
      const diff = await host.request(CheckpointsDiff, { a, b, tensor, bins: 64, maxSize: 384 }, { token: cancel.token });
      if (view.isDisposed || view.state.selected !== tensor) return;
      view.update({ diffStatus: 'ready', diff });
    } catch (e) {
      if (isCancellation(e) || view.isDisposed) return;
      view.update({ diffStatus: 'error', diffError: errorMessage(e) });
    }
  };

  void load();
}
