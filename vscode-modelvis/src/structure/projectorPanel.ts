// The embedding projector panel (issue 19): a run's model (its token embedding, unembedding, or the run's hidden
// states) as points; the selection's tokens are marked. The page asks the host through the panel, which adds the run.

import * as vscode from 'vscode';
import { AttentionRun, ProjectorViewRequests, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { answerViewRequest } from '../webview/viewRequests';

export type ToProjectorWebview = { type: 'show'; title: string; hasRun: boolean; hiddenStates: number; selection: string };

export class ProjectorPanel extends ModelVisPanel<ToProjectorWebview, { type: string }> {
  private run: AttentionRun | undefined;
  private screen: ToProjectorWebview | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    super(extensionUri, {
      viewType: 'modelvis.projector',
      title: 'Embedding Projector',
      page: 'projector',
      styleDir: ['media', 'projector'],
      column: vscode.ViewColumn.Beside,
      retainContextWhenHidden: true,
    });
  }

  /** Shows the points of `run`'s model, the run's tokens marked. */
  showRun(run: AttentionRun, selection: string): void {
    this.run = run;
    this.screen = { type: 'show', title: `${run.model.name} — ${run.n} selected tokens`, hasRun: true, hiddenStates: run.model.layers + 1, selection };
    this.open();
    this.post(this.screen);
  }

  protected onReady(): void {
    if (this.screen) this.post(this.screen);
  }

  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return answerViewRequest(ProjectorViewRequests, m, this.run?.runId, (type, params) => this.host.request(type, params), (line) => this.host.log(line));
  }
}
