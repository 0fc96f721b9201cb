// The Models view: checkpoints → modules → tensors, loaded from the host lazily.

import * as vscode from 'vscode';
import { errorMessage } from '../common/errors';
import { isSameModelPath } from '../common/modelSetting';
import { distinguishingFolders, groupModels, ModelGroup } from '../common/modelGroups';
import { modelDescription, modelTooltip, moduleDescription, tensorDescription, tensorTooltip } from '../common/labels';
import { ModelEntry, ModelTree, TreeNode } from '../common/protocol';
import { nodeLabel } from '../common/treeModel';
import { ModelService } from './modelService';

export type ModelsItem =
  | { type: 'group'; group: ModelGroup; models: Array<ModelsItem & { type: 'model' }> }
  | { type: 'model'; entry: ModelEntry }
  | { type: 'node'; modelPath: string; node: TreeNode }
  | { type: 'message'; id: string; text: string; detail?: string; severity: 'error' | 'info' };

/** Arguments of modelvis.openTensor (also used by hovers' command links). */
export interface OpenTensorArgs {
  modelPath: string;
  tensor: string;
}

/** How many trees to fetch in the background after discovery, for the rows' descriptions. */
const EAGER_TREES = 24;

export class ModelsProvider implements vscode.TreeDataProvider<ModelsItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelsItem | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly loadedTrees = new Map<string, ModelTree>();
  private readonly treeErrors = new Map<string, string>();
  private modelItems = new Map<string, ModelsItem & { type: 'model' }>();
  /** The folder shown beside a model whose name another model shares. */
  private folders = new Map<string, string>();
  private inUse: string | undefined;
  private generation = 0;

  constructor(private readonly models: ModelService) {}

  refresh(): void {
    this.generation++;
    this.loadedTrees.clear();
    this.treeErrors.clear();
    this.changed.fire();
  }

  /** modelvis.model changed: only the "in use" marks change. */
  async updateInUse(): Promise<void> {
    this.inUse = await this.models.modelInUse({ discoverIfNeeded: false });
    this.changed.fire();
  }

  getTreeItem(item: ModelsItem): vscode.TreeItem {
    switch (item.type) {
      case 'group': {
        const t = new vscode.TreeItem(item.group.label, vscode.TreeItemCollapsibleState.Expanded);
        t.id = `group:${item.group.id}`;
        t.description = `${item.models.length}`;
        t.tooltip = `${item.models.length} model${item.models.length === 1 ? '' : 's'} found in ${item.group.label}`;
        t.contextValue = 'modelvis.modelGroup';
        return t;
      }
      case 'model':
        return this.modelTreeItem(item);
      case 'node':
        return nodeTreeItem(item.modelPath, item.node);
      case 'message': {
        const t = new vscode.TreeItem(item.text, vscode.TreeItemCollapsibleState.None);
        t.id = item.id;
        t.tooltip = item.detail ?? item.text;
        t.contextValue = item.severity === 'error' ? 'modelvis.error' : 'modelvis.message';
        t.iconPath =
          item.severity === 'error' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')) : new vscode.ThemeIcon('info');
        return t;
      }
    }
  }

  async getChildren(item?: ModelsItem): Promise<ModelsItem[]> {
    if (!item) return this.roots();
    if (item.type === 'group') return item.models;
    if (item.type === 'model') {
      try {
        const tree = await this.loadTree(item.entry.path);
        return (tree.root.children ?? []).map((node) => ({ type: 'node' as const, modelPath: item.entry.path, node }));
      } catch (e) {
        return [{ type: 'message', id: `err:${item.entry.path}`, text: errorMessage(e), severity: 'error' }];
      }
    }
    if (item.type === 'node') return (item.node.children ?? []).map((node) => ({ type: 'node' as const, modelPath: item.modelPath, node }));
    return [];
  }

  getParent(): undefined {
    return undefined;
  }

  private async roots(): Promise<ModelsItem[]> {
    const generation = this.generation;
    let entries: ModelEntry[];
    try {
      [entries, this.inUse] = await vscode.window.withProgress({ location: { viewId: 'modelvis.models' } }, () =>
        Promise.all([this.models.discover(), this.models.modelInUse({ discoverIfNeeded: false })]),
      );
    } catch (e) {
      return [{ type: 'message', id: 'discover-error', text: `Could not look for checkpoints: ${errorMessage(e)}`, detail: errorMessage(e), severity: 'error' }];
    }
    const groups = groupModels(entries);
    const sorted = groups.flatMap((g) => g.entries);
    this.modelItems = new Map(sorted.map((entry) => [entry.path, { type: 'model' as const, entry }]));
    this.folders = distinguishingFolders(entries);
    // Fill in parameters and dtypes in the background, two at a time.
    const pending = sorted.filter((e) => !e.error && !this.loadedTrees.has(e.path)).slice(0, EAGER_TREES);
    void runLimited(pending, 2, async (entry) => {
      if (generation !== this.generation) return;
      await this.loadTree(entry.path).catch(() => undefined);
      const it = this.modelItems.get(entry.path);
      if (it && generation === this.generation) this.changed.fire(it);
    });
    return groups.map(({ group, entries: inGroup }) => ({ type: 'group' as const, group, models: inGroup.map((e) => this.modelItems.get(e.path)!) }));
  }

  private async loadTree(modelPath: string): Promise<ModelTree> {
    try {
      const tree = await this.models.tree(modelPath);
      this.loadedTrees.set(modelPath, tree);
      this.treeErrors.delete(modelPath);
      return tree;
    } catch (e) {
      this.treeErrors.set(modelPath, errorMessage(e));
      throw e;
    }
  }

  private modelTreeItem(item: ModelsItem & { type: 'model' }): vscode.TreeItem {
    const { entry } = item;
    if (entry.error) {
      const t = new vscode.TreeItem(entry.name, vscode.TreeItemCollapsibleState.None);
      t.id = `model:${entry.path}`;
      t.description = this.withFolder(entry, entry.error);
      t.tooltip = modelTooltip(entry);
      t.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      t.contextValue = 'modelvis.checkpointError';
      return t;
    }
    const tree = this.loadedTrees.get(entry.path);
    const treeError = this.treeErrors.get(entry.path);
    const inUse = isSameModelPath(this.inUse, entry.path);
    const t = new vscode.TreeItem(entry.name, vscode.TreeItemCollapsibleState.Collapsed);
    t.id = `model:${entry.path}`;
    t.description = this.withFolder(entry, (inUse ? 'in use · ' : '') + (treeError ? treeError : modelDescription(entry, tree)));
    t.tooltip = modelTooltip(entry, tree) + (treeError ? `\nError: ${treeError}` : '') + (inUse ? '\nUsed for visualization (modelvis.model)' : '');
    t.iconPath = treeError
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
      : new vscode.ThemeIcon(inUse ? 'pass-filled' : entry.kind === 'file' ? 'file-binary' : 'package');
    t.contextValue = inUse ? 'modelvis.checkpoint.inUse' : 'modelvis.checkpoint';
    t.resourceUri = undefined;
    return t;
  }

  /** "runs/a · …" for a model whose name another model shares. */
  private withFolder(entry: ModelEntry, description: string): string {
    const folder = this.folders.get(entry.path);
    return folder ? `${folder} · ${description}` : description;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function nodeTreeItem(modelPath: string, node: TreeNode): vscode.TreeItem {
  const id = `node:${modelPath}|${node.kind}|${node.path}|${node.name}`;
  if (node.kind === 'tensor' && node.tensor) {
    const t = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
    t.id = id;
    t.description = tensorDescription(node.tensor);
    t.tooltip = tensorTooltip(node.tensor);
    t.iconPath = new vscode.ThemeIcon(node.tensor.shape.length <= 1 ? 'symbol-array' : 'symbol-field');
    t.contextValue = 'modelvis.tensor';
    const args: OpenTensorArgs = { modelPath, tensor: node.tensor.name };
    t.command = { command: 'modelvis.openTensor', title: 'Open Tensor', arguments: [args] };
    t.accessibilityInformation = { label: `Tensor ${node.tensor.name}, ${t.description}` };
    return t;
  }
  const t = new vscode.TreeItem(nodeLabel(node), vscode.TreeItemCollapsibleState.Collapsed);
  t.id = id;
  t.description = moduleDescription(node);
  t.tooltip = node.path || node.name;
  t.iconPath = new vscode.ThemeIcon(node.kind === 'layers' ? 'layers' : 'symbol-namespace');
  t.contextValue = node.kind === 'layers' ? 'modelvis.layers' : 'modelvis.module';
  return t;
}

async function runLimited<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
