// The attention panel (one webview beside the editor) and the run it shows. The webview asks for
// data through {type: 'request'} messages, forwarded to the host with the run's id; the host's
// attention/layerDone notifications are passed on so layers are enabled as they arrive.

import * as vscode from 'vscode';
import { errorMessage } from '../common/errors';
import { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionMatrixRequest, AttentionRelease, AttentionRun, AttributionRun, CircuitsPatch, HeadChoice, LayerDone, viewRequest } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { webviewHtml, webviewOptions } from '../webview/webviewHtml';
import { axesOf, decodeFloat32, FromAttentionWebview, matrixJson, ToAttentionWebview } from './attentionLogic';

export const ATTENTION_VIEW_TYPE = 'modelvis.attention';

export interface RunContext {
  run: AttentionRun;
  text: string;
  /** The document and the offset of the text's first character in it. */
  uri: vscode.Uri;
  baseOffset: number;
  layersDone: number;
}

export class AttentionPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private current: RunContext | undefined;
  private pending: ToAttentionWebview | undefined;
  layer = 0;
  head: HeadChoice = 0;
  /** An encoder-decoder run's attention shown (the panel's choice); undefined for self-attention runs. */
  kind: AttentionKind | undefined;
  private readonly selectionChanged = new vscode.EventEmitter<{ layer: number; head: HeadChoice }>();
  /** Layer or head chosen in the panel (or by the status bar). */
  readonly onDidChangeSelection = this.selectionChanged.event;
  private readonly neuronPainted = new vscode.EventEmitter<{ layer: number; neuron: number; activations: number[] }>();
  readonly onDidPaintNeuron = this.neuronPainted.event;
  private readonly attributionPainted = new vscode.EventEmitter<number[] | null>();
  /** Signed per-token attribution scores to paint on the selection (null: back to the cursor's attention). */
  readonly onDidPaintAttribution = this.attributionPainted.event;
  private readonly alignmentPainted = new vscode.EventEmitter<{ target: number; weights: number[] | null }>();
  /** A target token's cross-attention over the source, to paint on the selection (null: back to the cursor's attention). */
  readonly onDidPaintAlignment = this.alignmentPainted.event;
  private readonly retargeted = new vscode.EventEmitter<{ ctx: RunContext; target: string }>();
  /** The user asked for the run again with another target (an encoder-decoder's decoder text; empty = the model's own). */
  readonly onDidRequestTarget = this.retargeted.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly doneByRun = new Map<string, number>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    this.disposables.push(
      host.onNotification(LayerDone, (params) => {
        // Notifications may overtake the run's answer: remember them per run.
        this.doneByRun.set(params.runId, Math.max(this.doneByRun.get(params.runId) ?? 0, params.layer + 1));
        if (!this.current || params.runId !== this.current.run.runId) return;
        this.current.layersDone = Math.max(this.current.layersDone, params.layer + 1);
        this.post({ type: 'layerDone', runId: params.runId, layer: params.layer, layers: params.layers });
      }),
    );
  }

  get context(): RunContext | undefined {
    return this.current;
  }

  /** Opens (or reveals) the panel showing "running…". */
  showRunning(text: string, model: string): void {
    this.ensurePanel();
    this.post({ type: 'running', text, model });
  }

  showError(message: string): void {
    this.ensurePanel();
    this.post({ type: 'runError', message });
  }

  /** A new run: the previous one is released on the host. */
  setRun(ctx: RunContext): void {
    const old = this.current;
    ctx.layersDone = Math.max(ctx.layersDone, this.doneByRun.get(ctx.run.runId) ?? 0);
    this.current = ctx;
    this.layer = Math.min(this.layer, ctx.run.model.layers - 1);
    if (typeof this.head === 'number' && this.head >= ctx.run.model.heads) this.head = 0;
    this.kind = ctx.run.target ? (this.kind ?? 'cross') : undefined;
    if (old) this.doneByRun.delete(old.run.runId);
    if (old && old.run.runId !== ctx.run.runId) void this.host.request(AttentionRelease, { runId: old.run.runId }).catch(() => undefined);
    this.ensurePanel();
    this.postRun();
    this.selectionChanged.fire({ layer: this.layer, head: this.head });
  }

  /** Layer/head chosen outside the webview (status bar): the webview follows. */
  select(layer: number, head: HeadChoice): void {
    this.layer = layer;
    this.head = head;
    this.post({ type: 'select', layer, head });
    this.selectionChanged.fire({ layer, head });
  }

  private postRun(): void {
    const c = this.current;
    if (c) this.post({ type: 'run', run: c.run, layersDone: c.layersDone, text: c.text, layer: this.layer, head: this.head, kind: this.kind });
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(ATTENTION_VIEW_TYPE, 'Attention', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      ...webviewOptions(this.extensionUri),
      retainContextWhenHidden: true,
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'modelvis.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { name: 'attention', title: 'Attention', styleDir: ['media', 'attention'] });
    panel.webview.onDidReceiveMessage((m: FromAttentionWebview) => void this.onMessage(m));
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    this.panel = panel;
  }

  private post(message: ToAttentionWebview): void {
    if (!this.panel) return;
    if (message.type !== 'response') this.pending = message.type === 'layerDone' || message.type === 'select' ? this.pending : message;
    void this.panel.webview.postMessage(message);
  }

  private async onMessage(m: FromAttentionWebview): Promise<void> {
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'ready':
        // (Re)loaded webview: send what it should show.
        if (this.current && this.pending?.type !== 'running' && this.pending?.type !== 'runError') this.postRun();
        else if (this.pending) void this.panel?.webview.postMessage(this.pending);
        break;
      case 'request':
        await this.forward(m.id, m.method, m.params);
        break;
      case 'select':
        if (typeof m.layer === 'number' && (typeof m.head === 'number' || m.head === 'mean' || m.head === 'max')) {
          this.layer = m.layer;
          this.head = m.head;
          if (this.current?.run.target && (m.kind === 'encoder' || m.kind === 'decoder' || m.kind === 'cross')) this.kind = m.kind;
          this.selectionChanged.fire({ layer: m.layer, head: m.head });
        }
        break;
      case 'savePng':
        await this.savePng(m.png, m.name);
        break;
      case 'saveJson':
        if ('json' in m) await this.writeJson(m.json, m.name, 'Save view as JSON');
        else await this.saveAttentionJson(m.layer, m.head, m.kind);
        break;
      case 'paintNeuron':
        this.neuronPainted.fire({ layer: m.layer, neuron: m.neuron, activations: m.activations });
        break;
      case 'paintAttribution':
        if (m.scores === null || (Array.isArray(m.scores) && m.scores.length === this.current?.run.n)) this.attributionPainted.fire(m.scores);
        break;
      case 'paintAlignment':
        if (this.current?.run.target && (m.weights === null || Array.isArray(m.weights))) this.alignmentPainted.fire({ target: m.target, weights: m.weights });
        break;
      case 'retarget':
        if (this.current?.run.target && typeof m.target === 'string') this.retargeted.fire({ ctx: this.current, target: m.target });
        break;
    }
  }

  private async forward(id: number, method: string, params: Record<string, unknown>): Promise<void> {
    const c = this.current;
    if (!c) return;
    const type = viewRequest(ATTENTION_VIEW_REQUESTS, method);
    if (!type) {
      void this.panel?.webview.postMessage({ type: 'response', id, error: `not allowed: ${method}` });
      return;
    }
    try {
      // The webview's params are checked by the host (-32602 with the reason), as any client's.
      const send = { ...params, runId: c.run.runId };
      // Patching is L·n + L·H forward passes, integrated gradients and occlusion one pass per step or token: show the
      // host's progress, and let the user cancel them.
      const long = type === CircuitsPatch ? 'activation patching'
        : type === AttributionRun && (params.method === 'ig' || params.method === 'occlusion') ? (params.method === 'ig' ? 'integrated gradients' : 'occlusion')
        : undefined;
      const result = long
        ? await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `ModelVis: ${long}`, cancellable: true },
            (progress, token) => this.host.request<object, unknown>(type, send, { timeoutMs: 600_000, progress, token }),
          )
        : await this.host.request<object, unknown>(type, send, { timeoutMs: 300_000 });
      void this.panel?.webview.postMessage({ type: 'response', id, result });
    } catch (e) {
      this.host.log(`${method} → ${errorMessage(e)}`);
      void this.panel?.webview.postMessage({ type: 'response', id, error: errorMessage(e) });
    }
  }

  private defaultUri(name: string): vscode.Uri | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    return folder ? vscode.Uri.joinPath(folder, name) : undefined;
  }

  private async savePng(png: string, name: string): Promise<void> {
    const safe = name.replace(/[^\w.-]+/g, '_');
    const uri = await vscode.window.showSaveDialog({ defaultUri: this.defaultUri(`${safe}.png`), filters: { 'PNG image': ['png'] }, title: 'Save PNG' });
    if (!uri) return;
    await vscode.workspace.fs.writeFile(uri, Buffer.from(png, 'base64'));
    vscode.window.setStatusBarMessage(`ModelVis: saved ${uri.fsPath}`, 4000);
  }

  private async saveAttentionJson(layer: number, head: HeadChoice, kind?: AttentionKind): Promise<void> {
    const c = this.current;
    if (!c) return;
    const k = c.run.target ? axesOf(c.run, kind).kind : undefined;
    try {
      const r = await this.host.request(AttentionMatrixRequest, { runId: c.run.runId, layer, head, ...(k ? { kind: k } : {}) });
      if (!r.values) {
        void vscode.window.showWarningMessage(`ModelVis: the matrix of ${r.n} tokens is too large for JSON export (at most 512).`);
        return;
      }
      await this.writeJson(matrixJson(c.run, layer, head, decodeFloat32(r.values), c.text, k), `attention-${c.run.model.name}${k ? `-${k}` : ''}-L${layer}-H${head}`, 'Save attention as JSON');
    } catch (e) {
      this.host.showError(e);
    }
  }

  private async writeJson(json: unknown, name: string, title: string): Promise<void> {
    const safe = String(name).replace(/[^\w.-]+/g, '_');
    const uri = await vscode.window.showSaveDialog({ defaultUri: this.defaultUri(`${safe}.json`), filters: { JSON: ['json'] }, title });
    if (!uri) return;
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(json), 'utf8'));
    vscode.window.setStatusBarMessage(`ModelVis: saved ${uri.fsPath}`, 4000);
  }

  dispose(): void {
    const c = this.current;
    if (c) void this.host.request(AttentionRelease, { runId: c.run.runId }).catch(() => undefined);
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
    this.selectionChanged.dispose();
    this.neuronPainted.dispose();
    this.alignmentPainted.dispose();
    this.attributionPainted.dispose();
    this.retargeted.dispose();
  }
}
