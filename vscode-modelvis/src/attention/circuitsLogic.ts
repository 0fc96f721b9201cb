// Pure helpers of the circuits tabs (head detectors, direct logit attribution, activation patching): which score
// a cell shows, how strongly it is coloured, which heads pass the filter, and the edited prompt the panel offers.

import type { CircuitHeadsResult, HeadKind } from '../common/protocol';

export const HEAD_KINDS: Array<{ id: HeadKind; label: string }> = [
  { id: 'previous-token', label: 'Previous token' },
  { id: 'induction', label: 'Induction' },
  { id: 'duplicate-token', label: 'Duplicate token' },
];

/** The [layer][head] table of one detector. */
export function headTable(r: CircuitHeadsResult, kind: HeadKind): number[][] {
  return kind === 'previous-token' ? r.previousToken : kind === 'induction' ? r.induction : r.duplicateToken;
}

/** Heads whose score is above the threshold, strongest first. */
export function headsAbove(table: number[][], threshold: number): Array<{ layer: number; head: number; score: number }> {
  const out: Array<{ layer: number; head: number; score: number }> = [];
  table.forEach((row, layer) => row.forEach((score, head) => { if (score > threshold) out.push({ layer, head, score }); }));
  return out.sort((a, b) => b.score - a.score || a.layer - b.layer || a.head - b.head);
}

/** The largest |value| of some tables (the symmetric colour limit), at least a tiny positive number. */
export function absMax(...tables: Array<number[] | number[][]>): number {
  let m = 0;
  for (const t of tables) for (const v of t.flat()) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m > 0 ? m : 1e-12;
}

/** A value as a signed intensity in [-1, 1] against the limit (clamped; NaN → 0). */
export function signedIntensity(value: number, limit: number): number {
  if (!Number.isFinite(value) || limit <= 0) return 0;
  return Math.max(-1, Math.min(1, value / limit));
}

/**
 * The selection with one word changed, as a starting corrupted prompt: the first word that starts with a capital
 * letter (a name, usually) swapped for another of the same kind, else the last word. Returns the text unchanged
 * when it has no word.
 */
export function oneWordChanged(text: string): string {
  const words = [...text.matchAll(/\p{L}+/gu)];
  if (words.length === 0) return text;
  const named = words.find((m, i) => i > 0 && /^\p{Lu}/u.test(m[0])) ?? words.find((m) => /^\p{Lu}/u.test(m[0]));
  const target = named ?? words[words.length - 1];
  const swaps: Record<string, string> = { she: 'he', he: 'she', her: 'his', his: 'her', him: 'her', mom: 'dad', dad: 'mom', yes: 'no', no: 'yes', true: 'false', false: 'true' };
  const word = target[0];
  const lower = word.toLowerCase();
  let replacement = swaps[lower] ?? (named ? (word === 'Tim' ? 'Sam' : 'Tim') : 'thing');
  if (/^\p{Lu}/u.test(word)) replacement = replacement[0].toUpperCase() + replacement.slice(1);
  const at = target.index ?? 0;
  return text.slice(0, at) + replacement + text.slice(at + word.length);
}
