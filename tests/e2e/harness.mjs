// End-to-end harness: a real VS Code (code-server) with the ModelVis VSIX installed, driven by
// Debian's Chromium through playwright-core. Every session has its own temporary folder (HOME,
// TMPDIR, XDG_*, user data, extensions, browser profile), its own port, and is stopped by killing
// its process group, so the extension host and the .NET host it started go with it.
// Everything waits on conditions (a log line, a DOM element, a status-bar text), never on sleeps.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  e2eDir, repoRoot, fixturesDir, defaultVsix, node24Bin, codeServerEntry, QUIET_SETTINGS,
  checkInstalled, isolatedEnv, makeTempDir, codeServerArgs, installVsix, killGroup, delay,
} from './lib/code-server.mjs';

export { e2eDir, repoRoot, fixturesDir, defaultVsix, node24Bin, codeServerEntry, QUIET_SETTINGS, isolatedEnv, makeTempDir, installVsix };
export const screenshotsDir = join(e2eDir, 'screenshots');

/** Time limits (ms). Generous: two cores are shared with builds; waits end as soon as the condition holds. */
export const TIMEOUTS = {
  serverStart: 60_000,
  workbench: 90_000,
  action: 30_000,
  host: 60_000, // anything that needs the .NET host (first request starts it)
  stop: 15_000,
};

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--password-store=basic', '--use-mock-keychain',
];

const log = (m) => process.stderr.write(`[e2e] ${m}\n`);

export function findChromium() {
  if (process.env.MODELVIS_CHROMIUM) return process.env.MODELVIS_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new Error('Chromium not found: run `node scripts/e2e-setup.mjs` (it installs Debian\'s chromium), or set MODELVIS_CHROMIUM');
}


/**
 * The sample workspace: copies of fixture checkpoints under models/ (default tiny-gpt2; each
 * fixture folder copied whole), and a Python file that names one of tiny-gpt2's tensors and holds a
 * sentence to select. Returns the paths the tests use: `model` (tiny-gpt2) and `models[name]`.
 */
export function makeSampleWorkspace(dir, { models = ['tiny-gpt2'] } = {}) {
  const copies = {};
  for (const name of models) {
    const source = join(fixturesDir, 'models', name);
    if (!existsSync(join(source, 'config.json'))) throw new Error(`fixture not found: ${source} (set MODELVIS_FIXTURES)`);
    copies[name] = join(dir, 'models', name);
    cpSync(source, copies[name], { recursive: true });
  }
  const python = join(dir, 'inspect_weights.py');
  const sentence = 'Lily went to the park with her mom.';
  writeFileSync(python, [
    '# Which weights does the first attention block use?',
    'from safetensors.torch import load_file',
    '',
    'weights = load_file("models/tiny-gpt2/model.safetensors")',
    'qkv = weights["transformer.h.0.attn.c_attn.weight"]',
    'print(qkv.shape)',
    '',
    `prompt = "${sentence}"`,
    '',
  ].join('\n'));
  return { dir, model: copies['tiny-gpt2'], models: copies, python, pythonName: 'inspect_weights.py', tensorName: 'transformer.h.0.attn.c_attn.weight', sentence };
}


/** Waits until `check()` returns a truthy value (re-evaluated every `interval` ms) and returns it. */
/** <dir>/models/<name>: a tiny fixture model's files beside the stories260K tokenizer (the tiny models ship none; their vocabularies hold its 512 ids). */
export function withStoriesTokenizer(dir, name) {
  const out = join(dir, 'models', name);
  mkdirSync(out, { recursive: true });
  for (const source of [join(fixturesDir, 'models', name), join(fixturesDir, 'tokenizers', 'stories260K')])
    for (const f of readdirSync(source)) cpSync(join(source, f), join(out, f));
  return out;
}

