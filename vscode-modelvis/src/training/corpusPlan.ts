// What "Train a Tiny Model on This File" trains on (pure): the document alone when it is long enough,
// else the document plus the workspace's files of the same kind, up to a budget.

import * as path from 'path';

/** Below this many characters a single document is too little text; the workspace's files of its language join it. */
export const SHORT_DOCUMENT = 20 * 1024;
/** At most this many bytes of text in all (a few MB keeps the tokenizer and the run to minutes). */
export const CORPUS_BUDGET = 4 * 1024 * 1024;
/** Larger files are skipped (generated or data files, mostly). */
export const MAX_FILE = 1024 * 1024;

/** Folders never searched for training text. */
export const EXCLUDE_GLOB = '**/{node_modules,.git,dist,out,bin,obj,build,target,.venv,venv,__pycache__}/**';

/** The glob of files like this one ("**\/*.ts"), or undefined when the name has no extension. */
export function sameKindGlob(fileName: string): string | undefined {
  const ext = path.extname(fileName);
  if (!ext || !/^\.[A-Za-z0-9_+-]+$/.test(ext)) return undefined;
  return `**/*${ext}`;
}

/** The trained model's name: the file's stem, made safe for a folder name. */
export function modelName(fileName: string): string {
  const stem = path.basename(fileName, path.extname(fileName)).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return (stem || 'text').slice(0, 40);
}

export interface Candidate {
  path: string;
  size: number;
}

/**
 * Files to add to the active document, in a stable (path) order: not the document itself, none empty or
 * over MAX_FILE, stopping before the budget (what the document already uses counts) is exceeded.
 */
export function pickFiles(candidates: readonly Candidate[], activePath: string | undefined, usedBytes: number, budget = CORPUS_BUDGET): Candidate[] {
  const picked: Candidate[] = [];
  let total = usedBytes;
  const sorted = [...candidates].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const c of sorted) {
    if (c.path === activePath || c.size <= 0 || c.size > MAX_FILE) continue;
    if (total + c.size > budget) continue;
    picked.push(c);
    total += c.size;
  }
  return picked;
}

/** Whether a file's text looks like text (no NUL characters). */
export function isText(content: string): boolean {
  return !content.includes('\0');
}
