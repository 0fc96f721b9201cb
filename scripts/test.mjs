// `npm test`: every test — xunit, the extension's unit tests, the host driven by the real
// vscode-jsonrpc client, and the end-to-end tests in a real VS Code (code-server + Chromium).
// MODELVIS_TEST_ONLY=dotnet,node,extension,e2e runs a subset (for development; CI runs all).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, configuration, run, log, fail, ensureNodeModules, publishHost, hostDir } from './lib.mjs';

const only = (process.env.MODELVIS_TEST_ONLY || 'dotnet,node,extension,e2e').split(',');
const fixtures = process.env.MODELVIS_FIXTURES || join(root, '..', 'shared', 'fixtures');
if (!existsSync(fixtures)) fail(`test fixtures not found at ${fixtures}: put the shared folder beside the checkout or set MODELVIS_FIXTURES`);
const env = { ...process.env, MODELVIS_FIXTURES: fixtures, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' };
const started = Date.now();
const timings = [];
const step = async (name, fn) => {
  const t0 = Date.now();
  log(`=== ${name}`);
  await fn();
  timings.push([name, (Date.now() - t0) / 1000]);
};

/** `dotnet test`, its output passed through as it comes; when it fails, the failed tests' blocks (name, message,
 *  stack, output) are printed again at the end, where a CI log's tail shows them. */
async function xunit(args) {
  log(`$ dotnet ${args.join(' ')}`);
  const child = spawn('dotnet', args, { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });
  const failures = [];
  let block = null;
  const read = (stream, out) => {
    let partial = '';
    stream.on('data', (chunk) => {
      out.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (/^\s+Failed \S/.test(line) || /test run was aborted|host process crashed/i.test(line)) failures.push(block = [line]);
        else if (block && /^\s+(Passed|Skipped) \S|^\[xUnit\.net|^Test Run |^Total tests/.test(line)) block = null;
        else if (block && block.length < 80) block.push(line);
      }
    });
  };
  read(child.stdout, process.stdout);
  read(child.stderr, process.stderr);
  const code = await new Promise((resolve) => {
    child.on('error', (error) => fail(`dotnet failed to start: ${error.message}`));
    child.on('close', (status, signal) => resolve(status ?? signal));
  });
  if (code === 0) return;
  log(`=== xunit failed: ${failures.length} failure${failures.length === 1 ? '' : 's'} (repeated from above)`);
  for (const lines of failures) process.stderr.write(lines.join('\n') + '\n');
  fail(`dotnet ${args.join(' ')} exited with ${code}`);
}

ensureNodeModules();

if (only.includes('dotnet')) {
  await step('build .NET solution', () =>
    run('dotnet', ['build', 'server/ModelVis.slnx', '-c', configuration, '--nologo', '-v', 'q', '-clp:ErrorsOnly'], { env }));
  await step('xunit', () =>
    xunit(['test', 'server/ModelVis.slnx', '-c', configuration, '--no-build', '--nologo', '-v', 'q',
      '--logger', 'console;verbosity=normal']));
}

if (only.includes('node') || only.includes('extension') || only.includes('e2e')) {
  await step('publish host + bundle extension', () => {
    publishHost();
    run('npm', ['run', '--silent', 'build', '--workspace', 'vscode-modelvis'], { env });
  });
}

if (only.includes('extension')) {
  await step('extension unit tests', () => run('npm', ['test', '--workspace', 'vscode-modelvis'], { env }));
}

if (only.includes('node')) {
  await step('host through vscode-jsonrpc', () =>
    run('node', ['--test', '--test-reporter=spec', 'tests/node/'], { env: { ...env, MODELVIS_HOST_DLL: join(hostDir, 'modelvis.dll') } }));
}

if (only.includes('e2e')) {
  await step('end-to-end setup (Chromium, code-server)', () => run('node', ['scripts/e2e-setup.mjs'], { env }));
  await step('package VSIX', () => run('npm', ['run', '--silent', 'package', '--workspace', 'vscode-modelvis'], { env }));
  await step('end-to-end tests in code-server', () =>
    run('node', ['tests/e2e/run.mjs'], { env: { ...env, MODELVIS_VSIX: join(root, 'vscode-modelvis', 'modelvis.vsix') } }));
}

log('=== all tests passed');
for (const [name, seconds] of timings) log(`  ${name.padEnd(40)} ${seconds.toFixed(1)} s`);
log(`  total ${((Date.now() - started) / 1000).toFixed(1)} s`);
