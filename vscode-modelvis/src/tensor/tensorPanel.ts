// The tensor panel: one webview per tensor (revealed when opened again), fed by tensors/inspect
// and tensors/image. The webview (media/webview/tensor.ts) draws whatever state it is sent.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { TensorsImage, TensorsInspect } from '../common/protocol';
import { TensorViewState, TensorWebviewMessage } from '../common/tensorView';
import { HostClient } from '../host/hostClient';
import { StatePanel } from '../webview/statePanel';

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

class TensorPanel extends StatePanel<TensorViewState, TensorWebviewMessage> {
  private cancel = new vscode.CancellationTokenSource();
  private imageCancel = new vscode.CancellationTokenSource();

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
    modelPath: string,
    tensor: string,
    private readonly onDispose: () => void,
  ) {
    super(extensionUri, { viewType: TENSOR_VIEW_TYPE, page: 'tensor', title: shortTitle(tensor) }, {
      modelPath,
      modelName: path.basename(modelPath),
      tensor,
      status: 'loading',
      imageStatus: 'loading',
      reduce: 'maxabs',
    });
    void this.load();
  }

  protected onMessage(message: TensorWebviewMessage): void {
    switch (message.type) {
      case 'setReduce':
        if ((message.reduce === 'maxabs' || message.reduce === 'mean') && message.reduce !== this.state.reduce) {
          this.update({ reduce: message.reduce });
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
          this.host.request(
            TensorsInspect,
            { path: this.state.modelPath, tensor: this.state.tensor, bins: 64 },
            { token, progress },
          ),
      );
      if (token.isCancellationRequested || this.isDisposed) return;
      this.update({ status: 'ready', inspection });
      if (inspection.readable === false) {
        this.update({ imageStatus: 'none' });
        return;
      }
      await this.loadImage();
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
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
      const image = await this.host.request(
        TensorsImage,
        { path: this.state.modelPath, tensor: this.state.tensor, maxSize: 512, reduce: this.state.reduce },
        { token },
      );
      if (token.isCancellationRequested || this.isDisposed) return;
      this.update({ imageStatus: 'ready', image });
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.update({ imageStatus: 'error', imageError: errorMessage(e) });
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.cancel.cancel();
    this.imageCancel.cancel();
    this.onDispose();
    super.dispose();
  }
}

/** "…mlp.down_proj.weight" for a long name: the tab shows the distinctive end. */
function shortTitle(tensor: string): string {
  const parts = tensor.split('.');
  return parts.length > 3 ? `…${parts.slice(-3).join('.')}` : tensor;
}
