// "ModelVis: Show CNN Feature Maps": on an image in the explorer (context menu) or the active image
// editor (palette). Asks for the CNN model (found by models/discover, or Browse…; the choice is kept in
// modelvis.cnnModel) and runs features/run on the picture: the host decodes it (PNG, JPEG, GIF, WebP, BMP),
// from its path for a file on disk, from its bytes for any other file system. The preprocessing the user picks
// in the panel is remembered per model (global state) and sent with every later run of that model.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { FeaturesRun, FeaturesRunParams, PreprocessingParams } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { isCnnModelPath, isImagePath } from './featuresLogic';
import { FeaturesPanel } from './featuresPanel';

export const CNN_MODEL_SETTING = 'cnnModel';

export function registerFeatures(extensionUri: vscode.Uri, host: HostClient, models: ModelService, memory: vscode.Memento): vscode.Disposable[] {
  const panel = new FeaturesPanel(extensionUri, host);
  const runner = new FeatureRunner(host, panel, new PreprocessingMemory(memory));
  panel.onRerun = (preprocessing) => void runner.rerun(preprocessing);
  panel.onRunAgain = () => void runner.runAgain();
  return [
    panel,
    vscode.commands.registerCommand('modelvis.showFeatureMaps', (uri?: vscode.Uri) => showFeatureMaps(models, runner, uri)),
  ];
}

/** The preprocessing chosen for each model in the panel, kept across sessions. */
export class PreprocessingMemory {
  constructor(private readonly state: vscode.Memento) {}

  private key(model: string): string {
    return `modelvis.preprocessing:${model}`;
  }

  get(model: string): PreprocessingParams | undefined {
    return this.state.get<PreprocessingParams>(this.key(model));
  }

  /** Remembers a choice, or forgets it (back to the model's own) for undefined. */
  set(model: string, preprocessing: PreprocessingParams | undefined): Thenable<void> {
    return this.state.update(this.key(model), preprocessing);
  }
}

/** Runs features/run for the panel and reruns the last picture when the user changes the preprocessing. */
class FeatureRunner {
  private last: { model: string; image: vscode.Uri } | undefined;

  constructor(
    private readonly host: HostClient,
    private readonly panel: FeaturesPanel,
    private readonly memory: PreprocessingMemory,
  ) {}

  async run(model: string, image: vscode.Uri): Promise<void> {
    this.last = { model, image };
    const imageName = path.basename(image.fsPath);
    const modelName = path.basename(model);
    this.panel.showRunning(imageName, modelName);
    try {
      const imageParam: FeaturesRunParams['image'] = image.scheme === 'file'
        ? { path: image.fsPath }
        : { data: Buffer.from(await vscode.workspace.fs.readFile(image)).toString('base64') };
      const preprocessing = this.memory.get(model);
      const run = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `ModelVis: ${modelName} on ${imageName}`, cancellable: true },
        (progress, token) => this.host.request(FeaturesRun, { model, image: imageParam, ...(preprocessing ? { preprocessing } : {}) }, { token, progress }),
      );
      this.panel.setRun(imageName, run);
    } catch (e) {
      if (isCancellation(e)) return;
      this.host.log(`features/run → ${errorMessage(e)}`);
      this.panel.showError(imageName, modelName, errorMessage(e));
    }
  }

  /** The last picture and model again, as they were (the host lost the run when it restarted). */
  async runAgain(): Promise<void> {
    if (this.last) await this.run(this.last.model, this.last.image);
  }

  /** The user's preprocessing for the last model (null: back to the model's own), then the same picture again. */
  async rerun(preprocessing: PreprocessingParams | null): Promise<void> {
    if (!this.last) return;
    await this.memory.set(this.last.model, preprocessing ?? undefined);
    await this.run(this.last.model, this.last.image);
  }
}

/** The image the palette command works on: the active custom editor (image preview) or text editor tab. */
function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && isImagePath(uri.fsPath) ? uri : undefined;
}

async function showFeatureMaps(models: ModelService, runner: FeatureRunner, uri?: vscode.Uri): Promise<void> {
  const image = uri instanceof vscode.Uri ? uri : activeImage();
  if (!image || !isImagePath(image.fsPath)) {
    void vscode.window.showInformationMessage('ModelVis: open an image (PNG, JPEG, GIF, WebP or BMP) or right-click one in the Explorer to show CNN feature maps.');
    return;
  }
  const model = await pickModel(models);
  if (!model) return;
  await runner.run(model, image);
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
  items.push({ label: '$(folder-opened) Browse…', description: 'an .onnx model, a torchvision .pth/.pt state dict, or one with NAME.arch.json beside it', browse: true });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'ModelVis: CNN model for feature maps',
    placeHolder: discoverError ? `Could not search for models (${discoverError}); browse for one` : 'Pick a CNN model (.onnx, or a .pth/.pt state dict)',
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
