// Workspace trust (pure): in an untrusted workspace ModelVis opens nothing from the workspace's folders —
// no checkpoint, picture, run or text file reaches the host — until the user trusts it. Files outside the
// workspace (the Hugging Face cache, the user's own model roots) are the user's, and still open.

import * as path from 'path';

/** Paths the host would read from inside `folders`: every absolute path among the params' strings. */
export function workspacePathsIn(params: unknown, folders: readonly string[]): string[] {
  const found: string[] = [];
  const inside = (p: string) =>
    folders.some((f) => {
      const rel = path.relative(f, p);
      return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
    });
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || v === undefined) return;
    if (typeof v === 'string') {
      if (path.isAbsolute(v) && inside(path.resolve(v))) found.push(v);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
    else if (typeof v === 'object') Object.values(v as Record<string, unknown>).forEach((x) => walk(x, depth + 1));
  };
  walk(params, 0);
  return found;
}

/** The workspace's local folders that are not trusted (none when the workspace is trusted). */
export function untrustedFolders(trusted: boolean, folders: readonly { uri: { scheme: string; fsPath: string } }[] | undefined): string[] {
  return trusted ? [] : (folders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

/** A request that would open a file of a workspace the user has not trusted. */
export class UntrustedWorkspaceError extends Error {
  constructor(readonly paths: string[]) {
    super(
      `ModelVis opens no file of this workspace until you trust it (Restricted Mode): ${path.basename(paths[0])}` +
        `${paths.length > 1 ? ` and ${paths.length - 1} more stay` : ' stays'} closed. Trust the workspace to open it.`,
    );
    this.name = 'UntrustedWorkspaceError';
  }
}
