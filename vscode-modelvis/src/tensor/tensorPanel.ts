// The tensor panel: one webview per tensor (revealed when opened again), fed by tensors/inspect
// and tensors/image.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { TensorImage, TensorInspection } from '../common/protocol';
import { TensorViewState, TensorWebviewMessage } from '../common/tensorView';
import { HostClient } from '../host/hostClient';
import { webviewHtml, webviewOptions } from '../webview/webviewHtml';

export const TENSOR_VIEW_TYPE = 'modelvis.tensor';

export class TensorPanels implements vscode.Disposable {
  private readonly panels = new Map<string, TensorPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {}

  open(modelPath: string, tensor: string): void {
    const key = `${modelPath}\n${tensor}`;
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      return;
    }
    const panel = new TensorPanel(this.extensionUri, this.host, modelPath, tensor, () => this.panels.delete(key));
    this.panels.set(key, panel);
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
  }
}

class TensorPanel {
  private readonly panel: vscode.WebviewPanel;
  private state: TensorViewState;
  private cancel = new vscode.CancellationTokenSource();
  private imageCancel = new vscode.CancellationTokenSource();
  private disposed = false;

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
    modelPath: string,
    tensor: string,
    private readonly onDispose: () => void,
  ) {
    this.state = {
      modelPath,
      modelName: path.basename(modelPath),
      tensor,
      status: 'loading',
      imageStatus: 'loading',
      reduce: 'maxabs',
    };
    this.panel = vscode.window.createWebviewPanel(TENSOR_VIEW_TYPE, shortTitle(tensor), vscode.ViewColumn.Active, webviewOptions(extensionUri));
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'modelvis.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, { name: 'tensor', title: tensor });
    this.panel.webview.onDidReceiveMessage((m: TensorWebviewMessage) => this.onMessage(m));
    this.panel.onDidDispose(() => this.dispose());
    void this.load();
  }

  reveal(): void {
    this.panel.reveal();
  }

  private onMessage(message: TensorWebviewMessage): void {
    switch (message?.type) {
      case 'ready':
        this.post(); // also after the webview was hidden and rebuilt
        break;
      case 'setReduce':
        if ((message.reduce === 'maxabs' || message.reduce === 'mean') && message.reduce !== this.state.reduce) {
          this.state.reduce = message.reduce;
          void this.loadImage();
        }
        break;
      case 'reload':
        void this.load();
        break;
    }
  }

  private async load(): Promise<void> {
    this.cancel.cancel();
    this.cancel.dispose();
    this.cancel = new vscode.CancellationTokenSource();
    const token = this.cancel.token;
    this.update({ status: 'loading', error: undefined, inspection: undefined, imageStatus: 'loading', image: undefined, imageError: undefined });
    try {
      const inspection = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `ModelVis: reading ${this.state.tensor}` },
        (progress) =>
          this.host.request<TensorInspection>(
            'tensors/inspect',
            { path: this.state.modelPath, tensor: this.state.tensor, bins: 64 },
            { token, progress },
          ),
      );
      if (token.isCancellationRequested || this.disposed) return;
      this.update({ status: 'ready', inspection });
      if (inspection.readable === false) {
        this.update({ imageStatus: 'none' });
        return;
      }
      await this.loadImage();
    } catch (e) {
      if (isCancellation(e) || this.disposed) return;
      this.host.log(`tensors/inspect ${this.state.tensor}: ${errorMessage(e)}`);
      this.update({ status: 'error', error: errorMessage(e), imageStatus: 'none' });
    }
  }

  private async loadImage(): Promise<void> {
    this.imageCancel.cancel();
    this.imageCancel.dispose();
    this.imageCancel = new vscode.CancellationTokenSource();
    const token = this.imageCancel.token;
    this.update({ imageStatus: 'loading', imageError: undefined });
    try {
      const image = await this.host.request<TensorImage>(
        'tensors/image',
        { path: this.state.modelPath, tensor: this.state.tensor, maxSize: 512, reduce: this.state.reduce },
        { token },
      );
      if (token.isCancellationRequested || this.disposed) return;
      this.update({ imageStatus: 'ready', image });
    } catch (e) {
      if (isCancellation(e) || this.disposed) return;
      this.update({ imageStatus: 'error', imageError: errorMessage(e) });
    }
  }

  private update(patch: Partial<TensorViewState>): void {
    this.state = { ...this.state, ...patch };
    this.post();
  }

  private post(): void {
    if (!this.disposed) void this.panel.webview.postMessage({ type: 'state', state: this.state });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancel.cancel();
    this.imageCancel.cancel();
    this.onDispose();
    this.panel.dispose();
  }
}

/** "…mlp.down_proj.weight" for a long name: the tab shows the distinctive end. */
function shortTitle(tensor: string): string {
  const parts = tensor.split('.');
  return parts.length > 3 ? `…${parts.slice(-3).join('.')}` : tensor;
}
