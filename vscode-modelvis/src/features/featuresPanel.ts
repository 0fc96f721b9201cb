// The CNN feature-map panel (issue 7): one webview, reused for each picture. It forwards the webview's
// requests to the host with the run's id, and releases the previous run on the host when a new one replaces it.

import * as vscode from 'vscode';
import { errorMessage } from '../common/errors';
import { FEATURE_VIEW_REQUESTS, FeaturesRelease, FeaturesRunResult, viewRequest } from '../common/protocol';
import { PreprocessingParams } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { webviewHtml, webviewOptions } from '../webview/webviewHtml';
import { FromFeaturesWebview, ToFeaturesWebview } from './featuresLogic';

export const FEATURES_VIEW_TYPE = 'modelvis.features';

export class FeaturesPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private queue: ToFeaturesWebview[] = [];
  /** What to show again when the webview reloads. */
  private last: ToFeaturesWebview | undefined;
  private run: FeaturesRunResult | undefined;
  /** Set by the command: the user asked to run again with other preprocessing (null: the model's own). */
  onRerun: ((preprocessing: PreprocessingParams | null) => void) | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {}

  showRunning(image: string, model: string): void {
    this.ensurePanel();
    this.show({ type: 'running', image, model });
  }

  showError(image: string, model: string, message: string): void {
    this.ensurePanel();
    this.show({ type: 'runError', image, model, message });
  }

  setRun(image: string, run: FeaturesRunResult): void {
    const old = this.run;
    this.run = run;
    if (old && old.runId !== run.runId) void this.host.request(FeaturesRelease, { runId: old.runId }).catch(() => undefined);
    this.ensurePanel();
    this.show({ type: 'run', image, run });
  }

  private show(message: ToFeaturesWebview): void {
    this.last = message;
    this.post(message);
  }

  private post(message: ToFeaturesWebview): void {
    if (!this.panel) return;
    if (!this.ready) this.queue.push(message);
    else void this.panel.webview.postMessage(message);
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(FEATURES_VIEW_TYPE, 'CNN Feature Maps', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
      ...webviewOptions(this.extensionUri),
      retainContextWhenHidden: true,
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'modelvis.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { name: 'features', title: 'CNN Feature Maps', styleDir: ['media', 'features'] });
    panel.webview.onDidReceiveMessage((m: FromFeaturesWebview) => this.onMessage(m));
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
      this.queue = [];
      if (this.run) void this.host.request(FeaturesRelease, { runId: this.run.runId }).catch(() => undefined);
      this.run = undefined;
      this.last = undefined;
    });
    this.panel = panel;
  }

  private onMessage(m: FromFeaturesWebview): void {
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        const pending = this.queue;
        this.queue = [];
        // A reloaded webview gets the last screen again, then anything queued since.
        if (this.last && !pending.includes(this.last)) pending.unshift(this.last);
        for (const msg of pending) void this.panel?.webview.postMessage(msg);
        break;
      }
      case 'request':
        void this.forward(m.id, m.method, m.params);
        break;
      case 'rerun':
        this.onRerun?.(m.preprocessing);
        break;
    }
  }

  private async forward(id: number, method: string, params: Record<string, unknown>): Promise<void> {
    const type = viewRequest(FEATURE_VIEW_REQUESTS, method);
    if (!type || !this.run) {
      this.post({ type: 'response', id, error: `unknown request ${method}` });
      return;
    }
    try {
      // The webview's params are checked by the host (-32602 with the reason), as any client's.
      const result = await this.host.request<object, unknown>(type, { ...params, runId: this.run.runId });
      this.post({ type: 'response', id, result });
    } catch (e) {
      this.post({ type: 'response', id, error: errorMessage(e) });
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
