// `npm start` where no `code` binary exists: a browser VS Code (code-server) on 127.0.0.1 with the
// ModelVis VSIX installed and a workspace open. Prints the URL and runs until Ctrl+C, which stops
// code-server together with its extension host and the .NET host.
//   node scripts/start-code-server.mjs [WORKSPACE]
// Env: MODELVIS_VSIX (default vscode-modelvis/modelvis.vsix), MODELVIS_PORT (default 8080; a free
// port when that one is taken). User data and extensions live in .tmp/code-server/ (git-ignored).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { codeServerBin } from './e2e-setup.mjs';

const root = resolve(import.meta.dirname, '..');
const log = (m) => process.stderr.write(`[modelvis] ${m}\n`);
const fail = (m) => {
  process.stderr.write(`[modelvis] error: ${m}\n`);
  process.exit(1);
};

if (!existsSync(codeServerBin)) {
  log('code-server is not installed yet: running scripts/e2e-setup.mjs');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'e2e-setup.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// Imported after the setup: the shared helpers live with the end-to-end tests.
const { node24Bin, defaultVsix, QUIET_SETTINGS, codeServerArgs, installVsix, killGroup } = await import('../tests/e2e/lib/code-server.mjs');

const workspace = resolve(process.argv[2] || join(root, 'samples', 'workspace'));
if (!existsSync(workspace)) fail(`workspace folder not found: ${workspace}`);
const vsix = defaultVsix;
if (!existsSync(vsix)) fail(`VSIX not found at ${vsix}: run \`npm run package --workspace vscode-modelvis\` (npm start does) or set MODELVIS_VSIX`);

const state = join(root, '.tmp', 'code-server');
const dirs = { root: state, userData: join(state, 'user-data'), extensions: join(state, 'extensions') };
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
writeFileSync(join(state, 'code-server.yaml'), 'auth: none\n');

// User settings: the quiet defaults the first time; later the user's own changes are kept.
const settingsFile = join(dirs.userData, 'User', 'settings.json');
mkdirSync(join(dirs.userData, 'User'), { recursive: true });
if (!existsSync(settingsFile)) writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, 'editor.hover.delay': 300 }, null, 2));

log(`installing ${vsix}`);
installVsix(vsix, dirs.extensions, join(state, 'install'));

function portIsFree(port) {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}
const wanted = Number(process.env.MODELVIS_PORT || 8080);
const port = (await portIsFree(wanted)) ? wanted : 0;
if (port === 0) log(`port ${wanted} is taken: using a free one`);

const env = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE' && !k.startsWith('npm_')) env[k] = v;
const child = spawn(node24Bin, [...codeServerArgs(dirs), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
  '--disable-workspace-trust', '--disable-getting-started-override', workspace], {
  env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
});

let announced = false;
const onOutput = (chunk) => {
  const text = chunk.toString();
  process.stderr.write(text);
  const m = !announced && /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\/?/.exec(text);
  if (m) {
    announced = true;
    const url = `${m[1]}/?folder=${encodeURIComponent(workspace)}`;
    process.stdout.write(`\nModelVis is running in a browser VS Code. Open:\n\n  ${url}\n\nPress Ctrl+C to stop.\n\n`);
  }
};
child.stdout.on('data', onOutput);
child.stderr.on('data', onOutput);

let stopping = false;
const stop = async (signal) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping code-server`);
  await killGroup(child.pid, 10_000);
  process.exit(0);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
child.on('exit', (code, signal) => {
  if (stopping) return;
  // code-server is gone; make sure nothing it started is left behind.
  void killGroup(child.pid, 5_000).then(() => fail(`code-server exited (${code ?? signal})`));
});
