import * as vscode from 'vscode';

/** Sets modelvis.model: in the workspace settings when a folder is open, else in the user settings. */
export async function useForVisualization(modelPath: string): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('modelvis').update('model', modelPath, target);
  vscode.window.setStatusBarMessage(`ModelVis: using ${modelPath}`, 4000);
}
