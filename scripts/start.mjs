// `npm start`: install, build, and open VS Code with the extension on a sample workspace.
// Uses a local `code` binary when there is one; otherwise a browser VS Code (code-server) on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, log, run } from './lib.mjs';
import { buildAll } from './build.mjs';

buildAll();

// A fresh copy of the sample workspace, pointed at the fixture models when they sit beside the checkout.
const workspace = join(root, '.tmp', 'sample-workspace');
mkdirSync(join(root, '.tmp'), { recursive: true });
cpSync(join(root, 'samples', 'workspace'), workspace, { recursive: true });
const fixtureModels = join(root, '..', 'shared', 'fixtures', 'models');
const settings = { 'modelvis.modelRoots': existsSync(fixtureModels) ? [fixtureModels] : [] };
if (existsSync(join(fixtureModels, 'stories260K'))) settings['modelvis.model'] = join(fixtureModels, 'stories260K');
mkdirSync(join(workspace, '.vscode'), { recursive: true });
writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));

const hasCode = spawnSync('code', ['--version'], { stdio: 'ignore' }).status === 0;
if (hasCode && !process.env.MODELVIS_USE_CODE_SERVER) {
  log('opening VS Code with the extension in development mode');
  spawn('code', ['--extensionDevelopmentPath', join(root, 'vscode-modelvis'), workspace], { stdio: 'inherit', detached: true }).unref();
} else {
  log('no `code` binary found: starting a browser VS Code (code-server) on 127.0.0.1');
  run('node', [join('scripts', 'e2e-setup.mjs')]);
  run('npm', ['run', '--silent', 'package', '--workspace', 'vscode-modelvis'], { quietStdout: true });
  run('node', [join('scripts', 'start-code-server.mjs'), workspace]);
}
