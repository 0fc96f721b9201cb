// "ModelVis: Show CNN Feature Maps": on an image in the explorer (context menu) or the active image
// editor (palette). Asks for the CNN model (found by models/discover, or Browse…; the choice is kept in
// modelvis.cnnModel) and runs features/run on the picture: the host decodes it (PNG, JPEG, GIF, WebP, BMP),
// from its path for a file on disk, from its bytes for any other file system.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { FeaturesRun, FeaturesRunParams } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { isCnnModelPath, isImagePath } from './featuresLogic';
import { FeaturesPanel } from './featuresPanel';

export const CNN_MODEL_SETTING = 'cnnModel';

export function registerFeatures(extensionUri: vscode.Uri, host: HostClient, models: ModelService): vscode.Disposable[] {
  const panel = new FeaturesPanel(extensionUri, host);
  return [
    panel,
    panel.onDidRequestRerun(({ image, model }) => void runFeatures(host, panel, image, model)),
    vscode.commands.registerCommand('modelvis.showFeatureMaps', (uri?: vscode.Uri) => showFeatureMaps(host, models, panel, uri)),
  ];
}

/** The image the palette command works on: the active custom editor (image preview) or text editor tab. */
function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && isImagePath(uri.fsPath) ? uri : undefined;
}

async function showFeatureMaps(host: HostClient, models: ModelService, panel: FeaturesPanel, uri?: vscode.Uri): Promise<void> {
  const image = uri instanceof vscode.Uri ? uri : activeImage();
  if (!image || !isImagePath(image.fsPath)) {
    void vscode.window.showInformationMessage('ModelVis: open an image (PNG, JPEG, GIF, WebP or BMP) or right-click one in the Explorer to show CNN feature maps.');
    return;
  }
  const model = await pickModel(models);
  if (!model) return;
  await runFeatures(host, panel, image, model);
}

async function runFeatures(host: HostClient, panel: FeaturesPanel, image: vscode.Uri, model: string): Promise<void> {
  const imageName = path.basename(image.fsPath);
  const modelName = path.basename(model);
  panel.showRunning(imageName, modelName);
  try {
    const imageParam: FeaturesRunParams['image'] = image.scheme === 'file'
      ? { path: image.fsPath }
      : { data: Buffer.from(await vscode.workspace.fs.readFile(image)).toString('base64') };
    const run = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ModelVis: ${modelName} on ${imageName}`, cancellable: true },
      (progress, token) => host.request(FeaturesRun, { model, image: imageParam }, { token, progress }),
    );
    panel.setRun(imageName, run, { image, model });
  } catch (e) {
    if (isCancellation(e)) return;
    host.log(`features/run → ${errorMessage(e)}`);
    panel.showError(imageName, modelName, errorMessage(e));
  }
}

async function pickModel(models: ModelService): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('modelvis');
  const remembered = config.get<string>(CNN_MODEL_SETTING) || '';
  type Item = vscode.QuickPickItem & { path?: string; browse?: boolean };
  const items: Item[] = [];
  const seen = new Set<string>();
  if (remembered && fs.existsSync(remembered)) {
    items.push({ label: path.basename(remembered), description: 'last used', detail: remembered, path: remembered });
    seen.add(remembered);
  }
  let discoverError: string | undefined;
  try {
    for (const entry of await models.discover()) {
      if (entry.kind !== 'file' || !isCnnModelPath(entry.path) || seen.has(entry.path)) continue;
      seen.add(entry.path);
      items.push({ label: path.basename(entry.path), description: entry.source, detail: entry.path, path: entry.path });
    }
  } catch (e) {
    discoverError = errorMessage(e);
  }
  // The host's discovery lists checkpoints it can open as weights; ONNX graphs are found here.
  try {
    for (const uri of await vscode.workspace.findFiles('**/*.{onnx,pth,pt}', '**/node_modules/**', 200)) {
      if (uri.scheme !== 'file' || seen.has(uri.fsPath)) continue;
      seen.add(uri.fsPath);
      items.push({ label: path.basename(uri.fsPath), description: 'workspace', detail: uri.fsPath, path: uri.fsPath });
    }
  } catch {
    // no workspace: Browse… still works
  }
  items.push({ label: '$(folder-opened) Browse…', description: 'an .onnx model, or a .pth/.pt state dict with NAME.arch.json beside it', browse: true });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'ModelVis: CNN model for feature maps',
    placeHolder: discoverError ? `Could not search for models (${discoverError}); browse for one` : 'Pick a CNN model (.onnx, or .pth/.pt with an architecture sidecar)',
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  let chosen = picked.path;
  if (picked.browse) {
    const files = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Use this model',
      filters: { 'CNN models': ['onnx', 'pth', 'pt'], 'All files': ['*'] },
    });
    chosen = files?.[0]?.fsPath;
  }
  if (!chosen) return undefined;
  if (chosen !== remembered) {
    try {
      await config.update(CNN_MODEL_SETTING, chosen, vscode.ConfigurationTarget.Global);
    } catch (e) {
      void vscode.window.showWarningMessage(`ModelVis: could not remember the model in modelvis.cnnModel: ${errorMessage(e)}`);
    }
  }
  return chosen;
}