export async function waitFor(check, { timeout = TIMEOUTS.action, interval = 200, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) { lastError = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}${lastError ? `: ${lastError.message}` : ''}`);
    await delay(interval);
  }
}

/**
 * Starts code-server on a free port with the extension installed and the workspace open, opens it in
 * Chromium, and waits for the workbench. Options:
 *  - name: used for the temp folder and screenshots' prefix.
 *  - vsix: path of the VSIX (installed into this session's own extensions folder), or
 *  - extensionsTemplate: a folder where a VSIX is already installed (copied; run.mjs prepares it).
 *  - workspace(dir): fills the workspace folder and returns anything the test wants (default: sample workspace).
 *  - settings(ws): user settings added to QUIET_SETTINGS.
 */
/** The project's CLI (`npm run modelvis -- …`) from the checkout; its stdout (up to 64 MB: a lens over a whole vocabulary is a few). */
export function modelvisCli(...args) {
  const r = spawnSync('npm', ['run', '--silent', 'modelvis', '--', ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`modelvis ${args[0]} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Waits until the attention panel in `frame` reports `layers` layers streamed in. */
export function waitForLayers(frame, layers) {
  return waitFor(async () => (await frame.locator('#attention-controls').getAttribute('data-layers-done')) === String(layers), { timeout: TIMEOUTS.host, message: `${layers} layers done` });
}

/** A session on the sample workspace with stories260K as `modelvis.model`, dark theme: the attention panel's tab tests. */
export function launchStoriesSession(name) {
  return launch({
    name,
    vsix: process.env.MODELVIS_VSIX,
    workspace: (dir) => makeSampleWorkspace(dir, { models: ['tiny-gpt2', 'stories260K'] }),
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
}

/** A session on a workspace holding LeNet-5 (`models/lenet.onnx` and its sidecar) and the MNIST PNG `digit`, dark theme. */
export function launchLenetSession(name, digit) {
  return launch({
    name,
    vsix: process.env.MODELVIS_VSIX,
    workspace: (dir) => {
      mkdirSync(join(dir, 'models'), { recursive: true });
      copyFileSync(join(fixturesDir, 'models', 'lenet5-mnist', 'lenet.onnx'), join(dir, 'models', 'lenet.onnx'));
      copyFileSync(join(repoRoot, 'tests', 'ModelVis.Vision.Tests', 'Data', 'lenet.arch.json'), join(dir, 'models', 'lenet.arch.json'));
      copyFileSync(join(fixturesDir, 'inputs', 'mnist-png', digit), join(dir, digit));
      return { dir };
    },
    settings: () => ({ 'workbench.colorTheme': 'Default Dark Modern' }),
  });
}

/** Right-click `digit` in the Explorer → Show CNN Feature Maps → lenet.onnx; the panel's frame once it shows a prediction. */
export async function openLenetFeatureMaps(s, digit) {
  const page = s.page;
  await s.explorerMenu(digit, 'Show CNN Feature Maps');
  // The model quick pick: lenet.onnx found in the workspace.
  const pick = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: 'lenet.onnx' }) }).first();
  await pick.waitFor({ state: 'visible', timeout: TIMEOUTS.host });
  await pick.click();
  return s.webview('body[data-state="ready"] #features-prediction', { timeout: TIMEOUTS.host });
}

