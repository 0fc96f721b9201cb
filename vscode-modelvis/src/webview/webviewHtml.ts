// The shared shell of every ModelVis webview: strict CSP with a nonce, theme-aware shared CSS, one
// bundled script per panel (dist/webview/<name>.js, built from media/webview/<name>.ts).

import * as vscode from 'vscode';
import { buildCsp, escapeHtml, makeNonce } from '../common/html';

export interface WebviewPage {
  /** Name of the panel's script and stylesheet: dist/webview/<name>.js and media/webview/<name>.css. */
  name: string;
  title: string;
  /** The panel's stylesheet and script folder when they are not media/webview (e.g. ['media', 'attention']). */
  styleDir?: string[];
}

/** Where a webview may load files from. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableFindWidget: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = makeNonce();
  const asset = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...parts)).toString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(buildCsp(webview.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(asset('media', 'webview', 'common.css'))}">
<link rel="stylesheet" href="${escapeHtml(asset(...(page.styleDir ?? ['media', 'webview']), `${page.name}.css`))}">
<title>${escapeHtml(page.title)}</title>
</head>
<body data-state="loading" data-panel="${escapeHtml(page.name)}">
<main id="modelvis-root" class="modelvis-root" aria-live="polite"><p class="loading">Loading…</p></main>
<script nonce="${nonce}" src="${escapeHtml(asset('dist', 'webview', `${page.name}.js`))}"></script>
</body>
</html>`;
}
