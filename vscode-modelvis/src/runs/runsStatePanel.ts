// The runs webview's panels (runs and checkpoint series) share how they load a histogram series and how they stop
// their requests when closed.
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { RunHistogramsResult } from '../common/protocol';
import { RunsViewState, RunsWebviewMessage } from '../common/runsView';
import { StatePanel } from '../webview/statePanel';

export abstract class RunsStatePanel extends StatePanel<RunsViewState, RunsWebviewMessage> {
  /** Every request of the panel carries this token; closing the panel cancels it. */
  protected cancel = new vscode.CancellationTokenSource();

  /** One histogram series into the state under `key`, or its error in its place. */
  protected async loadHistogramInto(key: string, fetch: (token: vscode.CancellationToken) => Promise<RunHistogramsResult>): Promise<void> {
    try {
      const res = await fetch(this.cancel.token);
      if (!this.isDisposed) this.update({ histograms: { ...this.state.histograms, [key]: res } });
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.update({ histograms: { ...this.state.histograms, [key]: { error: errorMessage(e) } } });
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.cancel.cancel();
    super.dispose();
  }
}
