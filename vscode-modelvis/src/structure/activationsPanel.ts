// The activation-function panel (issue 19): each MLP's activation curve over the histogram of its inputs on a run.

import * as vscode from 'vscode';
import { ActivationsViewRequests, AttentionRun, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { answerViewRequest } from '../webview/viewRequests';

export class ActivationsPanel extends ModelVisPanel<{ type: 'show'; title: string }, { type: string }> {
  private run: AttentionRun | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    super(extensionUri, {
      viewType: 'modelvis.activations',
      title: 'Activation Functions',
      page: 'activations',
      styleDir: ['media', 'activations'],
      column: vscode.ViewColumn.Beside,
      retainContextWhenHidden: true,
    });
  }

  showRun(run: AttentionRun): void {
    this.run = run;
    this.open();
    this.onReady();
  }

  protected onReady(): void {
    if (this.run) this.post({ type: 'show', title: `${this.run.model.name} — ${this.run.n} tokens` });
  }

  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return answerViewRequest(ActivationsViewRequests, m, this.run?.runId, (type, params) => this.host.request(type, params), (line) => this.host.log(line));
  }
}
