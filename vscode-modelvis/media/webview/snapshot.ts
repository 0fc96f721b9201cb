// "Save PNG" of a view drawn by the webview itself (token grids, SVG charts, labels beside host
// pictures): a figure of the element as the browser laid it out — backgrounds, borders, images, SVGs
// and text at their client rectangles, in the theme's computed colours — under a title (model, view,
// layer or head), at twice the on-screen resolution. While it is drawn, scrolling parts of the view
// show all they hold (class mv-exporting), so nothing is clipped. Controls (`.controls`: sliders,
// lists) are left out.

import { h, post } from './common';

const TRANSPARENT = new Set(['transparent', 'rgba(0, 0, 0, 0)']);
const TITLE_SIZE = 15;
const SUBTITLE_SIZE = 12;
const MARGIN = 16;

export interface FigureTitle {
  title: string;
  subtitle?: string;
}

/** PNG (base64, no data: prefix) of `root` under its title, on the page's background. */
export async function snapshotPng(root: HTMLElement, heading: FigureTitle): Promise<string> {
  root.classList.add('mv-exporting');
  try {
    await new Promise(requestAnimationFrame);
    const body = getComputedStyle(document.body);
    const box = pictureBox(root);
    const scale = 2 * Math.max(1, Math.min(2, window.devicePixelRatio || 1));
    const top = MARGIN + TITLE_SIZE + (heading.subtitle ? 6 + SUBTITLE_SIZE : 0) + 12;
    const width = Math.max(box.width, textWidth(heading, body)) + 2 * MARGIN;
    const height = top + box.height + MARGIN;
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * scale);
    canvas.height = Math.ceil(height * scale);
    const ctx = canvas.getContext('2d')!;
    ctx.scale(scale, scale);
    ctx.fillStyle = body.backgroundColor;
    ctx.fillRect(0, 0, width, height);
    ctx.textBaseline = 'alphabetic';
    ctx.fillStyle = body.color;
    ctx.font = `600 ${TITLE_SIZE}px ${body.fontFamily}`;
    ctx.fillText(heading.title, MARGIN, MARGIN + TITLE_SIZE);
    if (heading.subtitle) {
      ctx.globalAlpha = 0.75;
      ctx.font = `${SUBTITLE_SIZE}px ${body.fontFamily}`;
      ctx.fillText(heading.subtitle, MARGIN, MARGIN + TITLE_SIZE + 6 + SUBTITLE_SIZE);
      ctx.globalAlpha = 1;
    }
    ctx.translate(MARGIN - box.left, top - box.top);
    await paint(ctx, root, box);
    return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  } finally {
    root.classList.remove('mv-exporting');
  }
}

/** A "Save PNG" button: the figure of what `root()` shows now, saved by the panel (ModelVisPanel). */
export function savePngButton(root: () => HTMLElement | null, heading: () => FigureTitle, name: () => string): HTMLButtonElement {
  const b = h('button', { id: 'save-png', class: 'secondary', type: 'button' }, 'Save PNG');
  b.addEventListener('click', async () => {
    const el = root();
    if (el) post({ type: 'savePng', png: await snapshotPng(el, heading()), name: name() });
  });
  return b;
}

function textWidth(heading: FigureTitle, body: CSSStyleDeclaration): number {
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.font = `600 ${TITLE_SIZE}px ${body.fontFamily}`;
  const w = ctx.measureText(heading.title).width;
  ctx.font = `${SUBTITLE_SIZE}px ${body.fontFamily}`;
  return Math.max(w, heading.subtitle ? ctx.measureText(heading.subtitle).width : 0);
}

/** The root's rectangle without the controls at its edges (they are not drawn), as wide as what it holds. */
function pictureBox(root: HTMLElement): DOMRect {
  const parts = Array.from(root.children).filter((c) => !c.classList.contains('controls')).map((c) => c.getBoundingClientRect());
  const r = root.getBoundingClientRect();
  if (parts.length === 0) return r;
  const top = Math.min(...parts.map((p) => p.top));
  const bottom = Math.max(...parts.map((p) => p.bottom));
  const right = Math.max(r.right, ...parts.map((p) => p.right), r.left + root.scrollWidth);
  return new DOMRect(r.left, top, right - r.left, bottom - top);
}

