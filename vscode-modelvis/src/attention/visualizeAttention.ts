// "ModelVis: Visualize Attention": sends the selected text to the host (attention/run). The
// attention panel arrives with the engine; until then the host answers "needs a model engine".

import * as vscode from 'vscode';
import { isSameModelPath } from '../common/modelSetting';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { useForVisualization } from '../models/useModel';

/** The most text sent in one run; the host refuses oversized input with its own message too. */
const MAX_TEXT = 100_000;

export async function visualizeAttention(host: HostClient, models: ModelService): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('ModelVis: open a file and select the text to visualize.');
    return;
  }
  const selection = editor.selections.find((s) => !s.isEmpty);
  if (!selection) {
    void vscode.window.showInformationMessage('ModelVis: select the text whose attention you want to see, then run Visualize Attention.');
    return;
  }
  const text = editor.document.getText(selection);
  if (text.length > MAX_TEXT) {
    void vscode.window.showWarningMessage(`ModelVis: the selection has ${text.length} characters; select at most ${MAX_TEXT}.`);
    return;
  }

  let model = await models.modelInUse({ discoverIfNeeded: true });
  if (!model) {
    model = await pickModel(models);
    if (!model) return;
  }

  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'ModelVis: attention', cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'running the model…' });
      try {
        const result = await host.request<unknown>('attention/run', { model, text, uri: editor.document.uri.toString() }, { token, progress });
        host.log(`attention/run: ${JSON.stringify(result).slice(0, 500)}`);
        void vscode.window.showInformationMessage('ModelVis: attention computed. The attention panel comes with the next release.');
      } catch (e) {
        host.log(`attention/run → ${e instanceof Error ? e.message : String(e)}`);
        host.showError(e);
      }
    },
  );
}

/** No model set: offer the discovered checkpoints and remember the choice. */
async function pickModel(models: ModelService): Promise<string | undefined> {
  let entries;
  try {
    entries = (await models.discover()).filter((e) => !e.error);
  } catch (e) {
    void vscode.window.showErrorMessage(`ModelVis: set modelvis.model to a checkpoint first (${e instanceof Error ? e.message : String(e)}).`);
    return undefined;
  }
  if (entries.length === 0) {
    void vscode.window.showWarningMessage(
      'ModelVis found no checkpoints. Open a folder with config.json and *.safetensors, or add one to modelvis.modelRoots, then set modelvis.model.',
    );
    return undefined;
  }
  const current = vscode.workspace.getConfiguration('modelvis').get<string>('model');
  const pick = await vscode.window.showQuickPick(
    entries.map((e) => ({ label: e.name, description: e.architecture, detail: e.path, picked: isSameModelPath(current, e.path), path: e.path })),
    { title: 'ModelVis: which model should visualize attention?', placeHolder: 'Choose a checkpoint (saved in modelvis.model)' },
  );
  if (!pick) return undefined;
  await useForVisualization(pick.path);
  return pick.path;
}
