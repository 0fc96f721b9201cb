import * as vscode from 'vscode';

/** Sets modelvis.model: in the workspace settings when a folder is open, else in the user settings. */
export async function useForVisualization(modelPath: string): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('modelvis').update('model', modelPath, target);
  vscode.window.setStatusBarMessage(`ModelVis: using ${modelPath}`, 4000);
}

/** A folder, .safetensors or .gguf picker; the choice becomes modelvis.model. Returns the chosen path. */
export async function pickModelForVisualization(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: true,
    canSelectMany: false,
    filters: { Checkpoints: ['safetensors', 'gguf'] },
    openLabel: 'Use for Visualization',
    title: 'ModelVis: choose a checkpoint',
  });
  if (!picked?.[0]) return undefined;
  await useForVisualization(picked[0].fsPath);
  return picked[0].fsPath;
}