async function paint(ctx: CanvasRenderingContext2D, el: Element, clip: DOMRect): Promise<void> {
  const style = getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0 || el.classList.contains('controls')) return;
  const r = el.getBoundingClientRect();
  ctx.save();
  clipTo(ctx, clip);
  if (!TRANSPARENT.has(style.backgroundColor)) {
    ctx.fillStyle = style.backgroundColor;
    ctx.fillRect(r.left, r.top, r.width, r.height);
  }
  strokeBorders(ctx, style, r);
  if (el instanceof HTMLImageElement && el.complete && el.naturalWidth > 0) {
    ctx.imageSmoothingEnabled = style.imageRendering !== 'pixelated';
    ctx.drawImage(el, r.left, r.top, r.width, r.height);
  } else if (el instanceof HTMLCanvasElement) {
    ctx.drawImage(el, r.left, r.top, r.width, r.height);
  } else if (el instanceof SVGSVGElement) {
    const img = await svgImage(el);
    if (img) ctx.drawImage(img, r.left, r.top, r.width, r.height);
  }
  ctx.restore();
  if (el instanceof SVGSVGElement || el instanceof HTMLImageElement || el instanceof HTMLCanvasElement) return;
  // Children are clipped by this element when it hides or scrolls its overflow.
  const inner = style.overflow === 'visible' ? clip : intersect(clip, r);
  for (const child of Array.from(el.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) paintText(ctx, child as Text, style, inner);
    else if (child instanceof Element) await paint(ctx, child, inner);
  }
}

function clipTo(ctx: CanvasRenderingContext2D, r: DOMRect): void {
  ctx.beginPath();
  ctx.rect(r.left, r.top, r.width, r.height);
  ctx.clip();
}

function intersect(a: DOMRect, b: DOMRect): DOMRect {
  const left = Math.max(a.left, b.left);
  const top = Math.max(a.top, b.top);
  return new DOMRect(left, top, Math.max(0, Math.min(a.right, b.right) - left), Math.max(0, Math.min(a.bottom, b.bottom) - top));
}

function strokeBorders(ctx: CanvasRenderingContext2D, s: CSSStyleDeclaration, r: DOMRect): void {
  const sides: Array<[string, string, number, number, number, number]> = [
    [s.borderTopWidth, s.borderTopColor, r.left, r.top, r.right, r.top],
    [s.borderBottomWidth, s.borderBottomColor, r.left, r.bottom, r.right, r.bottom],
    [s.borderLeftWidth, s.borderLeftColor, r.left, r.top, r.left, r.bottom],
    [s.borderRightWidth, s.borderRightColor, r.right, r.top, r.right, r.bottom],
  ];
  for (const [width, color, x0, y0, x1, y1] of sides) {
    const w = parseFloat(width);
    if (!(w > 0) || TRANSPARENT.has(color)) continue;
    ctx.strokeStyle = color;
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }
}

/** Text at the rectangles the browser gave it: word by word when it wraps; vertical labels rotated. */
function paintText(ctx: CanvasRenderingContext2D, node: Text, style: CSSStyleDeclaration, clip: DOMRect): void {
  const text = node.data;
  if (!text.trim()) return;
  ctx.save();
  clipTo(ctx, clip);
  ctx.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  ctx.fillStyle = style.color;
  ctx.textBaseline = 'middle';
  const range = document.createRange();
  range.selectNodeContents(node);
  const vertical = style.writingMode.startsWith('vertical');
  const pieces: Array<[string, DOMRect]> = [];
  if (range.getClientRects().length <= 1) pieces.push([text, range.getBoundingClientRect()]);
  else {
    // Wrapped: place each word at its own rectangle.
    for (const m of text.matchAll(/\S+/g)) {
      range.setStart(node, m.index!);
      range.setEnd(node, m.index! + m[0].length);
      pieces.push([m[0], range.getBoundingClientRect()]);
    }
  }
  for (const [s, r] of pieces) {
    if (r.width === 0 && r.height === 0) continue;
    if (vertical) {
      // The labels along a matrix's top read bottom to top.
      ctx.save();
      ctx.translate(r.left + r.width / 2, r.bottom);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(s, 0, 0);
      ctx.restore();
    } else ctx.fillText(s, r.left, r.top + r.height / 2);
  }
  ctx.restore();
}

/** The SVG as an image, with its computed styles written in (theme colours are CSS variables). */
function svgImage(el: SVGSVGElement): Promise<HTMLImageElement | undefined> {
  const copy = el.cloneNode(true) as SVGSVGElement;
  const from = [el, ...Array.from(el.querySelectorAll('*'))];
  const to = [copy, ...Array.from(copy.querySelectorAll('*'))];
  from.forEach((src, i) => {
    const s = getComputedStyle(src);
    const dst = to[i] as SVGElement;
    for (const p of ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'opacity', 'fill-opacity', 'stroke-opacity', 'font-size', 'font-family', 'font-weight', 'text-anchor', 'dominant-baseline', 'paint-order', 'stroke-linejoin']) {
      dst.style.setProperty(p, s.getPropertyValue(p));
    }
  });
  const r = el.getBoundingClientRect();
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(r.width));
  copy.setAttribute('height', String(r.height));
  const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(copy))}`;
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => resolve(undefined);
    img.src = url;
  });
}
