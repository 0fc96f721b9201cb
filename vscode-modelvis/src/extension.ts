// Entry point: wires the host client, the Models view, the tensor panels, the hover and the commands.

import * as vscode from 'vscode';
import { registerAttention } from './attention/visualizeAttention';
import { registerFeatures } from './features/showFeatureMaps';
import { HostClient } from './host/hostClient';
import { ModelService } from './models/modelService';
import { ModelsItem, ModelsProvider, OpenTensorArgs } from './models/modelsView';
import { useForVisualization } from './models/useModel';
import { TensorHoverProvider } from './hover/tensorHover';
import { TensorPanels } from './tensor/tensorPanel';
import { registerTraining } from './training/registerTraining';
import { registerRuns } from './runs/registerRuns';
import { registerStructure } from './structure/registerStructure';

let client: HostClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('ModelVis');
  const host = new HostClient(context.extensionPath, output);
  client = host;
  const models = new ModelService(host);
  const provider = new ModelsProvider(models);
  const panels = new TensorPanels(context.extensionUri, host);
  const treeView = vscode.window.createTreeView<ModelsItem>('modelvis.models', { treeDataProvider: provider, showCollapseAll: true, canSelectMany: true });

  context.subscriptions.push(output, host, models, provider, panels, treeView);

  models.onDidChange(() => provider.refresh());

  // After a crash-restart, look again: what failed while the host was down now works.
  let firstStart = true;
  host.onDidStart(() => {
    if (!firstStart) models.invalidate();
    firstStart = false;
  });

  // Trusted now: the workspace's models and runs are looked for (they were left out in Restricted Mode).
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      models.invalidate();
      void vscode.commands.executeCommand('modelvis.refreshRuns');
    }),
  );

  const attention = registerAttention(context.extensionUri, host, models);
  context.subscriptions.push(
    ...attention.disposables,
    ...registerStructure(context.extensionUri, host, models, attention.currentRun),
    ...registerFeatures(context.extensionUri, host, models, context.globalState),
    ...registerTraining(context.extensionUri, host, models),
    ...registerRuns(context.extensionUri, host, models),
    vscode.commands.registerCommand('modelvis.refreshModels', () => models.invalidate()),
    vscode.commands.registerCommand('modelvis.useForVisualization', async (item?: ModelsItem) => {
      const modelPath = item?.type === 'model' ? item.entry.path : item?.type === 'node' ? item.modelPath : undefined;
      if (!modelPath) {
        void vscode.window.showInformationMessage('ModelVis: right-click a checkpoint in the Models view to use it.');
        return;
      }
      await useForVisualization(modelPath);
    }),
    vscode.commands.registerCommand('modelvis.restartHost', () => host.restart()),
    vscode.commands.registerCommand('modelvis.showLog', () => output.show(true)),
    vscode.commands.registerCommand('modelvis.openTensor', (args?: OpenTensorArgs | ModelsItem) => {
      const a = toOpenTensorArgs(args);
      if (a) panels.open(a.modelPath, a.tensor);
    }),
    vscode.commands.registerCommand('modelvis.copyTensorName', async (item?: ModelsItem) => {
      if (item?.type === 'node' && item.node.tensor) await vscode.env.clipboard.writeText(item.node.tensor.name);
      else if (item?.type === 'node') await vscode.env.clipboard.writeText(item.node.path);
    }),
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-remote' }, { scheme: 'vscode-notebook-cell' }], new TensorHoverProvider(host, models)),
  );

  // Refresh the Models view when checkpoints appear, change or go (debounced: a download writes a lot).
  let debounce: NodeJS.Timeout | undefined;
  const changedPaths = new Set<string>();
  const onFilesChanged = (uri: vscode.Uri) => {
    if (uri.scheme === 'file') changedPaths.add(uri.fsPath);
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      const paths = [...changedPaths];
      changedPaths.clear();
      void models.filesChanged(paths);
    }, 1000);
  };
  // Every format discovery lists (ModelDiscovery.WeightExtensions), and the files that make a folder a checkpoint.
  for (const pattern of ['**/*.{safetensors,gguf,bin,pt,pth,ckpt}', '**/config.json', '**/*.index.json']) {
    const watcher = vscode.workspace.createFileSystemWatcher(pattern);
    watcher.onDidCreate(onFilesChanged);
    watcher.onDidChange(onFilesChanged);
    watcher.onDidDelete(onFilesChanged);
    context.subscriptions.push(watcher);
  }
  context.subscriptions.push(
    { dispose: () => debounce && clearTimeout(debounce) },
    vscode.workspace.onDidChangeWorkspaceFolders(() => models.invalidate()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('modelvis.dotnetPath') || e.affectsConfiguration('modelvis.threads') || e.affectsConfiguration('modelvis.device')) void host.onLaunchSettingsChanged().then(() => models.invalidate());
      else if (e.affectsConfiguration('modelvis.modelRoots')) models.invalidate();
      else if (e.affectsConfiguration('modelvis.model')) void provider.updateInUse();
    }),
  );
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  await c?.stop();
}

function toOpenTensorArgs(args: OpenTensorArgs | ModelsItem | undefined): OpenTensorArgs | undefined {
  if (!args) return undefined;
  if ('modelPath' in args && 'tensor' in args && typeof args.tensor === 'string') return args;
  const item = args as ModelsItem;
  if (item.type === 'node' && item.node.tensor) return { modelPath: item.modelPath, tensor: item.node.tensor.name };
  return undefined;
}
