// Runs the end-to-end tests: installs the VSIX (MODELVIS_VSIX, default vscode-modelvis/modelvis.vsix)
// once into a temporary extensions folder that every test session copies, then runs
// tests/e2e/*.test.mjs with node's test runner, one file at a time. Builds nothing: `npm test`
// packages the VSIX and runs scripts/e2e-setup.mjs first.
//   node tests/e2e/run.mjs [name-filter ...]   e.g. `node tests/e2e/run.mjs hover`
// Env: MODELVIS_VSIX, MODELVIS_FIXTURES (default ../shared/fixtures), MODELVIS_E2E_KEEP=1 keeps the
// temporary folders, MODELVIS_CHROMIUM (default: chromium on PATH).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { e2eDir, defaultVsix, installVsix, makeTempDir, screenshotsDir } from './harness.mjs';

const started = Date.now();
const log = (m) => process.stderr.write(`[e2e] ${m}\n`);
const vsix = defaultVsix;
if (!existsSync(vsix)) {
  log(`error: VSIX not found at ${vsix}: run \`npm run package --workspace vscode-modelvis\` or set MODELVIS_VSIX`);
  process.exit(1);
}

/** Files that need more than the default 4 minutes (ms): builtin trains the built-in model (~3 min on 2 cores) first. */
const LONG_FILES = { 'builtin.test.mjs': 900_000 };

const filters = process.argv.slice(2);
const files = readdirSync(e2eDir)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  log(`error: no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const scratch = makeTempDir('mv-e2e-run-');
let status = 1;
try {
  const extensions = join(scratch, 'extensions');
  log(`installing ${vsix}`);
  installVsix(vsix, extensions, scratch);
  rmSync(screenshotsDir, { recursive: true, force: true });
  // node 20's --test-timeout bounds each file as a whole: the built-in model's test trains a model first.
  const groups = [
    { timeout: 240_000, files: files.filter((f) => !(f in LONG_FILES)) },
    ...files.filter((f) => f in LONG_FILES).map((f) => ({ timeout: LONG_FILES[f], files: [f] })),
  ].filter((g) => g.files.length > 0);
  status = 0;
  for (const g of groups) {
    const r = spawnSync(process.execPath, [
      '--test', '--test-concurrency=1', '--test-reporter=spec', `--test-timeout=${g.timeout}`,
      ...g.files.map((f) => join(e2eDir, f)),
    ], {
      cwd: e2eDir,
      stdio: 'inherit',
      env: { ...process.env, MODELVIS_E2E_EXTENSIONS: extensions, MODELVIS_VSIX: vsix },
    });
    if ((r.status ?? 1) !== 0) status = r.status ?? 1;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
}
log(`end-to-end ${status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${screenshotsDir}`);
process.exit(status);
