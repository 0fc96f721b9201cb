// The model graph panel (issue 19): an ONNX file's operator graph or a language model's block diagram. The host
// builds the graph once (graph/model); the page lays it out and draws it; a tensor clicked there opens in the
// tensor panel.

import * as vscode from 'vscode';
import { GraphModel, ModelGraph } from '../common/protocol';
import { errorMessage } from '../common/errors';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';

type ToGraphWebview = { type: 'graph'; graph: ModelGraph } | { type: 'error'; message: string };
type FromGraphWebview = { type: 'openTensor'; path: string; tensor: string };

export class GraphPanel extends ModelVisPanel<ToGraphWebview, FromGraphWebview> {
  private screen: ToGraphWebview | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    super(extensionUri, {
      viewType: 'modelvis.graph',
      title: 'Model Graph',
      page: 'graph',
      styleDir: ['media', 'graph'],
      column: vscode.ViewColumn.Active,
      retainContextWhenHidden: true,
    });
  }

  async showModel(modelPath: string): Promise<void> {
    const name = modelPath.split(/[\\/]/).filter(Boolean).pop() ?? modelPath;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ModelVis: graph of ${name}` }, async () => {
      try {
        this.screen = { type: 'graph', graph: await this.host.request(GraphModel, { model: modelPath }) };
      } catch (e) {
        this.screen = { type: 'error', message: `${name}: ${errorMessage(e)}` };
      }
    });
    this.open();
    this.onReady();
  }

  protected onReady(): void {
    if (this.screen) this.post(this.screen);
  }

  protected onMessage(m: FromGraphWebview): void {
    if (m.type === 'openTensor' && typeof m.path === 'string' && typeof m.tensor === 'string')
      void vscode.commands.executeCommand('modelvis.openTensor', { modelPath: m.path, tensor: m.tensor });
  }
}
