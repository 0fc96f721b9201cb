// Bundles the extension (dist/extension.js, vscode external) and the webview scripts
// (dist/webview/<name>.js, one per panel in media/webview/; the modules they share are not pages).
// Flags: --production, --watch.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const sharedModules = new Set(['common.ts', 'requests.ts', 'chartTheme.ts']);
const webviewEntries = readdirSync('media/webview')
  .filter((f) => f.endsWith('.ts') && !sharedModules.has(f) && !f.endsWith('.d.ts'))
  .map((f) => `media/webview/${f}`);

const common = { bundle: true, minify: production, sourcemap: !production, logLevel: 'info', target: 'es2022' };

const contexts = await Promise.all([
  esbuild.context({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  }),
  esbuild.context({
    ...common,
    entryPoints: webviewEntries,
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
  }),
  // The attention panel's script lives in media/attention/ (its own folder, with its CSS).
  esbuild.context({
    ...common,
    entryPoints: ['media/attention/attention.ts'],
    outfile: 'dist/webview/attention.js',
    platform: 'browser',
    format: 'iife',
  }),
  // The CNN feature-map panel (issue 7): media/features/.
  esbuild.context({
    ...common,
    entryPoints: ['media/features/features.ts'],
    outfile: 'dist/webview/features.js',
    platform: 'browser',
    format: 'iife',
  }),
]);

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
