// Starts the .NET host and connects the real vscode-jsonrpc client to it, as the extension does.
import { spawn } from 'node:child_process';
import { before, after } from 'node:test';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = process.env.MODELVIS_FIXTURES || join(root, '..', 'shared', 'fixtures');

export function hostDll() {
  const candidates = [
    process.env.MODELVIS_HOST_DLL,
    join(root, 'vscode-modelvis', 'host', 'modelvis.dll'),
    join(root, 'server', 'src', 'ModelVis.Cli', 'bin', 'Release', 'net10.0', 'modelvis.dll'),
    join(root, 'server', 'src', 'ModelVis.Cli', 'bin', 'Debug', 'net10.0', 'modelvis.dll'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`host not built: none of ${candidates.join(', ')} exists (run npm run build)`);
  return found;
}

/** `modelvis serve` with extra arguments (`--device ilgpu-cpu`, `--threads 2`). */
export function startHost(args = []) {
  const proc = spawn('dotnet', [hostDll(), 'serve', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d.toString(); });
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(proc.stdout),
    new rpc.StreamMessageWriter(proc.stdin));
  const progress = [];
  connection.onNotification('$/progress', (p) => progress.push(p));
  connection.listen();
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc, connection, progress, exited,
    get stderr() { return stderr; },
    async stop() {
      try {
        await connection.sendRequest('shutdown');
        await connection.sendNotification('exit');
      } catch { /* already gone */ }
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => { proc.kill('SIGKILL'); r('killed'); }, 10000))]);
      connection.dispose();
      return code;
    },
  };
}

/** The stories260K fixture and the sentence the host tests run it on. */
export const storiesModel = join(fixtures, 'models', 'stories260K');
export const storiesText = 'Once upon a time, there was a little girl named Lily.';

/**
 * Registers the file's before/after hooks: a host with one `attention/run` of the stories sentence. The returned
 * object's `host` and `run` are set once the hook has run.
 */
export function withStoriesRun() {
  const session = {};
  before(async () => {
    session.host = startHost();
    session.run = await session.host.connection.sendRequest('attention/run', { model: storiesModel, text: storiesText });
  });
  after(async () => { await session.host?.stop(); });
  return session;
}
