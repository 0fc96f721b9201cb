// The built-in model (issue 8): used whenever modelvis.model is empty. Ready in the host's cache → used at
// once; missing → trained once (about 3 minutes) behind a cancellable progress notification, with a live
// loss curve on request. Never blocks the UI; a cancelled training says so and offers a model picker.

import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { BuiltinEnsure, BuiltinStatus, BuiltinStatusRequest, TrainSummary } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { pickModelForVisualization } from '../models/useModel';
import { LossCurves, offerLossCurve } from './lossCurvePanel';

/** The built-in recipe's step count (the host's TrainOptions.BuiltinDefault), for the curve's x axis before the first point. */
export const BUILTIN_STEPS = 2800;

let curves: LossCurves | undefined;
let ensuring: Promise<string | undefined> | undefined;

/** Called once by registerTraining: the loss-curve panel that training notifications feed. */
export function setLossCurves(c: LossCurves | undefined): void {
  curves = c;
}

export function builtinStatus(host: HostClient): Promise<BuiltinStatus> {
  return host.request(BuiltinStatusRequest, {});
}

/**
 * The model features should use: the one modelvis.model names (calling `onMissing` when it names nothing),
 * or, when the setting is empty, the built-in model (trained first if needed). Undefined when there is none
 * to use (the user has been told why).
 */
export async function resolveModelOrBuiltin(host: HostClient, models: ModelService, onMissing?: () => Promise<void>): Promise<string | undefined> {
  const value = vscode.workspace.getConfiguration('modelvis').get<string>('model');
  if (value?.trim()) {
    const model = await models.modelInUse({ discoverIfNeeded: true });
    if (!model && onMissing) await onMissing();
    return model;
  }
  try {
    const status = await builtinStatus(host);
    if (status.ready) return status.folder;
  } catch (e) {
    host.showError(e, 'ModelVis: the built-in model');
    return undefined;
  }
  // One training at a time, however many features ask.
  if (!ensuring) {
    ensuring = ensureBuiltin(host, models).finally(() => {
      ensuring = undefined;
    });
  }
  return ensuring;
}

async function ensureBuiltin(host: HostClient, models: ModelService): Promise<string | undefined> {
  const title = 'ModelVis: training the built-in model (about 3 minutes, once)';
  curves?.begin('Built-in model', BUILTIN_STEPS);
  if (curves) offerLossCurve(curves, 'ModelVis is training its built-in model on its own source code; visualizations start when it is done.');
  let outcome: { folder: string; summary?: TrainSummary } | 'cancelled' | undefined;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    try {
      const r = await host.request(BuiltinEnsure, {}, { token, progress, timeoutMs: 0 });
      outcome = { folder: r.folder, summary: r.result ?? undefined };
    } catch (e) {
      if (isCancellation(e) || token.isCancellationRequested) {
        outcome = 'cancelled';
        return;
      }
      host.log(`builtin/ensure → ${errorMessage(e)}`);
      curves?.finish('failed', errorMessage(e));
      host.showError(e, 'ModelVis: training the built-in model failed');
    }
  });
  if (outcome === 'cancelled') {
    curves?.finish('cancelled', 'Cancelled: nothing was saved.');
    return offerChooseModel('ModelVis: training the built-in model was cancelled; nothing was saved. Choose a checkpoint to visualize instead, or run the command again to train it.');
  }
  if (!outcome) return undefined;
  curves?.finish('done', outcome.summary ? summaryLine(outcome.summary) : 'Ready.');
  host.log(`built-in model ready: ${outcome.folder}${outcome.summary ? ` (${summaryLine(outcome.summary)})` : ''}`);
  models.invalidate(); // the Models view lists the built-in model from now on
  vscode.window.setStatusBarMessage('ModelVis: built-in model ready', 5000);
  return outcome.folder;
}

/** "Choose model…" after a cancel: a folder or .safetensors picker; the choice becomes modelvis.model. */
export async function offerChooseModel(message: string): Promise<string | undefined> {
  const choose = 'Choose model…';
  const choice = await vscode.window.showWarningMessage(message, choose);
  if (choice !== choose) return undefined;
  return pickModelForVisualization();
}

export function summaryLine(s: TrainSummary): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '?');
  return `${s.steps} steps in ${Math.round(s.seconds)} s: training loss ${f(s.finalTrainLoss)}, held-out ${f(s.evalLoss)} (no-context baseline ${f(s.unigramEntropy)}) nats/token`;
}

/**
 * Discovery roots for the Models view: the built-in model's folder once it exists and the folder trained
 * models go to (both under the host's cache).
 */
export async function trainingRoots(host: HostClient): Promise<string[]> {
  try {
    const s = await builtinStatus(host);
    return s.ready ? [s.folder, s.trainedRoot] : [s.trainedRoot];
  } catch {
    return [];
  }
}
