// The Runs view (beside Models in the ModelVis side bar): folders of the workspace with event files or training
// logs, grouped by their parent folder (lightning_logs → version_0, version_1), each run's tags below it.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage } from '../common/errors';
import { BuiltinStatusRequest, RunEntry, RunsDiscover, RunsTags, WireNumber } from '../common/protocol';
import { formatNumber } from '../common/format';
import { num } from '../common/runsChart';
import { HostClient } from '../host/hostClient';

export type RunsItem =
  | { type: 'group'; name: string; runs: RunEntry[] }
  | { type: 'run'; entry: RunEntry }
  | { type: 'tag'; run: RunEntry; tag: string; kind: 'scalar' | 'histogram'; count: number; last?: WireNumber | null }
  | { type: 'message'; id: string; text: string; severity: 'error' | 'info' };

export class RunsProvider implements vscode.TreeDataProvider<RunsItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsItem | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly host: HostClient) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: RunsItem): vscode.TreeItem {
    switch (item.type) {
      case 'group': {
        const t = new vscode.TreeItem(item.name, vscode.TreeItemCollapsibleState.Expanded);
        t.id = `runs-group:${item.name}`;
        t.description = `${item.runs.length} runs`;
        t.iconPath = vscode.ThemeIcon.Folder;
        t.contextValue = 'modelvis.runGroup';
        return t;
      }
      case 'run': {
        const e = item.entry;
        const t = new vscode.TreeItem(path.basename(e.path), vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `run:${e.path}`;
        t.description = [...new Set(e.files.map((f) => f.kind))].join(', ') + ` · ${new Date(e.lastWrite).toLocaleString()}`;
        t.tooltip = `${e.path}\n${e.files.map((f) => `${path.basename(f.path)} (${f.size.toLocaleString()} bytes)`).join('\n')}`;
        t.iconPath = new vscode.ThemeIcon('graph-line');
        t.contextValue = 'modelvis.run';
        t.command = { command: 'modelvis.openRun', title: 'Open Run', arguments: [item] };
        return t;
      }
      case 'tag': {
        const t = new vscode.TreeItem(item.tag, vscode.TreeItemCollapsibleState.None);
        t.id = `run-tag:${item.run.path}|${item.kind}|${item.tag}`;
        t.description =
          item.kind === 'scalar'
            ? `${item.count} points${item.last !== null && item.last !== undefined ? ` · last ${formatNumber(num(item.last))}` : ''}`
            : `${item.count} histograms`;
        t.iconPath = new vscode.ThemeIcon(item.kind === 'scalar' ? 'pulse' : 'graph');
        t.contextValue = 'modelvis.runTag';
        t.command = { command: 'modelvis.openRun', title: 'Open Run', arguments: [{ type: 'run', entry: item.run }] };
        return t;
      }
      case 'message': {
        const t = new vscode.TreeItem(item.text, vscode.TreeItemCollapsibleState.None);
        t.id = item.id;
        t.iconPath = item.severity === 'error' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')) : new vscode.ThemeIcon('info');
        return t;
      }
    }
  }

  async getChildren(item?: RunsItem): Promise<RunsItem[]> {
    if (!item) return this.roots();
    if (item.type === 'group') return item.runs.map((entry) => ({ type: 'run' as const, entry }));
    if (item.type === 'run') {
      try {
        const res = await this.host.request(RunsTags, { path: item.entry.path }, { timeoutMs: 300_000 });
        const tags: RunsItem[] = res.tags.map((t) => ({ type: 'tag' as const, run: item.entry, tag: t.tag, kind: t.kind, count: t.count, last: t.last }));
        const problems: RunsItem[] = res.problems
          ? [{ type: 'message', id: `run-problems:${item.entry.path}`, text: `${res.problems} damaged records skipped`, severity: 'error' }]
          : [];
        return [...tags, ...problems];
      } catch (e) {
        return [{ type: 'message', id: `run-err:${item.entry.path}`, text: errorMessage(e), severity: 'error' }];
      }
    }
    return [];
  }

  getParent(): undefined {
    return undefined;
  }

  private async roots(): Promise<RunsItem[]> {
    // An untrusted workspace's folders are not searched (see trust.ts).
    const folders = vscode.workspace.isTrusted ? (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath) : [];
    let runs: RunEntry[];
    try {
      // The built-in model's training and "Train a Tiny Model on This File" write event files beside their models.
      const builtin = await this.host.request(BuiltinStatusRequest, {}).catch(() => undefined);
      const roots = builtin ? [builtin.folder, builtin.trainedRoot] : [];
      ({ runs } = await this.host.request(RunsDiscover, { workspaceFolders: folders, roots }));
    } catch (e) {
      return [{ type: 'message', id: 'runs-discover-error', text: `Could not look for runs: ${errorMessage(e)}`, severity: 'error' }];
    }
    return groupRuns(runs);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Runs that share a parent folder with other runs are grouped under it; a lone run stands at the top. */
export function groupRuns(runs: RunEntry[]): RunsItem[] {
  const byParent = new Map<string, RunEntry[]>();
  for (const r of runs) {
    const parent = path.dirname(r.path);
    const list = byParent.get(parent);
    if (list) list.push(r);
    else byParent.set(parent, [r]);
  }
  const items: RunsItem[] = [];
  for (const [parent, list] of byParent) {
    if (list.length > 1) {
      const rel = path.posix.dirname(list[0].name);
      items.push({ type: 'group', name: rel && rel !== '.' ? rel : path.basename(parent), runs: list });
    } else items.push({ type: 'run', entry: list[0] });
  }
  return items;
}
