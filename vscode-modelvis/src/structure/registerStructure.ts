// Commands of issue 19's views: "Show Model Graph" (an ONNX file, a model folder or a GGUF file: from the Explorer,
// the Models view, or the model in use), and "Embedding Projector" / "Activation Functions", which show the
// attention panel's run (Visualize Attention runs first on the selection when there is none).

import * as vscode from 'vscode';
import type { AttentionRun } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { ModelsItem } from '../models/modelsView';
import { ActivationsPanel } from './activationsPanel';
import { GraphPanel } from './graphPanel';
import { ProjectorPanel } from './projectorPanel';

export interface CurrentRun {
  run: AttentionRun;
  text: string;
}

export function registerStructure(extensionUri: vscode.Uri, host: HostClient, models: ModelService, currentRun: () => CurrentRun | undefined): vscode.Disposable[] {
  const graph = new GraphPanel(extensionUri, host);
  const projector = new ProjectorPanel(extensionUri, host);
  const activations = new ActivationsPanel(extensionUri, host);

  /** The attention panel's run, made first from the selection when there is none. */
  const run = async (): Promise<CurrentRun | undefined> => {
    if (!currentRun()) await vscode.commands.executeCommand('modelvis.visualizeAttention');
    const r = currentRun();
    if (!r) void vscode.window.showInformationMessage('ModelVis: select some text and run Visualize Attention first.');
    return r;
  };

  return [
    graph,
    projector,
    activations,
    vscode.commands.registerCommand('modelvis.showModelGraph', async (target?: vscode.Uri | ModelsItem) => {
      const path = target instanceof vscode.Uri ? target.fsPath
        : target?.type === 'model' ? target.entry.path
        : target?.type === 'node' ? target.modelPath
        : await models.modelInUse({ discoverIfNeeded: true });
      if (!path) {
        void vscode.window.showInformationMessage('ModelVis: right-click an .onnx file, a model folder or a .gguf file (or set modelvis.model) to show its graph.');
        return;
      }
      await graph.showModel(path);
    }),
    vscode.commands.registerCommand('modelvis.showProjector', async () => {
      const r = await run();
      if (r) projector.showRun(r.run, r.text);
    }),
    vscode.commands.registerCommand('modelvis.showActivations', async () => {
      const r = await run();
      if (r) activations.showRun(r.run);
    }),
  ];
}
