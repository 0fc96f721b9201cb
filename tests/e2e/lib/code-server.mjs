// What the end-to-end harness and `npm start`'s browser VS Code share: where code-server and Node 24
// are installed, the settings that keep the workbench quiet, installing a VSIX, an environment that
// keeps everything in one folder, and stopping a process group. No playwright here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Bin as installedNode24, codeServerBin } from '../../../scripts/e2e-setup.mjs';

export const e2eDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(e2eDir, '..', '..');
export const fixturesDir = process.env.MODELVIS_FIXTURES || resolve(repoRoot, '..', 'shared', 'fixtures');
export const defaultVsix = process.env.MODELVIS_VSIX || join(repoRoot, 'vscode-modelvis', 'modelvis.vsix');
export const node24Bin = process.env.MODELVIS_E2E_NODE || installedNode24;
export const codeServerEntry = codeServerBin;

/** User settings that keep the workbench quiet and predictable. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'git.enabled': false,
  'editor.hover.delay': 200,
  'editor.minimap.enabled': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
};

export function checkInstalled() {
  if (!existsSync(node24Bin) || !existsSync(codeServerEntry))
    throw new Error(`code-server or Node 24 is not installed under ${e2eDir}: run \`node scripts/e2e-setup.mjs\` first`);
}

/** Environment for code-server and Chromium: everything they write stays in `dir`. */
export function isolatedEnv(dir, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Variables of an enclosing VS Code would make code-server talk to it instead.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  for (const d of [home, tmp, join(home, '.config'), join(home, '.local', 'share'), join(home, '.cache')]) mkdirSync(d, { recursive: true });
  return {
    ...env,
    HOME: home,
    TMPDIR: tmp,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_RUNTIME_DIR: tmp,
    HF_HOME: join(home, '.cache', 'huggingface'), // an empty Hugging Face cache: only the workspace's models show
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
    // No extension marketplace: code-server would look for updates of its built-in extensions.
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9/gallery', itemUrl: 'http://127.0.0.1:9/item' }),
    ...extra,
  };
}

/** A short temporary folder (code-server puts a unix socket in it; those paths are limited to ~108 bytes). */
export function makeTempDir(prefix = 'mv-e2e-') {
  const base = process.env.MODELVIS_E2E_TMP || (existsSync('/tmp') ? '/tmp' : tmpdir());
  return mkdtempSync(join(base, prefix));
}

export function codeServerArgs(dirs) {
  return [codeServerEntry, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions,
    '--config', join(dirs.root, 'code-server.yaml'), '--disable-telemetry', '--disable-update-check'];
}

/** Installs a VSIX into an extensions folder with code-server's own installer. */
export function installVsix(vsix, extensionsDir, scratchDir) {
  if (!existsSync(vsix)) throw new Error(`VSIX not found at ${vsix}: build it with \`npm run package --workspace vscode-modelvis\` or set MODELVIS_VSIX`);
  checkInstalled();
  mkdirSync(extensionsDir, { recursive: true });
  mkdirSync(scratchDir, { recursive: true });
  const userData = join(scratchDir, 'install-user-data');
  writeFileSync(join(scratchDir, 'code-server.yaml'), 'auth: none\n');
  const r = spawnSync(node24Bin, [...codeServerArgs({ root: scratchDir, userData, extensions: extensionsDir }), '--install-extension', vsix, '--force'], {
    env: isolatedEnv(scratchDir), encoding: 'utf8', timeout: 120_000,
  });
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0 || !/successfully installed/i.test(output))
    throw new Error(`installing ${vsix} failed (exit ${r.status ?? r.signal}):\n${output.trim()}`);
  return output;
}

/** Kills a process group and waits until none of its processes is left. */
export async function killGroup(pid, timeoutMs) {
  const alive = () => {
    try { process.kill(-pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
  };
  try { process.kill(-pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await delay(100);
  if (alive()) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    const hard = Date.now() + 5000;
    while (alive() && Date.now() < hard) await delay(100);
  }
}

// Polling interval of condition waits, not a fixed wait for something to happen.
export const delay = (ms) => new Promise((r) => setTimeout(r, ms));