export async function launch(options = {}) {
  checkInstalled();
  const name = options.name || 'session';
  const root = makeTempDir(`mv-${name.replace(/[^a-z0-9]/gi, '').slice(0, 12)}-`);
  const dirs = {
    root,
    userData: join(root, 'ud'),
    extensions: join(root, 'ext'),
    profile: join(root, 'browser'),
    workspace: join(root, 'ws'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const session = new Session(name, dirs);
  try {
    const template = options.extensionsTemplate ?? process.env.MODELVIS_E2E_EXTENSIONS;
    if (template && existsSync(template)) cpSync(template, dirs.extensions, { recursive: true });
    else installVsix(options.vsix || defaultVsix, dirs.extensions, join(root, 'install'));

    session.workspaceInfo = (options.workspace || makeSampleWorkspace)(dirs.workspace);
    const settings = { ...QUIET_SETTINGS, ...(options.settings ? options.settings(session.workspaceInfo) : {}) };
    mkdirSync(join(dirs.userData, 'User'), { recursive: true });
    writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
    writeFileSync(join(root, 'code-server.yaml'), 'auth: none\n');

    await session.startServer();
    await session.openBrowser();
    return session;
  } catch (e) {
    await session.close({ failed: true });
    throw e;
  }
}

export class Session {
  constructor(name, dirs) {
    this.name = name;
    this.dirs = dirs;
    this.logFile = join(dirs.root, 'code-server.log');
    this.serverOutput = '';
    this.server = undefined;
    this.context = undefined;
    this.page = undefined;
    this.url = undefined;
    this.workspaceInfo = undefined;
    this.closed = false;
  }

  async startServer() {
    const args = [...codeServerArgs(this.dirs), '--bind-addr', '127.0.0.1:0', '--auth', 'none',
      '--disable-workspace-trust', '--disable-getting-started-override', '--disable-proxy',
      '--ignore-last-opened', this.dirs.workspace];
    const logStream = createWriteStream(this.logFile);
    // detached: its own process group, so one kill stops code-server, the extension host and the .NET host.
    this.server = spawn(node24Bin, args, { env: isolatedEnv(this.dirs.root), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk) => {
      const s = chunk.toString();
      this.serverOutput += s;
      if (this.serverOutput.length > 1_000_000) this.serverOutput = this.serverOutput.slice(-500_000);
      logStream.write(s);
    };
    this.server.stdout.on('data', onData);
    this.server.stderr.on('data', onData);
    let exited = null;
    this.server.on('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; logStream.end(); });
    const match = await waitFor(() => {
      if (exited) throw new Error(`code-server ${exited}:\n${this.serverOutput.slice(-3000)}`);
      return /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\/?/.exec(this.serverOutput);
    }, { timeout: TIMEOUTS.serverStart, interval: 100, message: 'code-server "HTTP server listening"' }).catch((e) => {
      throw new Error(`${e.message}\n--- code-server output ---\n${this.serverOutput.slice(-3000)}`);
    });
    this.url = match[1] + '/';
    log(`${this.name}: code-server at ${this.url} (pid ${this.server.pid}, folder ${this.dirs.root})`);
  }

  async openBrowser() {
    this.context = await chromium.launchPersistentContext(this.dirs.profile, {
      executablePath: findChromium(),
      headless: true,
      args: CHROMIUM_ARGS,
      env: isolatedEnv(join(this.dirs.root, 'browser-env')),
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: 1,
      timeout: TIMEOUTS.serverStart,
    });
    this.context.setDefaultTimeout(TIMEOUTS.action);
    this.page = this.context.pages()[0] || (await this.context.newPage());
    this.browserLog = [];
    this.page.on('console', (m) => { if (m.type() === 'error') this.browserLog.push(m.text()); });
    this.page.on('pageerror', (e) => this.browserLog.push(`pageerror: ${e.message}`));
    await this.page.goto(`${this.url}?folder=${encodeURIComponent(this.dirs.workspace)}`, { timeout: TIMEOUTS.workbench });
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
    // The explorer lists the workspace once the file service is up: the workbench is usable.
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
  }

  // ---------- the workbench ----------

  /** Runs a command by its title through the command palette (F1). */
  async runCommand(title) {
    const page = this.page;
    await this.closeQuickInput();
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: title }) }).first();
    await row.waitFor({ state: 'visible' });
    await row.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  async closeQuickInput() {
    const widget = this.page.locator('.quick-input-widget');
    if (await widget.isVisible().catch(() => false)) {
      await this.page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden' });
    }
  }

  /** Opens a workspace file by (relative) name with Quick Open and waits for its editor. */
  async openFile(relativePath) {
    const page = this.page;
    const base = relativePath.split('/').pop();
    await this.closeQuickInput();
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(relativePath);
    const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: base }) }).first();
    await row.waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ state: 'visible' });
    await this.editor().locator('.view-lines').waitFor({ state: 'visible' });
    return this.editor();
  }

  /** The active text editor. */
  editor() {
    return this.page.locator('.editor-instance .monaco-editor').filter({ has: this.page.locator('.view-lines') }).first();
  }

  /** Screen coordinates of `text` in the active editor's visible lines: {x1, x2, y, line}. */
  async textBox(text, { occurrence = 0 } = {}) {
    const editor = this.editor();
    return waitFor(() => editor.evaluate((el, { text, occurrence }) => {
      const lines = [...el.querySelectorAll('.view-lines .view-line')];
      let seen = 0;
      for (const line of lines) {
        const content = line.textContent.replace(/\u00a0/g, ' ');
        let at = content.indexOf(text);
        while (at >= 0 && seen < occurrence) { seen++; at = content.indexOf(text, at + 1); }
        if (at < 0) continue;
        // Map character offsets to text nodes (Monaco splits a line into token spans).
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        const points = [];
        for (let n = walker.nextNode(); n; n = walker.nextNode()) for (let i = 0; i < n.data.length; i++) points.push([n, i]);
        const rectOf = (index) => {
          const [node, offset] = points[index];
          const r = document.createRange();
          r.setStart(node, offset);
          r.setEnd(node, offset + 1);
          return r.getBoundingClientRect();
        };
        const first = rectOf(at);
        const last = rectOf(at + text.length - 1);
        return { x1: first.left, x2: last.right, y: (first.top + first.bottom) / 2, height: first.height };
      }
      return null;
    }, { text, occurrence }), { message: `"${text}" in the editor` });
  }

  /** Selects `text` in the active editor with the mouse and checks the status bar's selection count. */
  async selectText(text) {
    const page = this.page;
    const box = await this.textBox(text);
    await page.mouse.move(box.x1 + 1, box.y);
    await page.mouse.down();
    await page.mouse.move((box.x1 + box.x2) / 2, box.y, { steps: 4 });
    await page.mouse.move(box.x2 - 1, box.y, { steps: 4 });
    await page.mouse.up();
    await page.locator('.statusbar-item', { hasText: `(${text.length} selected)` }).first().waitFor({ state: 'visible' });
    return box;
  }

  /** Right-clicks inside the current selection (or at `box`) and clicks the context menu item `label`. */
  async rightClickMenu(label, box) {
    const page = this.page;
    const b = box || (await this.selectionBox());
    await page.mouse.click((b.x1 + b.x2) / 2, b.y, { button: 'right' });
    await this.chooseMenuItem(label);
  }

  /** Right-clicks the file `name` (at the workspace root) in the Explorer and chooses `label` from its context menu. */
  async explorerMenu(name, label) {
    const page = this.page;
    await page.keyboard.press('Control+Shift+E');
    const row = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: name }) }).first();
    await row.waitFor({ state: 'visible', timeout: TIMEOUTS.action });
    const item = page.locator('.monaco-menu .action-item', { has: page.locator('.action-label', { hasText: label }) }).first();
    // The explorer may re-render the row while the workbench settles: select it, right-click, retry.
    for (let attempt = 0; ; attempt++) {
      await row.click();
      await row.click({ button: 'right' });
      try {
        await item.waitFor({ state: 'visible', timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt >= 2) throw e;
        await page.keyboard.press('Escape');
      }
    }
    await this.chooseMenuItem(label);
  }

  /** Clicks the item `label` of the context menu that is open (or opening) and waits for the menu to close. */
  async chooseMenuItem(label) {
    const page = this.page;
    const item = page.locator('.monaco-menu .action-item', { has: page.locator('.action-label', { hasText: label }) }).first();
    await item.waitFor({ state: 'visible' });
    // A click that lands while the menu is still settling (it ignores the release of the right-click that
    // opened it) is swallowed and the menu stays open; a taken click always closes it, so clicking again
    // while the item is still there never runs the command twice.
    const menu = page.locator('.monaco-menu').first();
    for (let attempt = 1; ; attempt++) {
      await item.click();
      try {
        await menu.waitFor({ state: 'hidden', timeout: 5000 });
        return;
      } catch (e) {
        if (attempt === 3 || !(await item.isVisible())) throw e;
      }
    }
  }

  async selectionBox() {
    const el = this.editor().locator('.selected-text').first();
    const r = await el.boundingBox();
    return { x1: r.x, x2: r.x + r.width, y: r.y + r.height / 2 };
  }

  /**
   * Hovers `text` in the active editor until a hover whose text matches `expect` shows (the hover
   * provider may register late, while the extension activates, so the mouse is moved off and on again).
   */
  async hoverText(text, expect, { timeout = TIMEOUTS.host } = {}) {
    const page = this.page;
    const box = await this.textBox(text);
    const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: expect }).first();
    await waitFor(async () => {
      await page.mouse.move(box.x1 - 40, box.y - 3 * box.height);
      await page.mouse.move((box.x1 + box.x2) / 2, box.y, { steps: 3 });
      try {
        await hover.waitFor({ state: 'visible', timeout: 5000 });
        return true;
      } catch { return false; }
    }, { timeout, interval: 100, message: `a hover over "${text}" matching ${expect}` });
    return hover;
  }

  /** Opens a view container in the activity bar by its title (e.g. "ModelVis") and waits for the view `viewTitle`. */
  async openActivity(containerTitle, viewTitle) {
    const page = this.page;
    const button = page.locator(`.activitybar .action-item a[aria-label^="${containerTitle}"], .activitybar .action-item[aria-label^="${containerTitle}"]`).first();
    await button.waitFor({ state: 'visible' });
    const checked = page.locator(`.activitybar .action-item.checked a[aria-label^="${containerTitle}"], .activitybar .action-item.checked[aria-label^="${containerTitle}"]`);
    if (!(await checked.count())) await button.click();
    const pane = this.viewPane(viewTitle);
    await pane.waitFor({ state: 'visible' });
    // A collapsed pane header has aria-expanded=false: open it.
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    return pane;
  }

  /** The pane (header + body) of a view, by its title. */
  viewPane(viewTitle) {
    return this.page.locator('.pane', { has: this.page.locator('.pane-header', { hasText: viewTitle }) }).first();
  }

  /** A tree row of a view whose label is `label` (exact label text, or a RegExp). */
  treeRow(viewTitle, label) {
    const pane = this.viewPane(viewTitle);
    const name = typeof label === 'string' ? new RegExp(`^${escapeRegExp(label)}$`) : label;
    return pane.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: name }) }).first();
  }

  /** Expands a collapsible tree row (once its children are loaded the row says aria-expanded=true). */
  async expandRow(viewTitle, label, { timeout = TIMEOUTS.host } = {}) {
    const row = this.treeRow(viewTitle, label);
    await row.waitFor({ state: 'visible', timeout });
    if ((await row.getAttribute('aria-expanded')) !== 'true') {
      await row.locator('.monaco-tl-twistie').click();
      await waitFor(async () => (await row.getAttribute('aria-expanded')) === 'true', { timeout, message: `row "${label}" expanded` });
    }
    return row;
  }

  async clickRow(viewTitle, label, { timeout = TIMEOUTS.host } = {}) {
    const row = this.treeRow(viewTitle, label);
    await row.waitFor({ state: 'visible', timeout });
    await row.scrollIntoViewIfNeeded();
    await row.click();
    return row;
  }

  /** Text of a visible notification toast that matches `pattern` (waits for it). */
  async notification(pattern, { timeout = TIMEOUTS.host } = {}) {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: pattern }).first();
    await toast.waitFor({ state: 'visible', timeout });
    return (await toast.locator('.notification-list-item-message').first().innerText()).trim();
  }

  /**
   * The content frame of a webview: the one whose document holds `selector` (webviews are two
   * iframes deep: iframe.webview.ready → iframe#active-frame). Waits until one does.
   */
  async webview(selector, { timeout = TIMEOUTS.host } = {}) {
    const outer = this.page.locator('iframe.webview.ready');
    return waitFor(async () => {
      const n = await outer.count();
      for (let i = n - 1; i >= 0; i--) {
        const frame = outer.nth(i).contentFrame().frameLocator('iframe#active-frame');
        if (await frame.locator(selector).count()) return frame;
      }
      return null;
    }, { timeout, interval: 250, message: `a webview containing ${selector}` });
  }

  /** How many coloured decorations (ModelVis' attention or neuron paint) the editor shows now. */
  paintedDecorations() {
    return this.editor().evaluate((el) => [...el.querySelectorAll('.view-overlays div, .view-line span')]
      .filter((e) => /ced-\w+/.test(e.className) && getComputedStyle(e).backgroundColor !== 'rgba(0, 0, 0, 0)').length);
  }

  /** Saves a screenshot of the whole window to tests/e2e/screenshots/<name>.png. */
  /**
   * The attention heatmap's read-out of cell (q, k) of an n × n map: hovers the cell, and hovers it again (one pixel
   * apart) while the read-out has not caught up, since a hover that lands before the read-out's matrix arrived is
   * not replayed.
   */
  async readHeatmapCell(frame, n, q, k) {
    const ib = await frame.locator('#heatmap-figure .matrix-plot img').boundingBox();
    const x = ib.x + ((k + 0.5) * ib.width) / n, y = ib.y + ((q + 0.5) * ib.height) / n;
    const readout = frame.locator('#heatmap-figure-readout');
    await this.page.mouse.move(x, y);
    let nudge = 1;
    await waitFor(async () => {
      if ((await readout.getAttribute('data-query')) === String(q) && (await readout.getAttribute('data-key')) === String(k) && (await readout.getAttribute('data-weight')) !== '') return true;
      await this.page.mouse.move(x + (nudge++ % 2), y);
      return false;
    }, { message: `read-out of cell (${q}, ${k})` });
    return Number(await readout.getAttribute('data-weight'));
  }

  /** The token ids behind the heatmap's query labels (their title is `i: "raw" (id N)`). */
  async heatmapLabelIds(frame) {
    const titles = await frame.locator('#heatmap-figure .token-label.query').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    return titles.map((t) => Number(/\(id (\d+)\)$/.exec(t)[1]));
  }

  async screenshot(name) {
    mkdirSync(screenshotsDir, { recursive: true });
    const path = join(screenshotsDir, `${name}.png`);
    await this.page.screenshot({ path, animations: 'disabled', caret: 'hide' });
    return path;
  }

  /** A screenshot of the newest webview panel alone (`<name>-panel.png`), beside the whole window's. */
  async panelScreenshot(name) {
    mkdirSync(screenshotsDir, { recursive: true });
    await this.page.locator('iframe.webview.ready').last().screenshot({ path: join(screenshotsDir, `${name}-panel.png`), animations: 'disabled' });
    return this.screenshot(name);
  }

  /**
   * Clicks a save button (`button`, a selector in the webview `frame`), accepts VS Code's save dialog at its
   * default path and returns the bytes written once complete (a .json file: once it parses). The file is
   * removed, so saving the same view again asks no "replace?".
   */
  async saveFromPanel(frame, button, ext) {
    await frame.locator(button).click();
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    const path = await waitFor(async () => {
      const v = await input.inputValue();
      return v.endsWith(`.${ext}`) ? v : null;
    }, { message: `save dialog proposes a .${ext} file` });
    await this.page.keyboard.press('Enter');
    const file = join(this.workspaceInfo.dir, path.split('/').pop());
    const complete = (bytes) => {
      if (bytes.length === 0) return false;
      if (ext !== 'json') return true;
      try { JSON.parse(bytes.toString('utf8')); return true; } catch { return false; }
    };
    const bytes = await waitFor(() => {
      if (!existsSync(file)) return null;
      const b = readFileSync(file);
      return complete(b) ? b : null;
    }, { timeout: TIMEOUTS.action, message: `${file} written` });
    rmSync(file);
    return bytes;
  }

  /**
   * Runs a test body; on failure saves a screenshot and prints the tail of code-server's log (with
   * the extension host's output) and the browser's errors, then rethrows.
   */
  async guard(label, body) {
    try {
      return await body();
    } catch (e) {
      const safe = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const shot = await this.screenshot(`FAILED-${this.name}-${safe}`).catch(() => undefined);
      log(`${this.name}: "${label}" failed${shot ? `; screenshot ${shot}` : ''}`);
      log(`--- code-server output (tail) ---\n${this.serverOutput.slice(-4000)}`);
      const extLog = this.extensionHostLog();
      if (extLog) log(`--- extension host / ModelVis output (tail) ---\n${extLog.slice(-4000)}`);
      if (this.browserLog?.length) log(`--- browser errors ---\n${this.browserLog.slice(-20).join('\n')}`);
      throw e;
    }
  }

  /** The extension host's and the "ModelVis" output channel's logs, as written to the user-data folder. */
  extensionHostLog() {
    const logs = join(this.dirs.userData, 'logs');
    if (!existsSync(logs)) return '';
    const r = spawnSync('sh', ['-c', `find "${logs}" -type f \\( -name 'exthost.log' -o -name '*ModelVis*.log' \\) | sort`], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map((f) => `== ${f.slice(logs.length + 1)}\n${readFileSync(f, 'utf8')}`).join('\n');
  }

  /** Closes the browser and stops code-server's process group. Removes the temp folder unless kept. */
  async close({ failed = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    await this.context?.close().catch(() => {});
    if (this.server?.pid && this.server.exitCode === null) await killGroup(this.server.pid, TIMEOUTS.stop);
    // Anything still running from this session's folder (a process that left the group) is an error
    // of the extension's shutdown: say so, and stop it so the next session starts clean.
    const strays = processesMentioning(this.dirs.root);
    if (strays.length) {
      log(`${this.name}: processes outlived code-server: ${strays.map((p) => `${p.pid} ${p.cmd.slice(0, 120)}`).join('; ')}`);
      for (const p of strays) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const keep = process.env.MODELVIS_E2E_KEEP === '1' || (failed && process.env.CI !== 'true');
    if (keep) log(`${this.name}: kept ${this.dirs.root}`);
    else rmSync(this.dirs.root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Processes whose command line mentions `text` (Linux /proc). */
export function processesMentioning(text) {
  const found = [];
  let pids = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return found; }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) found.push({ pid: Number(pid), cmd });
    } catch { /* exited */ }
  }
  return found;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
