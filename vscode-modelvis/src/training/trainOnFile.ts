// "ModelVis: Train a Tiny Model on This File": the built-in recipe trained on the active document (or, when it
// is short, on the workspace's files of its kind too), with progress, cancel and the live loss curve; the
// result appears in the Models view and can be used for visualization in one click.

import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { useForVisualization } from '../models/useModel';
import { TrainStart, TrainStartResult } from '../common/protocol';
import { BUILTIN_STEPS, summaryLine } from './builtin';
import { CORPUS_BUDGET, Candidate, EXCLUDE_GLOB, isText, modelName, pickFiles, sameKindGlob, SHORT_DOCUMENT } from './corpusPlan';
import { LossCurves, offerLossCurve } from './lossCurvePanel';

let running = false;

export async function trainOnFile(host: HostClient, models: ModelService, curves: LossCurves): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('ModelVis: open the file to train a tiny model on.');
    return;
  }
  if (running) {
    void vscode.window.showInformationMessage('ModelVis is already training a model; wait for it or cancel it first.');
    return;
  }
  running = true;
  try {
    const doc = editor.document;
    const name = modelName(doc.fileName);
    const texts = await gatherTexts(doc);
    const files = texts.length - 1;
    const chars = texts.reduce((n, t) => n + t.length, 0);
    const what = files > 0 ? `${name} and ${files} more ${files === 1 ? 'file' : 'files'} of its kind` : name;
    host.log(`train/start: ${what}, ${chars.toLocaleString('en-US')} characters`);
    curves.begin(`Tiny model on ${what}`, BUILTIN_STEPS);
    offerLossCurve(curves, `ModelVis is training a tiny model on ${what}.`);

    let outcome: TrainStartResult | 'cancelled' | undefined;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ModelVis: training a tiny model on ${what}`, cancellable: true },
      async (progress, token) => {
        try {
          outcome = await host.request(TrainStart, { texts, name }, { token, progress, timeoutMs: 0 });
        } catch (e) {
          if (isCancellation(e) || token.isCancellationRequested) {
            outcome = 'cancelled';
            return;
          }
          host.log(`train/start → ${errorMessage(e)}`);
          curves.finish('failed', errorMessage(e));
          host.showError(e, 'ModelVis: training failed');
        }
      },
    );
    if (outcome === 'cancelled') {
      curves.finish('cancelled', 'Cancelled: nothing was saved.');
      void vscode.window.showInformationMessage('ModelVis: training cancelled; nothing was saved.');
      return;
    }
    if (!outcome) return;
    const { folder, result } = outcome;
    curves.finish('done', summaryLine(result));
    host.log(`trained ${folder}: ${summaryLine(result)}`);
    models.invalidate();
    await vscode.commands.executeCommand('modelvis.models.focus');
    const use = 'Use for visualization';
    const choice = await vscode.window.showInformationMessage(`ModelVis: trained ${name} (${summaryLine(result)}). It is in the Models view.`, use, 'Show loss curve');
    if (choice === use) await useForVisualization(folder);
    else if (choice === 'Show loss curve') curves.show();
  } finally {
    running = false;
  }
}

/** The document's text first; when it is short, the workspace's files of the same kind after it. */
async function gatherTexts(doc: vscode.TextDocument): Promise<string[]> {
  const text = doc.getText();
  const texts = [text];
  if (text.length >= SHORT_DOCUMENT) return texts;
  const glob = sameKindGlob(doc.fileName);
  if (!glob || !vscode.workspace.workspaceFolders?.length) return texts;
  const uris = await vscode.workspace.findFiles(glob, EXCLUDE_GLOB, 2000);
  const candidates: Array<Candidate & { uri: vscode.Uri }> = [];
  for (const uri of uris) {
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      candidates.push({ path: uri.fsPath, size: stat.size, uri });
    } catch {
      // gone since the search
    }
  }
  const active = doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
  const picked = pickFiles(candidates, active, Buffer.byteLength(text, 'utf8'), CORPUS_BUDGET);
  const byPath = new Map(candidates.map((c) => [c.path, c.uri]));
  for (const p of picked) {
    try {
      const content = new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(byPath.get(p.path)!));
      if (content.trim() && isText(content)) texts.push(content);
    } catch {
      // unreadable: skip
    }
  }
  return texts;
}
