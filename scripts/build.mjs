// Builds everything a user runs: the .NET host (published into the extension) and the extension bundle.
import { ensureNodeModules, publishHost, run, log } from './lib.mjs';

export function buildAll() {
  ensureNodeModules();
  publishHost();
  run('npm', ['run', '--silent', 'build', '--workspace', 'vscode-modelvis'], { quietStdout: true });
  log('built: host in vscode-modelvis/host, extension in vscode-modelvis/dist');
}

if (import.meta.url === `file://${process.argv[1]}`) buildAll();
