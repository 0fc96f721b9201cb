// The attention panel (one webview beside the editor) and the run it shows. The webview asks for
// data through {type: 'request'} messages, answered from the host with the run's id; the host's
// attention/layerDone notifications are passed on so layers are enabled as they arrive.

import * as vscode from 'vscode';
import { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionMatrixRequest, AttentionRelease, AttentionRun, AttributionRun, CircuitsPatch, HeadChoice, LayerDone, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { answerViewRequest } from '../webview/viewRequests';
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

export class AttentionPanel extends ModelVisPanel<ToAttentionWebview, FromAttentionWebview> {
  private current: RunContext | undefined;
  /** The last screen posted (running, an error, a run): what a reloaded page is sent. */
  private screen: ToAttentionWebview | undefined;
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
  private readonly retried = new vscode.EventEmitter<unknown>();
  /** Retry after a failed run: the request showError was given. */
  readonly onDidRequestRetry = this.retried.event;
  private retryRequest: unknown;
  private readonly rerunRequested = new vscode.EventEmitter<RunContext>();
  /** The user asked for the lost run again (the host restarted). */
  readonly onDidRequestRerun = this.rerunRequested.event;
  /** The run the host lost when it restarted, kept to run again. */
  private lost: RunContext | undefined;
  private readonly doneByRun = new Map<string, number>();

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    super(extensionUri, {
      viewType: ATTENTION_VIEW_TYPE,
      title: 'Attention',
      page: 'attention',
      styleDir: ['media', 'attention'],
      column: vscode.ViewColumn.Beside,
      preserveFocus: true,
      retainContextWhenHidden: true,
    });
    this.disposables.push(
      this.selectionChanged,
      this.neuronPainted,
      this.attributionPainted,
      this.alignmentPainted,
      this.retargeted,
      this.retried,
      this.rerunRequested,
      host.onDidRestart(() => {
        const c = this.current;
        if (!c || !this.isOpen) return;
        this.lost = c;
        this.current = undefined;
        this.doneByRun.clear();
        this.show({
          type: 'runGone',
          message: `The ModelVis host restarted, so this panel's run of ${c.run.model.name} on ${c.run.n} tokens is gone. Run it again to see it.`,
        });
      }),
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
    this.show({ type: 'running', text, model });
  }

  /** The run failed: the panel shows why, with Retry (the request given back by onDidRequestRetry) and, where a setting is at fault, Open Settings. */
  showError(message: string, retry?: unknown, setting?: string): void {
    this.retryRequest = retry;
    this.show({ type: 'runError', message, retry: retry !== undefined, setting });
  }

  /** Forgets the run shown (released on the host): nothing of it is shown again or answered for. */
  clearRun(): void {
    const old = this.current;
    this.current = undefined;
    if (old) {
      this.doneByRun.delete(old.run.runId);
      void this.host.request(AttentionRelease, { runId: old.run.runId }).catch(() => undefined);
    }
  }

  /** A new run: the previous one is released on the host. */
  setRun(ctx: RunContext): void {
    this.lost = undefined;
    const old = this.current;
    ctx.layersDone = Math.max(ctx.layersDone, this.doneByRun.get(ctx.run.runId) ?? 0);
    this.current = ctx;
    this.layer = Math.min(this.layer, ctx.run.model.layers - 1);
    if (typeof this.head === 'number' && this.head >= ctx.run.model.heads) this.head = 0;
    this.kind = ctx.run.target ? (this.kind ?? 'cross') : undefined;
    if (old) this.doneByRun.delete(old.run.runId);
    if (old && old.run.runId !== ctx.run.runId) void this.host.request(AttentionRelease, { runId: old.run.runId }).catch(() => undefined);
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

  private postRun(reveal = true): void {
    const c = this.current;
    if (c) this.show({ type: 'run', run: c.run, layersDone: c.layersDone, text: c.text, layer: this.layer, head: this.head, kind: this.kind }, reveal);
  }

  /** Shows a screen, bringing the panel forward unless it is only being sent again to a page that (re)loaded. */
  private show(screen: ToAttentionWebview, reveal = true): void {
    if (reveal) this.open();
    this.screen = screen;
    this.post(screen);
  }

  protected onReady(): void {
    // A run is sent with the layers done by now; running and errors as they were. Not brought forward: a panel
    // opened meanwhile beside it (the projector of the same run) stays in front.
    if (this.current && this.screen?.type === 'run') this.postRun(false);
    else if (this.screen) this.post(this.screen);
  }

  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return answerViewRequest(
      ATTENTION_VIEW_REQUESTS,
      m,
      this.current?.run.runId,
      (type, params) => {
        // Patching is L·n + L·H forward passes, integrated gradients and occlusion one pass per step or token: show the
        // host's progress, and let the user cancel them.
        const long = type === CircuitsPatch ? 'activation patching'
          : type === AttributionRun && params.method === 'ig' ? 'integrated gradients'
          : type === AttributionRun && params.method === 'occlusion' ? 'occlusion'
          : undefined;
        return long
          ? vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ModelVis: ${long}`, cancellable: true }, (progress, token) =>
              this.host.request(type, params, { timeoutMs: 600_000, progress, token }),
            )
          : this.host.request(type, params, { timeoutMs: 300_000 });
      },
      (line) => this.host.log(line),
    );
  }

  protected async onMessage(m: FromAttentionWebview): Promise<void> {
    switch (m.type) {
      case 'select':
        if (typeof m.layer === 'number' && (typeof m.head === 'number' || m.head === 'mean' || m.head === 'max')) {
          this.layer = m.layer;
          this.head = m.head;
          if (this.current?.run.target && (m.kind === 'encoder' || m.kind === 'decoder' || m.kind === 'cross')) this.kind = m.kind;
          this.selectionChanged.fire({ layer: m.layer, head: m.head });
        }
        break;
      case 'saveJson':
        if ('json' in m) await this.saveFile(Buffer.from(JSON.stringify(m.json), 'utf8'), String(m.name), 'json', 'Save view as JSON');
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
      case 'retry':
        if (this.retryRequest !== undefined) this.retried.fire(this.retryRequest);
        break;
      case 'openSettings':
        if (m.setting === 'modelvis.model') void vscode.commands.executeCommand('workbench.action.openSettings', m.setting);
        break;
      case 'rerun':
        if (this.lost) this.rerunRequested.fire(this.lost);
        break;
      case 'retarget':
        if (this.current?.run.target && typeof m.target === 'string') this.retargeted.fire({ ctx: this.current, target: m.target });
        break;
    }
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
      const json = matrixJson(c.run, layer, head, decodeFloat32(r.values), c.text, k);
      await this.saveFile(Buffer.from(JSON.stringify(json), 'utf8'), `attention-${c.run.model.name}${k ? `-${k}` : ''}-L${layer}-H${head}`, 'json', 'Save attention as JSON');
    } catch (e) {
      this.host.showError(e);
    }
  }

  dispose(): void {
    const c = this.current;
    if (c) void this.host.request(AttentionRelease, { runId: c.run.runId }).catch(() => undefined);
    super.dispose();
  }
}
