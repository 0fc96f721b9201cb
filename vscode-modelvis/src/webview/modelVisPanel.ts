// The base of every ModelVis webview panel: creates the panel (CSP with a nonce, the theme-aware shared
// CSS, the page's script and stylesheet), routes its messages ({type: 'ready'} asks for the screen again,
// {type: 'request'} is answered from the host, the rest go to the panel), and saves what a view exports.
// A panel that is closed can be opened again; dispose() closes it for good.

import * as vscode from 'vscode';
import { ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { webviewHtml, webviewOptions } from './webviewHtml';

export interface PanelPage {
  viewType: string;
  title: string;
  /** dist/webview/<page>.js, and <styleDir>/<page>.css (media/webview unless styleDir says otherwise). */
  page: string;
  styleDir?: string[];
  column?: vscode.ViewColumn;
  preserveFocus?: boolean;
  /** Keep the page alive while hidden (panels whose webview holds what it drew). */
  retainContextWhenHidden?: boolean;
}

export abstract class ModelVisPanel<ToWebview extends { type: string }, FromWebview extends { type: string }> implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** The page's script has said "ready" (messages before that would be lost; onReady sends the screen). */
  private ready = false;
  private disposed = false;
  protected readonly disposables: vscode.Disposable[] = [];

  constructor(
    protected readonly extensionUri: vscode.Uri,
    private readonly page: PanelPage,
  ) {}

  /** Opens the panel, or brings it forward. */
  protected open(): void {
    if (this.panel) {
      this.panel.reveal(undefined, this.page.preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      this.page.viewType,
      this.page.title,
      { viewColumn: this.page.column ?? vscode.ViewColumn.Active, preserveFocus: this.page.preserveFocus ?? false },
      { ...webviewOptions(this.extensionUri), retainContextWhenHidden: this.page.retainContextWhenHidden },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'modelvis.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { name: this.page.page, title: this.page.title, styleDir: this.page.styleDir });
    panel.webview.onDidReceiveMessage((m: FromWebview | { type: 'ready' } | ViewRequestMessage) => {
      if (!m || typeof m.type !== 'string') return;
      if (m.type === 'ready') {
        this.ready = true;
        this.onReady();
      } else if (m.type === 'request') void this.onRequest(m as ViewRequestMessage).then((r) => this.post(r));
      else void this.onMessage(m as FromWebview);
    });
    panel.onDidDispose(() => {
      if (this.panel !== panel) return;
      this.panel = undefined;
      this.ready = false;
      this.onClosed();
    });
    this.panel = panel;
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** To the page once it is ready (before that, onReady sends what it should show). */
  protected post(message: ToWebview | ViewResponseMessage): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  /** The page (re)loaded: post what it should show. */
  protected abstract onReady(): void;

  /** A message of the page's own (not ready, not a request). */
  protected onMessage(_message: FromWebview): void | Promise<void> {}

  /** A host request of the page's (answerViewRequest); panels without requests refuse them. */
  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return Promise.resolve({ type: 'response', id: m.id, error: `not allowed: ${String(m.method)}` });
  }

  /** The user closed the panel (it can be opened again). */
  protected onClosed(): void {}

  /** Asks where to save a view's export (beside the workspace's first folder) and writes it. */
  protected async saveFile(bytes: Uint8Array, name: string, kind: 'png' | 'json', title: string): Promise<void> {
    const safe = name.replace(/[^\w.-]+/g, '_');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `${safe}.${kind}`) : undefined,
      filters: kind === 'png' ? { 'PNG image': ['png'] } : { JSON: ['json'] },
      title,
    });
    if (!uri) return;
    await vscode.workspace.fs.writeFile(uri, bytes);
    vscode.window.setStatusBarMessage(`ModelVis: saved ${uri.fsPath}`, 4000);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
