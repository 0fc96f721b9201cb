// What every view of the attention panel is given (the run, the chosen attention, requests to the host,
// the export buttons' hook) and how a view is listed in the panel's view table (attention.ts).

import { h } from '../webview/common';
import type { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionRun, HeadChoice, ViewRequester } from '../../src/common/protocol';

/** What the Save PNG / Save JSON buttons export for the view on screen. */
export interface ViewExport {
  name: string;
  png: () => Promise<string>;
  /** Undefined: the attention matrix of the chosen layer and head (the extension fetches it). */
  json?: () => object;
}

export interface ViewContext {
  run: AttentionRun;
  /** The selection the run was made from. */
  text: string;
  /** The attention chosen by the panel's layer and head controls (and, for an encoder-decoder, which attention). */
  layer: number;
  head: HeadChoice;
  kind: AttentionKind | undefined;
  request: ViewRequester<typeof ATTENTION_VIEW_REQUESTS>;
  /** One request per key for the run (answers are kept; a failure is asked again next time). */
  cached<T>(key: string, f: () => Promise<T>): Promise<T>;
  /** The attention matrix of (layer, head) of the kind shown; null past 512 tokens. */
  matrixOf(layer: number, head: HeadChoice): Promise<Float32Array | null>;
  setExport(e: ViewExport): void;
  /** Save PNG of what the view drew itself: the element as laid out, titled "<model> — <title>" (webview/snapshot.ts). */
  snapshot(el: HTMLElement, title: string): () => Promise<string>;
  /** False once another view (or another run) is being drawn: late answers are dropped. */
  isCurrent(): boolean;
  /** Draws the view again (after a choice that needs new numbers). */
  redraw(): void;
  /** Shows head (layer, head) in the heatmap. */
  openHead(layer: number, head: number): void;
  /** Names what each head does in the panel's head list ([layer][head], the head detectors' labels on the selection). */
  labelHeads(labels: (string | null)[][]): void;
}

export interface AttentionView {
  id: string;
  label: string;
  /** Drawn from the panel's layer and head (the other views have their own controls). */
  usesAttentionChoice?: boolean;
  /** Also offered on an encoder-decoder run (the others read one stack of a decoder-only or encoder-only model). */
  encoderDecoder?: boolean;
  draw(c: ViewContext, box: HTMLElement): Promise<void>;
}

/** The width of the panel's page (the views size their pictures to it). */
export const pageWidth = (): number => document.getElementById('modelvis-root')?.clientWidth ?? 800;

/** The theme of the page, for figures the host draws (VS Code marks the body with its kind). */
export const pageTheme = (): 'light' | 'dark' =>
  document.body.classList.contains('vscode-light') || document.body.classList.contains('vscode-high-contrast-light') ? 'light' : 'dark';

/**
 * A view's Run button: while `ask` runs, the button is disabled and `result` says `loading`; its answer goes to `show`
 * (if the view is still on screen), a failure into `result` as an error (holder status "error").
 */
export async function runFromButton<T>(c: ViewContext, holder: HTMLElement, result: HTMLElement, button: HTMLButtonElement,
  loading: string, ask: () => Promise<T>, show: (answer: T) => void): Promise<void> {
  holder.dataset.status = 'loading';
  button.disabled = true;
  result.replaceChildren(h('p', { class: 'loading' }, loading));
  try {
    const answer = await ask();
    if (c.isCurrent()) show(answer);
  } catch (e) {
    if (c.isCurrent()) {
      result.replaceChildren(h('div', { class: 'error view-error', role: 'alert' }, (e as Error).message));
      holder.dataset.status = 'error';
    }
  } finally {
    button.disabled = false;
  }
}
