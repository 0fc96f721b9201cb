// Shared helpers of every ModelVis webview: messaging with the extension, DOM building that never
// parses HTML (text is always set as text), SVG, and the number formats of src/common/format.

export * from '../../src/common/format';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(message: unknown): void {
  api.postMessage(message);
}

/** Listens to the extension's messages, then tells it the webview is ready for state. */
export function connect<M extends { type: string }>(handler: (message: M) => void): void {
  window.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as M;
    if (data && typeof data.type === 'string') handler(data);
  });
  post({ type: 'ready' });
}

export function saveState(state: unknown): void {
  api.setState(state);
}

export function loadState<T>(): T | undefined {
  return api.getState() as T | undefined;
}

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** An HTML element; strings become text nodes (escaped by construction), "on…" attrs listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el: Element, attrs: Attrs): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, '').toLowerCase(), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the content of the page's root and sets body[data-state] (the e2e tests wait on it). */
export function render(state: 'loading' | 'ready' | 'error', ...content: Child[]): void {
  const root = document.getElementById('modelvis-root')!;
  root.replaceChildren();
  append(root, content);
  document.body.dataset.state = state;
}

/** A tab strip (role=tablist) whose buttons switch panes; arrow keys move between tabs. */
export function tabs(id: string, items: Array<{ id: string; label: string; content: () => Node }>, selected: string): HTMLElement {
  const strip = h('div', { role: 'tablist', id, class: 'tabs' });
  const pane = h('div', { role: 'tabpanel', class: 'tab-pane' });
  const buttons = items.map((item) =>
    h('button', { role: 'tab', id: `${id}-${item.id}`, class: 'tab', 'aria-selected': String(item.id === selected), tabindex: item.id === selected ? 0 : -1 }, item.label),
  );
  const select = (i: number) => {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    pane.replaceChildren(items[i].content());
    pane.setAttribute('aria-labelledby', buttons[i].id);
  };
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => select(i));
    b.addEventListener('keydown', (e) => {
      const k = (e as KeyboardEvent).key;
      const next = k === 'ArrowRight' ? (i + 1) % items.length : k === 'ArrowLeft' ? (i - 1 + items.length) % items.length : -1;
      if (next >= 0) {
        select(next);
        buttons[next].focus();
      }
    });
    strip.appendChild(b);
  });
  select(Math.max(0, items.findIndex((x) => x.id === selected)));
  return h('div', { class: 'tabs-container' }, strip, pane);
}

/** Shift+arrow keys on a matrix picture move its read-out by one cell: calls move(Δrow, Δcolumn). */
export function onShiftArrows(el: HTMLElement, move: (dRow: number, dCol: number) => void): void {
  el.addEventListener('keydown', (e) => {
    if (!e.shiftKey) return;
    const d = ({ ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] } as Record<string, [number, number]>)[e.key];
    if (!d) return;
    e.preventDefault();
    e.stopPropagation();
    move(d[0], d[1]);
  });
}
