// Colours of uPlot charts from the VS Code theme's CSS variables (canvas drawing needs concrete colours).

const SERIES_VARS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function seriesColor(i: number): string {
  return cssVar(SERIES_VARS[i % SERIES_VARS.length], FALLBACK[i % FALLBACK.length]);
}

/** A colour with an alpha (for raw series behind their smoothed line, and for bands). */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const rgb = /^rgba?\(([^)]+)\)$/i.exec(color);
  if (rgb) {
    const [r, g, b] = rgb[1].split(',').map((x) => x.trim());
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  return color;
}

export function axisTheme(): { stroke: string; grid: string; ticks: string } {
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const border = cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', '#80808059'));
  return { stroke: fg, grid: withAlpha(border, 0.5), ticks: withAlpha(border, 0.8) };
}
