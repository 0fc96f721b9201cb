// Discovery and model trees from the host, cached until files or settings change; shared by the
// Models view, the tensor panel and the hover.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { resolveModelSetting } from '../common/modelSetting';
import { DiscoverParams, ModelEntry, ModelsDiscover, ModelsForget, ModelsTree, ModelTree, TensorRef } from '../common/protocol';
import { buildSuffixIndex, resolveTensorName } from '../common/tensorNames';
import { normalizeTree, walkTensors } from '../common/treeModel';
import { HostClient } from '../host/hostClient';

export interface TensorNameIndex {
  names: Set<string>;
  suffixes: Map<string, string[]>;
  byName: Map<string, TensorRef>;
}

export class ModelService implements vscode.Disposable {
  private discovery: Promise<ModelEntry[]> | undefined;
  private readonly trees = new Map<string, Promise<ModelTree>>();
  private readonly nameIndexes = new Map<string, TensorNameIndex>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when cached checkpoints were dropped (files or settings changed). */
  readonly onDidChange = this.changed.event;

  /** Extra discovery roots beyond modelvis.modelRoots (the built-in and trained models' folders). */
  private readonly rootProviders: Array<() => Promise<string[]>> = [];

  constructor(private readonly host: HostClient) {}

  /** Adds folders to search for checkpoints (asked afresh on every discovery). */
  addRoots(provider: () => Promise<string[]>): vscode.Disposable {
    this.rootProviders.push(provider);
    return new vscode.Disposable(() => {
      const i = this.rootProviders.indexOf(provider);
      if (i >= 0) this.rootProviders.splice(i, 1);
    });
  }

  /** Checkpoints in the workspace folders, modelvis.modelRoots and the Hugging Face cache. */
  discover(): Promise<ModelEntry[]> {
    if (!this.discovery) {
      const params: DiscoverParams = {
        // An untrusted workspace's folders are not searched (the Models view says so; see trust.ts).
        workspaceFolders: vscode.workspace.isTrusted ? (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath) : [],
        roots: modelRoots(),
        includeHfCache: true,
      };
      const p = Promise.all(this.rootProviders.map((f) => f().catch(() => [] as string[])))
        .then((extra) => this.host.request(ModelsDiscover, { ...params, roots: [...(params.roots ?? []), ...extra.flat()] }))
        .then((r) => r.models ?? []);
      p.catch(() => {
        if (this.discovery === p) this.discovery = undefined; // try again next time
      });
      this.discovery = p;
    }
    return this.discovery;
  }

  /** The model tree (headers only on the host), grouped; cached per checkpoint path. */
  tree(modelPath: string): Promise<ModelTree> {
    let p = this.trees.get(modelPath);
    if (!p) {
      p = this.host.request(ModelsTree, { path: modelPath }).then(normalizeTree);
      const cached = p;
      p.catch(() => {
        if (this.trees.get(modelPath) === cached) this.trees.delete(modelPath);
      });
      this.trees.set(modelPath, p);
    }
    return p;
  }

  /** The tensor names of a checkpoint, if its tree has already been loaded (no host call). */
  loadedNameIndex(modelPath: string): TensorNameIndex | undefined {
    return this.nameIndexes.get(modelPath);
  }

  async nameIndex(modelPath: string): Promise<TensorNameIndex> {
    const known = this.nameIndexes.get(modelPath);
    if (known) return known;
    const tree = await this.tree(modelPath);
    const byName = new Map<string, TensorRef>();
    for (const t of walkTensors(tree.root)) byName.set(t.name, t);
    const index = { names: new Set(byName.keys()), suffixes: buildSuffixIndex(byName.keys()), byName };
    this.nameIndexes.set(modelPath, index);
    return index;
  }

  /** The checkpoint's tensor for a name written in the editor, if it has one. */
  async findTensor(modelPath: string, text: string): Promise<TensorRef | undefined> {
    const index = await this.nameIndex(modelPath);
    const name = resolveTensorName(text, index.names, index.suffixes);
    return name ? index.byName.get(name) : undefined;
  }

  /** The absolute path that modelvis.model names, or undefined when unset or unknown. */
  async modelInUse(options: { discoverIfNeeded: boolean }): Promise<string | undefined> {
    const value = vscode.workspace.getConfiguration('modelvis').get<string>('model');
    if (!value?.trim()) return undefined;
    const ctx = {
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      home: os.homedir(),
      exists: (p: string) => fs.existsSync(p),
    };
    const direct = resolveModelSetting(value, ctx);
    if (direct || !options.discoverIfNeeded) return direct;
    const entries = await this.discover().catch(() => []);
    return resolveModelSetting(value, { ...ctx, entries });
  }

  /**
   * Files changed on disk: the host forgets the checkpoints they belong to (it keeps them open and
   * mapped), then every cache is dropped.
   */
  async filesChanged(paths: readonly string[]): Promise<void> {
    const affected = [...this.trees.keys()].filter((m) => paths.some((p) => p === m || p.startsWith(m.endsWith(path.sep) ? m : m + path.sep)));
    if (affected.length > 0) {
      await Promise.all(affected.map((m) => this.host.request(ModelsForget, { path: m }).catch(() => undefined)));
    }
    this.invalidate();
  }

  /** Drops everything cached, so the next look asks the host again. */
  invalidate(): void {
    this.discovery = undefined;
    this.trees.clear();
    this.nameIndexes.clear();
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function modelRoots(): string[] {
  const roots = vscode.workspace.getConfiguration('modelvis').get<string[]>('modelRoots') ?? [];
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  return roots
    .filter((r) => typeof r === 'string' && r.trim())
    .map((r) => resolveModelSetting(r, { workspaceFolders: folders, home: os.homedir(), exists: fs.existsSync }) ?? r);
}
