// What every view of the attention panel is given (the run, the chosen attention, requests to the host,
// the export buttons' hook) and how a view is listed in the panel's view table (attention.ts).

import type { ATTENTION_VIEW_REQUESTS, AttentionKind, AttentionRun, HeadChoice, ViewRequester } from '../../src/common/protocol';
import { snapshotPng } from './snapshot';

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
  /** False once another view (or another run) is being drawn: late answers are dropped. */
  isCurrent(): boolean;
  /** Draws the view again (after a choice that needs new numbers). */
  redraw(): void;
  /** Shows head (layer, head) in the heatmap. */
  openHead(layer: number, head: number): void;
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

/** Save PNG of a view the webview drew itself: the element as laid out, on the page's background. */
export const snapshotOf = (el: HTMLElement) => () => snapshotPng(el, getComputedStyle(document.body).backgroundColor);

/** The width of the panel's page (the views size their pictures to it). */
export const pageWidth = (): number => document.getElementById('modelvis-root')?.clientWidth ?? 800;
