import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCsp, escapeHtml, escapeMarkdown, jsonForScript, makeNonce } from '../src/common/html';

test('escapeHtml escapes markup, quotes and ampersands', () => {
  assert.equal(escapeHtml('<script>alert("x")</script>'), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  assert.equal(escapeHtml("a & b's"), 'a &amp; b&#39;s');
  assert.equal(escapeHtml(undefined), '');
  assert.equal(escapeHtml(42), '42');
});

test('jsonForScript cannot close a script element', () => {
  const s = jsonForScript({ text: '</script><script>alert(1)</script>' });
  assert.ok(!s.includes('<'));
  assert.deepEqual(JSON.parse(s), { text: '</script><script>alert(1)</script>' });
});

test('escapeMarkdown neutralises markdown syntax', () => {
  assert.equal(escapeMarkdown('a_b*c'), 'a\\_b\\*c');
});

test('the nonce is 32 alphanumerics and the CSP allows only nonce scripts and data: images', () => {
  const n = makeNonce();
  assert.match(n, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(makeNonce(), n);
  const csp = buildCsp('https://src.example', 'abc');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc'/);
  assert.match(csp, /img-src data: https:\/\/src\.example/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!src\.example)/);
});

test('a tensor name cannot make a command link in a hover', () => {
  const md = escapeMarkdown('w](command:workbench.action.terminal.new) [x');
  assert.doesNotMatch(md, /(^|[^\\])\]\(command:/);
  assert.equal(md.replace(/\\(.)/g, '$1'), 'w](command:workbench.action.terminal.new) [x');
});
