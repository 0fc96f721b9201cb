// Finding tensor names in editor text (pure: used by the hover provider).

/** The characters a tensor name is made of: letters, digits, '.', '_' (and '-' or '/' inside quotes are not names). */
const NAME_CHAR = /[A-Za-z0-9_.]/;

/** A dotted identifier such as "model.layers.0.mlp.down_proj.weight" (at least two parts). */
const DOTTED_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/;

/** True when the text looks like a tensor name and is worth asking the host about. */
export function looksLikeTensorName(text: string): boolean {
  return text.length >= 3 && text.length <= 300 && DOTTED_NAME.test(text);
}

export interface Candidate {
  text: string;
  /** Column range in the line, end exclusive. */
  start: number;
  end: number;
}

/**
 * The tensor-name candidate under the cursor: the contents of the string literal that encloses
 * `character` when it is a bare name, otherwise the run of name characters around it.
 * Leading/trailing dots are trimmed so a sentence's full stop does not spoil the match.
 */
export function candidateAt(line: string, character: number): Candidate | undefined {
  const literal = stringLiteralAt(line, character);
  if (literal && /^[A-Za-z0-9_.]+$/.test(literal.text)) return literal;
  let start = character;
  let end = character;
  while (start > 0 && NAME_CHAR.test(line[start - 1])) start--;
  while (end < line.length && NAME_CHAR.test(line[end])) end++;
  while (start < end && line[start] === '.') start++;
  while (end > start && line[end - 1] === '.') end--;
  if (start >= end || character < start || character > end) return undefined;
  return { text: line.slice(start, end), start, end };
}

/** The contents of the '…', "…" or `…` literal (one line) that contains the column, if any. */
export function stringLiteralAt(line: string, character: number): Candidate | undefined {
  let open = -1;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (open >= 0) {
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === quote) {
        if (character > open && character <= i) return { text: line.slice(open + 1, i), start: open + 1, end: i };
        open = -1;
      }
    } else if (c === '"' || c === "'" || c === '`') {
      open = i;
      quote = c;
    }
  }
  return undefined;
}

/**
 * The checkpoint's name for what the user wrote: the exact name, or else the only tensor whose
 * name ends with ".<text>" (so "layers.0.mlp.down_proj.weight" finds "model.layers.0.mlp.down_proj.weight").
 */
export function resolveTensorName(text: string, names: ReadonlySet<string>, suffixIndex?: Map<string, string[]>): string | undefined {
  if (names.has(text)) return text;
  if (!looksLikeTensorName(text)) return undefined;
  const matches = suffixIndex ? suffixIndex.get(text) ?? [] : [...names].filter((n) => n.endsWith('.' + text));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Index from every proper dotted suffix ("mlp.down_proj.weight", …) to the names that end with it. */
export function buildSuffixIndex(names: Iterable<string>): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const name of names) {
    let dot = name.indexOf('.');
    while (dot >= 0) {
      const suffix = name.slice(dot + 1);
      if (suffix.includes('.')) {
        const list = index.get(suffix);
        if (list) list.push(name);
        else index.set(suffix, [name]);
      }
      dot = name.indexOf('.', dot + 1);
    }
  }
  return index;
}
