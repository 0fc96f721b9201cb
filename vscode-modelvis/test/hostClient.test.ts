// HostClient's policy with a fake host: one message for a missing runtime, restart after a crash
// with one warning, give up after repeated crashes with a "Restart Host" button.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { install, settings, shown } from './vscodeMock';

install();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HostClient } = require('../src/host/hostClient') as typeof import('../src/host/hostClient');
import { RequestType } from 'vscode-jsonrpc/node';
import { HostCrashedError, HostUnavailableError } from '../src/common/errors';

const output = { appendLine: () => undefined, show: () => undefined } as never;
const fakeDll = path.join(__dirname, 'fakeHost.js');
// The fake host's methods (test/fakeHost.ts).
const Echo = new RequestType<unknown, unknown, void>('echo');
const Crash = new RequestType<object, never, void>('crash');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

test('a missing dotnet is one error message, however many requests fail', async () => {
  shown.length = 0;
  process.env.MODELVIS_HOST_DLL = fakeDll;
  settings.dotnetPath = '/nonexistent/dotnet';
  const client = new HostClient('/ext', output);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(client.request(Echo, 1), HostUnavailableError);
    client.showError(await client.request(Echo, 1).catch((e: Error) => e));
  }
  assert.equal(shown.length, 1);
  assert.equal(shown[0].level, 'error');
  assert.match(shown[0].message, /Install the \.NET 10 runtime/);
  assert.deepEqual(shown[0].actions, ['Open Settings', 'Show Log']);
  await client.stop();
});

test('a crash fails the request in flight, restarts the host and tells the user once', async () => {
  shown.length = 0;
  process.env.MODELVIS_HOST_DLL = fakeDll;
  settings.dotnetPath = process.execPath; // "node fakeHost.js serve"
  const client = new HostClient('/ext', output);
  let starts = 0;
  client.onDidStart(() => starts++);
  assert.equal(await client.request(Echo, 'a'), 'a');
  await assert.rejects(client.request(Crash, {}), HostCrashedError);
  // Requests made while it restarts wait for the new host.
  assert.equal(await client.request(Echo, 'b'), 'b');
  await until(() => shown.length === 1);
  assert.equal(shown[0].level, 'warning');
  assert.match(shown[0].message, /stopped unexpectedly \(exit code 3\) and was restarted/);
  assert.equal(starts, 2);

  // A second crash within the minute restarts silently; the third gives up with one message.
  await assert.rejects(client.request(Crash, {}), HostCrashedError);
  assert.equal(await client.request(Echo, 'c'), 'c');
  await assert.rejects(client.request(Crash, {}), HostCrashedError);
  await until(() => shown.length === 2);
  assert.equal(shown[1].level, 'error');
  assert.match(shown[1].message, /stopped 3 times within a minute/);
  assert.deepEqual(shown[1].actions, ['Restart Host', 'Show Log']);
  const err = await client.request(Echo, 1).catch((e: Error) => e);
  assert.ok(err instanceof HostUnavailableError);
  client.showError(err);
  assert.equal(shown.length, 2, 'no second message for the same failure');

  // "Restart Host" starts afresh.
  await client.restart();
  assert.equal(await client.request(Echo, 'd'), 'd');
  await client.stop();
});
