// Shared helpers of the entry-point scripts. Node built-ins only: these run before `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const configuration = process.env.MODELVIS_CONFIGURATION || 'Release';
export const cliDll = join(root, 'server', 'src', 'ModelVis.Cli', 'bin', configuration, 'net10.0', 'modelvis.dll');
export const hostDir = join(root, 'vscode-modelvis', 'host');

export function log(message) {
  process.stderr.write(`[modelvis] ${message}\n`);
}

/** Runs a command with inherited stdio (or stdout sent to stderr); exits the script when it fails. */
export function run(command, args, options = {}) {
  const { quietStdout = false, allowFailure = false, ...rest } = options;
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: ['inherit', quietStdout ? process.stderr : 'inherit', 'inherit'],
    ...rest,
  });
  if (result.error) {
    if (result.error.code === 'ENOENT') fail(`${command} is not installed or not on PATH.${command === 'dotnet' ? ' Install the .NET 10 SDK: https://dotnet.microsoft.com/download' : ''}`);
    fail(`${command} failed to start: ${result.error.message}`);
  }
  if (result.status !== 0 && !allowFailure) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result.status;
}

export function fail(message) {
  process.stderr.write(`[modelvis] error: ${message}\n`);
  process.exit(1);
}

/** The newest modification time of any file under `dir` matching `filter` (skipping bin/obj/node_modules). */
export function newestMtime(dir, filter = () => true) {
  let newest = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'bin' || entry.name === 'obj' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (filter(p)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  if (existsSync(dir)) walk(dir);
  return newest;
}

/** npm install for the workspaces when node_modules is missing or older than the lockfile. */
export function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs)) return;
  run('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund'], { quietStdout: true });
}

/** Builds the .NET CLI/host when any server source is newer than the built dll. */
export function ensureCli() {
  const sources = newestMtime(join(root, 'server'), (p) => /\.(cs|csproj|props|slnx)$/.test(p));
  if (existsSync(cliDll) && statSync(cliDll).mtimeMs >= sources) return cliDll;
  run('dotnet', ['build', join('server', 'src', 'ModelVis.Cli'), '-c', configuration, '--nologo', '-v', 'q', '-clp:ErrorsOnly'], { quietStdout: true });
  return cliDll;
}

/** Publishes the host into the extension folder, where the extension (and its VSIX) finds it. */
export function publishHost() {
  run('dotnet', ['publish', join('server', 'src', 'ModelVis.Cli'), '-c', configuration, '-o', hostDir, '--nologo', '-v', 'q', '-clp:ErrorsOnly'], { quietStdout: true });
}
