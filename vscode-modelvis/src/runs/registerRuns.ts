// Wires the Runs view, the run panels, "Compare" of two checkpoints and a folder's checkpoint series into the extension.

import * as path from 'path';
import * as vscode from 'vscode';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import type { ModelsItem } from '../models/modelsView';
import { openComparePanel } from './comparePanel';
import { RunPanels } from './runPanel';
import { openSeriesPanel } from './seriesPanel';
import { RunsItem, RunsProvider } from './runsView';

export function registerRuns(extensionUri: vscode.Uri, host: HostClient, models: ModelService): vscode.Disposable[] {
  const provider = new RunsProvider(host);
  const panels = new RunPanels(extensionUri, host);
  const view = vscode.window.createTreeView<RunsItem>('modelvis.runs', { treeDataProvider: provider, canSelectMany: true, showCollapseAll: true });

  // New event files or logs in the workspace: look again (debounced; a training loop writes often).
  let debounce: NodeJS.Timeout | undefined;
  const changed = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => provider.refresh(), 2000);
  };
  const watcher = vscode.workspace.createFileSystemWatcher('**/{events.out.tfevents.*,*.csv,*.jsonl,*.ndjson}', false, true, false);
  watcher.onDidCreate(changed);
  watcher.onDidDelete(changed);

  return [
    provider,
    panels,
    view,
    watcher,
    { dispose: () => debounce && clearTimeout(debounce) },
    vscode.commands.registerCommand('modelvis.refreshRuns', () => provider.refresh()),
    vscode.commands.registerCommand('modelvis.openRun', async (item?: RunsItem, selected?: RunsItem[]) => {
      const chosen = (selected && selected.length > 1 ? selected : item ? [item] : []).flatMap(runsOf);
      if (chosen.length > 0) {
        panels.open(dedupe(chosen).map((e) => ({ path: e.path, name: e.name })));
        return;
      }
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, canSelectMany: true, openLabel: 'Open Run' });
      if (picked?.length) panels.open(picked.map((u) => ({ path: u.fsPath, name: path.basename(u.fsPath) })));
    }),
    vscode.commands.registerCommand('modelvis.checkpointSeries', async (item?: RunsItem) => {
      let folder = item?.type === 'run' ? item.entry.path : item?.type === 'tag' ? item.run.path : undefined;
      if (folder && !(await isFolder(folder))) folder = path.dirname(folder);
      if (!folder) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Show Weight Histograms' });
        folder = picked?.[0]?.fsPath;
      }
      if (folder) openSeriesPanel(extensionUri, host, folder);
    }),
    vscode.commands.registerCommand('modelvis.compareCheckpoints', async (item?: ModelsItem, selected?: ModelsItem[]) => {
      let paths = (selected && selected.length > 0 ? selected : item ? [item] : [])
        .map((i) => (i.type === 'model' ? i.entry.path : undefined))
        .filter((p): p is string => !!p);
      if (paths.length !== 2) {
        // Not two selected in the Models view: pick them.
        const entries = await models.discover().catch(() => []);
        const picks = await vscode.window.showQuickPick(
          entries.filter((e) => !e.error).map((e) => ({ label: e.name, description: e.path, path: e.path, picked: paths.includes(e.path) })),
          { canPickMany: true, title: 'ModelVis: choose two checkpoints to compare (A first)', placeHolder: 'Two checkpoints of one model' },
        );
        if (!picks) return;
        paths = picks.map((p) => p.path);
        if (paths.length !== 2) {
          void vscode.window.showWarningMessage(`ModelVis: Compare needs exactly two checkpoints; ${paths.length} chosen.`);
          return;
        }
      }
      openComparePanel(extensionUri, host, paths[0], paths[1]);
    }),
  ];
}

async function isFolder(p: string): Promise<boolean> {
  try {
    return (await vscode.workspace.fs.stat(vscode.Uri.file(p))).type === vscode.FileType.Directory;
  } catch {
    return false;
  }
}

function runsOf(item: RunsItem): Array<{ path: string; name: string }> {
  if (item.type === 'run') return [item.entry];
  if (item.type === 'tag') return [item.run];
  if (item.type === 'group') return item.runs;
  return [];
}

function dedupe<T extends { path: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.path) ? false : (seen.add(i.path), true)));
}
