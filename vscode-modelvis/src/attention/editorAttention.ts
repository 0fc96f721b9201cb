// The run painted in the editor: the token under the cursor shades the others by how much it attends
// to them (chosen layer/head), a status-bar item shows and cycles the head, a hover shows a token's
// top-5 keys and its row across layers. Editing the document clears its colours. For an encoder-decoder
// the selection is the source: the cursor shows the encoder's attention, and hovering a target token in
// the panel paints its cross-attention (its alignment) over the source.

import * as vscode from 'vscode';
import { escapeHtml } from '../common/html';
import { AttentionKind, AttentionMatrixRequest, AttentionRow, AttentionRowRequest, HeadChoice } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { AttentionPanel, RunContext } from './attentionPanel';
import { SIGNED_BUCKETS, signedBuckets } from './attributionLogic';
import {
  axesOf,
  bucketRow,
  decodeFloat32,
  headName,
  layerFor,
  nextHead,
  statusText,
  tokenAtOffset,
  tokenLabel,
} from './attentionLogic';

const BUCKETS = 5;
const CONTEXT_KEY = 'modelvis.attentionActive';

export class EditorAttention implements vscode.Disposable {
  private readonly bucketTypes: vscode.TextEditorDecorationType[];
  private readonly queryType: vscode.TextEditorDecorationType;
  /** Signed attribution: [positive buckets, negative buckets], each in its own theme colour. */
  private readonly signedTypes: [vscode.TextEditorDecorationType[], vscode.TextEditorDecorationType[]];
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  /** The run painted in the editor (cleared by Escape, the command or an edit). */
  private active: RunContext | undefined;
  private readonly matrices = new Map<string, Float32Array | null>();
  private paintSeq = 0;
  /** Neuron or alignment mode: the editor shows these weights over the tokens (a neuron's activations, a target token's cross-attention) instead of the cursor's attention. */
  private neuron: { activations: number[] } | undefined;
  /** Attribution mode: these signed per-token scores, in two colours (the attribution tab's result). */
  private attribution: number[] | undefined;

