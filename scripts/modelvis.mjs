// `npm run --silent modelvis -- <verb> ...`: the CLI, built first if needed. stdout is the verb's result only.
import { spawnSync } from 'node:child_process';
import { ensureCli } from './lib.mjs';

const dll = ensureCli();
const result = spawnSync('dotnet', [dll, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
