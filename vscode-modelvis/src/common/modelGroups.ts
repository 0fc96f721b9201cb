// The Models view's top level (pure): discovered models grouped by where they were found, and the folder
// that tells apart models of the same name.

import type { ModelEntry, ModelSource } from './protocol';

export interface ModelGroup {
  id: string;
  label: string;
  sources: readonly ModelSource[];
}

/** In the order the view lists them; the local runtimes' stores hold GGUF files. */
export const MODEL_GROUPS: readonly ModelGroup[] = [
  { id: 'workspace', label: 'Workspace', sources: ['workspace'] },
  { id: 'root', label: 'Extra folders', sources: ['root'] },
  { id: 'hf-cache', label: 'Hugging Face cache', sources: ['hf-cache'] },
  { id: 'gguf', label: 'GGUF stores', sources: ['ollama', 'lm-studio', 'llama.cpp'] },
];

/** The groups that have models, each with its models by name. */
export function groupModels(entries: readonly ModelEntry[]): Array<{ group: ModelGroup; entries: ModelEntry[] }> {
  return MODEL_GROUPS.map((group) => ({
    group,
    entries: entries.filter((e) => group.sources.includes(e.source)).sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path)),
  })).filter((g) => g.entries.length > 0);
}

/**
 * For each model whose name another model shares: the end of its folder path that no other of them has
 * ("runs/a" and "runs/b" for two "checkpoint-100"s). Models with a name of their own are not in the map.
 */
export function distinguishingFolders(entries: readonly ModelEntry[]): Map<string, string> {
  const byName = new Map<string, ModelEntry[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  const out = new Map<string, string>();
  for (const same of byName.values()) {
    if (same.length < 2) continue;
    const dirs = same.map((e) => e.path.split(/[\\/]/).filter(Boolean).slice(0, -1));
    const longest = Math.max(...dirs.map((d) => d.length));
    for (let k = 1; k <= longest; k++) {
      const tails = dirs.map((d) => d.slice(-k).join('/'));
      if (new Set(tails).size === tails.length || k === longest) {
        same.forEach((e, i) => out.set(e.path, tails[i] || '/'));
        break;
      }
    }
  }
  return out;
}
