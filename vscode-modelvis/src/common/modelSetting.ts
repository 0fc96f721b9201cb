// How the modelvis.model setting names a checkpoint (pure, with the file test passed in).

import * as path from 'path';

export interface ModelSettingContext {
  workspaceFolders: readonly string[];
  home: string;
  exists: (p: string) => boolean;
  /** Discovered checkpoints, for names such as "org/name" from the Hugging Face cache. */
  entries?: ReadonlyArray<{ name: string; path: string }>;
}

/**
 * The absolute path the setting means: an absolute path, "~/…", a path relative to a workspace
 * folder, or the name of a discovered checkpoint ("org/name"). Undefined when it names nothing.
 */
export function resolveModelSetting(value: string | undefined, ctx: ModelSettingContext): string | undefined {
  const v = (value ?? '').trim();
  if (!v) return undefined;
  if (v === '~' || v.startsWith('~/')) return path.join(ctx.home, v.slice(1));
  if (path.isAbsolute(v)) return path.normalize(v);
  for (const folder of ctx.workspaceFolders) {
    const candidate = path.join(folder, v);
    if (ctx.exists(candidate)) return candidate;
  }
  const byName = ctx.entries?.find((e) => e.name === v);
  if (byName) return byName.path;
  return undefined;
}

/** Whether a discovered checkpoint is the one the setting names (for the "in use" mark). */
export function isSameModelPath(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const norm = (p: string) => path.normalize(p).replace(/[\\/]+$/, '');
  return norm(a) === norm(b);
}
