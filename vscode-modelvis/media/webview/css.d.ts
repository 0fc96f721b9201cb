// Stylesheets imported by a webview script are bundled by esbuild into dist/webview/<page>.css.
declare module '*.css';
