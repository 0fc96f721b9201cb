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
  new ComparePanel(extensionUri, host, a, b);
}

class ComparePanel extends StatePanel<CompareViewState, CompareWebviewMessage> {
  private readonly cancel = new vscode.CancellationTokenSource();

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
    private readonly a: string,
    private readonly b: string,
  ) {
    super(extensionUri, { viewType: COMPARE_VIEW_TYPE, page: 'compare', title: `Compare: ${path.basename(a)} ↔ ${path.basename(b)}`, styleDir: ['dist', 'webview'] }, { status: 'loading', a, b });
    void this.load();
  }

  protected onMessage(m: CompareWebviewMessage): void {
    if (m.type === 'reload') void this.load();
    else if (m.type === 'select' && typeof m.tensor === 'string') void this.select(m.tensor);
  }

  private async load(): Promise<void> {
    this.update({ status: 'loading', error: undefined, result: undefined, selected: undefined, diff: undefined });
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'ModelVis: comparing checkpoints' }, () =>
        this.host.request(CheckpointsCompare, { a: this.a, b: this.b }, { token: this.cancel.token, timeoutMs: 600_000 }),
      );
      if (this.isDisposed) return;
      this.update({ status: 'ready', result });
      if (result.tensors.length > 0) await this.select(result.tensors[0].name);
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.update({ status: 'error', error: errorMessage(e) });
    }
  }

  private async select(tensor: string): Promise<void> {
    this.update({ selected: tensor, diffStatus: 'loading', diff: undefined, diffError: undefined });
    try {
      const diff = await this.host.request(CheckpointsDiff, { a: this.a, b: this.b, tensor, bins: 64, maxSize: 384 }, { token: this.cancel.token });
      if (this.isDisposed || this.state.selected !== tensor) return;
      this.update({ diffStatus: 'ready', diff });
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.update({ diffStatus: 'error', diffError: errorMessage(e) });
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.cancel.cancel();
    super.dispose();
  }
}
