// Number and shape formatting shared by the extension and the webviews (pure: no vscode, no DOM).

const SUFFIXES: Array<[number, string]> = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'K'],
];

/** Parameter counts the way model cards write them: 124439808 → "124.4M", 950 → "950". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  if (Math.round(a) < 1000) return sign + String(Math.round(a));
  // Smallest unit first, so that 999,999.6 rounds up into "1M" rather than "1000K".
  for (let i = SUFFIXES.length - 1; i >= 0; i--) {
    const [size, suffix] = SUFFIXES[i];
    const v = a / size;
    const text = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    if (Number(text) >= 1000 && i > 0) continue;
    return sign + trimZeros(text) + suffix;
  }
  return sign + String(Math.round(a));
}

/** Exact count with thin grouping: 124439808 → "124,439,808". */
export function formatInteger(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = Math.round(Math.abs(n)).toString();
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (n < 0 ? '-' : '') + grouped;
}

/** A statistic: 4 significant digits, exponent notation when very large or very small. */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) {
    const [mant, exp] = x.toExponential(digits - 1).split('e');
    return `${trimZeros(mant)}e${exp.replace('+', '')}`;
  }
  return String(Number(x.toPrecision(digits)));
}

/** A share in [0, 1] as a percentage: 0.1234 → "12.34%"; tiny non-zero shares are not shown as 0. */
export function formatPercent(f: number): string {
  if (!Number.isFinite(f)) return String(f);
  if (f === 0) return '0%';
  const p = f * 100;
  if (p < 0.01) return '<0.01%';
  if (p > 99.99 && p < 100) return '>99.99%';
  return `${trimZeros(p.toFixed(2))}%`;
}

/** Shape as "768×3072"; a scalar is "scalar". */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 0) return 'scalar';
  return shape.join('×');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${trimZeros(v.toFixed(v >= 100 ? 0 : 1))} ${units[i]}`;
}

/** Map of dtype → parameter count, as "F32" or "BF16 98% · F32 2%". */
export function formatDtypes(dtypes: Record<string, number>): string {
  const entries = Object.entries(dtypes).filter(([, n]) => n > 0);
  if (entries.length === 0) return '';
  if (entries.length === 1) return entries[0][0];
  const total = entries.reduce((s, [, n]) => s + n, 0);
  entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([d, n]) => `${d} ${Math.round((n / total) * 100)}%`).join(' · ');
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
