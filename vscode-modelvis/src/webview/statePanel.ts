// A webview panel that shows one state object: the extension keeps the state and posts it as
// {type: 'state', state} whenever it changes and whenever the webview (re)loads and says
// {type: 'ready'}. Every ModelVis panel (tensor now; attention, hidden states later) builds on it.

import * as vscode from 'vscode';
import { webviewHtml, webviewOptions } from './webviewHtml';

export interface StatePanelOptions {
  viewType: string;
  /** dist/webview/<page>.js and media/webview/<page>.css */
  page: string;
  title: string;
  column?: vscode.ViewColumn;
  /** The folder of <page>.css when it is not media/webview (e.g. ['dist', 'webview'] for a stylesheet esbuild bundles). */
  styleDir?: string[];
}

export class StatePanel<S extends object, M extends { type: string }> implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private current: S;
  private disposed = false;
  private readonly disposeHandlers: Array<() => void> = [];

  constructor(
    extensionUri: vscode.Uri,
    options: StatePanelOptions,
    initial: S,
    private readonly onMessage: (message: M) => void,
  ) {
    this.current = initial;
    this.panel = vscode.window.createWebviewPanel(options.viewType, options.title, options.column ?? vscode.ViewColumn.Active, webviewOptions(extensionUri));
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'modelvis.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, { name: options.page, title: options.title, styleDir: options.styleDir });
    this.panel.webview.onDidReceiveMessage((m: M | { type: 'ready' }) => {
      if (!m || typeof m.type !== 'string') return;
      if (m.type === 'ready') this.post();
      else this.onMessage(m as M);
    });
    this.panel.onDidDispose(() => this.dispose());
  }

  get state(): S {
    return this.current;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  update(patch: Partial<S>): void {
    this.current = { ...this.current, ...patch };
    this.post();
  }

  reveal(): void {
    this.panel.reveal();
  }

  onDidDispose(handler: () => void): void {
    this.disposeHandlers.push(handler);
  }

  private post(): void {
    if (!this.disposed) void this.panel.webview.postMessage({ type: 'state', state: this.current });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const h of this.disposeHandlers) h();
    this.panel.dispose();
  }
}
