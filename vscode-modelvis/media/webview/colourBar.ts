// A colour bar for the pictures the host draws: the colormap's ramp (every tenth of the host's viridis and
// magma tables, the diverging map's own anchors) with its ends and middle labelled. SVG, so Save PNG draws it.

import { svg } from './common';

export const COLORMAP_STOPS: Record<'viridis' | 'magma' | 'rdbu', string[]> = {
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1e9d89', '#35b779', '#6ccd5a', '#b2dd2d', '#fde725'],
  magma: ['#000004', '#180f3d', '#440f76', '#721f81', '#9e2f7f', '#cc3f71', '#f1605d', '#fd9467', '#fec88c', '#fcfdbf'],
  // Blue – white – red (matplotlib's RdBu reversed), centred at 0.
  rdbu: ['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f'],
};

export interface ColourBar {
  colormap: string;
  low: string;
  mid?: string;
  high: string;
  /** What the colours mean, for screen readers. */
  label: string;
  width?: number;
}

let nextGradient = 0;

export function colourBar(o: ColourBar): SVGElement {
  const stops = COLORMAP_STOPS[o.colormap.toLowerCase() as keyof typeof COLORMAP_STOPS] ?? COLORMAP_STOPS.viridis;
  const w = o.width ?? 240;
  const id = `colour-bar-${nextGradient++}`;
  return svg(
    'svg',
    { class: 'colour-bar', viewBox: `0 0 ${w} 30`, width: w, height: 30, role: 'img', 'aria-label': o.label, 'data-colormap': o.colormap },
    svg('defs', {}, svg('linearGradient', { id, x1: 0, x2: 1, y1: 0, y2: 0 }, ...stops.map((c, i) => svg('stop', { offset: i / (stops.length - 1), 'stop-color': c })))),
    svg('rect', { class: 'legend-bar', x: 0, y: 0, width: w, height: 12, fill: `url(#${id})` }),
    svg('text', { class: 'axis-label', x: 0, y: 26, 'text-anchor': 'start' }, o.low),
    o.mid === undefined ? null : svg('text', { class: 'axis-label', x: w / 2, y: 26, 'text-anchor': 'middle' }, o.mid),
    svg('text', { class: 'axis-label', x: w, y: 26, 'text-anchor': 'end' }, o.high),
  );
}