  constructor(
    private readonly host: HostClient,
    private readonly panel: AttentionPanel,
  ) {
    this.bucketTypes = Array.from({ length: BUCKETS }, (_, b) =>
      vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor(`modelvis.attentionWeight${b + 1}`),
        borderRadius: '2px',
      }),
    );
    this.queryType = vscode.window.createTextEditorDecorationType({
      border: '1px solid',
      borderColor: new vscode.ThemeColor('focusBorder'),
      borderRadius: '2px',
    });
    const signed = (sign: 'Positive' | 'Negative') =>
      Array.from({ length: SIGNED_BUCKETS }, (_, b) =>
        vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor(`modelvis.attribution${sign}${b + 1}`), borderRadius: '2px' }),
      );
    this.signedTypes = [signed('Positive'), signed('Negative')];
    this.status = vscode.window.createStatusBarItem('modelvis.attention', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'ModelVis attention';
    this.status.command = 'modelvis.cycleAttentionHead';
    this.status.tooltip = 'ModelVis attention: click to show the next head';
    this.disposables.push(
      ...this.bucketTypes,
      ...this.signedTypes.flat(),
      this.queryType,
      this.status,
      panel.onDidChangeSelection(() => {
        this.updateStatus();
        void this.paint();
      }),
      panel.onDidPaintNeuron((n) => {
        // Activate first: activating a run that is not painted (after Clear) resets the neuron mode.
        if (this.panel.context) this.activate(this.panel.context);
        this.neuron = n;
        void this.paint();
      }),
      panel.onDidPaintAttribution((scores) => {
        if (this.panel.context) this.activate(this.panel.context);
        this.attribution = scores ?? undefined;
        void this.paint();
      }),
      panel.onDidPaintAlignment((a) => {
        if (this.panel.context) this.activate(this.panel.context);
        this.neuron = a.weights ? { activations: a.weights } : undefined;
        void this.paint();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (this.active && e.textEditor.document.uri.toString() === this.active.uri.toString() && !this.neuron && !this.attribution) void this.paint();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => void this.paint()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.active && e.contentChanges.length > 0 && e.document.uri.toString() === this.active.uri.toString()) this.clear();
      }),
    );
  }

  /** A new run: paint it. */
  activate(ctx: RunContext): void {
    if (this.active?.run.runId !== ctx.run.runId) {
      this.matrices.clear();
      this.neuron = undefined;
      this.attribution = undefined;
    }
    this.active = ctx;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, true);
    this.updateStatus();
    void this.paint();
  }

  clear(): void {
    this.active = undefined;
    this.neuron = undefined;
    this.attribution = undefined;
    this.paintSeq++;
    for (const editor of vscode.window.visibleTextEditors) {
      for (const t of [...this.bucketTypes, ...this.signedTypes.flat()]) editor.setDecorations(t, []);
      editor.setDecorations(this.queryType, []);
    }
    this.status.hide();
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, false);
  }

  cycleHead(): void {
    const ctx = this.panel.context;
    if (!ctx) return;
    this.panel.select(this.panel.layer, nextHead(this.panel.head, ctx.run.model.heads));
  }

  private updateStatus(): void {
    const ctx = this.active;
    if (!ctx) return;
    this.status.text = `$(eye) ${statusText(ctx.run.model.name, this.panel.layer, this.panel.head)}`;
    this.status.show();
  }

  private tokenRange(doc: vscode.TextDocument, ctx: RunContext, i: number): vscode.Range | undefined {
    const t = ctx.run.tokens[i];
    if (!t || t.start === null || t.end === null || t.end <= t.start) return undefined;
    return new vscode.Range(doc.positionAt(ctx.baseOffset + t.start), doc.positionAt(ctx.baseOffset + t.end));
  }

  /**
   * What the cursor's token shows in the editor: self-attention over the selection, which for an encoder-decoder is the
   * encoder's (at the chosen layer, or the encoder's last when it is shallower than the decoder).
   */
  private editorAttention(ctx: RunContext): { layer: number; kind?: AttentionKind } {
    if (!ctx.run.target) return { layer: this.panel.layer };
    return { layer: layerFor(axesOf(ctx.run, 'encoder'), this.panel.layer), kind: 'encoder' };
  }

  /** Weights of one query row in the chosen layer/head (of the encoder, for an encoder-decoder). */
  async rowWeights(ctx: RunContext, layer: number, head: HeadChoice, query: number, kind?: AttentionKind): Promise<ArrayLike<number>> {
    const key = `${kind ?? 'self'}/${layer}/${headName(head)}`;
    const which = kind ? { kind } : {};
    let m = this.matrices.get(key);
    if (m === undefined) {
      if (ctx.run.n <= 512) {
        const r = await this.host.request(AttentionMatrixRequest, { runId: ctx.run.runId, layer, head, ...which });
        m = r.values ? decodeFloat32(r.values) : null;
      } else m = null;
      this.matrices.set(key, m);
    }
    if (m) return m.subarray(query * ctx.run.n, (query + 1) * ctx.run.n);
    const row = await this.host.request(AttentionRowRequest, { runId: ctx.run.runId, layer, head, query, top: 5, ...which });
    return row.weights;
  }

  private async paint(): Promise<void> {
    const ctx = this.active;
    if (!ctx) return;
    const seq = ++this.paintSeq;
    const editors = vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === ctx.uri.toString());
    for (const editor of editors) {
      const doc = editor.document;
      const ranges: vscode.Range[][] = Array.from({ length: BUCKETS }, () => []);
      const signedRanges: vscode.Range[][][] = [0, 1].map(() => Array.from({ length: SIGNED_BUCKETS }, () => []));
      let queryRanges: vscode.Range[] = [];
      try {
        if (this.attribution) {
          signedBuckets(this.attribution).forEach((b, i) => {
            const r = this.tokenRange(doc, ctx, i);
            if (b && r) signedRanges[b.negative ? 1 : 0][b.bucket].push(r);
          });
        } else if (this.neuron) {
          const acts = this.neuron.activations;
          const max = Math.max(1e-9, ...acts.map((a) => Math.max(0, a)));
          acts.forEach((a, i) => {
            const b = a > 0 ? Math.min(BUCKETS - 1, Math.floor((a / max) * BUCKETS)) : -1;
            const r = this.tokenRange(doc, ctx, i);
            if (b >= 0 && r) ranges[b].push(r);
          });
        } else {
          const offset = doc.offsetAt(editor.selection.active) - ctx.baseOffset;
          const q = tokenAtOffset(ctx.run.tokens, offset);
          if (q >= 0) {
            const shown = this.editorAttention(ctx);
            const weights = await this.rowWeights(ctx, shown.layer, this.panel.head, q, shown.kind);
            if (seq !== this.paintSeq) return;
            bucketRow(weights, q, BUCKETS).forEach((keys, b) => {
              for (const k of keys) {
                const r = this.tokenRange(doc, ctx, k);
                if (r) ranges[b].push(r);
              }
            });
            const qr = this.tokenRange(doc, ctx, q);
            queryRanges = qr ? [qr] : [];
          }
        }
      } catch (e) {
        this.host.log(`attention decorations: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      if (seq !== this.paintSeq) return;
      this.bucketTypes.forEach((t, b) => editor.setDecorations(t, ranges[b]));
      this.signedTypes.forEach((types, sign) => types.forEach((t, b) => editor.setDecorations(t, signedRanges[sign][b])));
      editor.setDecorations(this.queryType, queryRanges);
    }
  }

  /** Hover inside a visualized range: the token's top-5 keys and its row across layers. */
  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const ctx = this.active;
    if (!ctx || doc.uri.toString() !== ctx.uri.toString()) return undefined;
    const offset = doc.offsetAt(position) - ctx.baseOffset;
    if (offset < 0 || offset > ctx.text.length) return undefined;
    const q = tokenAtOffset(ctx.run.tokens, offset);
    if (q < 0) return undefined;
    const { layer, kind } = this.editorAttention(ctx);
    const head = this.panel.head;
    let row: AttentionRow;
    try {
      row = await this.host.request(AttentionRowRequest, { runId: ctx.run.runId, layer, head, query: q, top: 5, ...(kind ? { kind } : {}) }, { token });
    } catch {
      return undefined;
    }
    const tokens = ctx.run.tokens;
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(
      `**${kind ? 'Encoder attention' : 'Attention'} of** <code>${escapeHtml(tokenLabel(tokens[q], 40))}</code> (token ${q}) · ${escapeHtml(ctx.run.model.name)} L${layer} H${headName(head)}\n\n`,
    );
    md.appendMarkdown('<table>');
    for (const t of row.top) {
      md.appendMarkdown(`<tr><td><code>${escapeHtml(tokenLabel(tokens[t.key], 40))}</code></td><td>${t.key}</td><td>${(t.weight * 100).toFixed(1)}%</td></tr>`);
    }
    md.appendMarkdown('</table>\n\n');
    const img = row.acrossLayers;
    if (img?.png) {
      const scale = Math.max(1, Math.min(8, Math.floor(240 / Math.max(1, img.width)), Math.floor(120 / Math.max(1, img.height))));
      md.appendMarkdown(
        `<img src="data:image/png;base64,${img.png}" width="${img.width * scale}" height="${img.height * scale}" alt="attention of token ${q} across layers">\n\n`,
      );
      md.appendMarkdown('<sub>rows: layers (mean over heads), columns: keys</sub>');
    }
    const range = this.tokenRange(doc, ctx, q);
    return new vscode.Hover(md, range);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
