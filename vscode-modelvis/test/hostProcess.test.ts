import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { CancellationTokenSource, RequestType } from 'vscode-jsonrpc/node';
import { HostCrashedError, HostResponseError, HostUnavailableError, RequestTimeoutError } from '../src/common/errors';
import { WorkDoneProgressValue } from '../src/common/protocol';
import { HostProcess } from '../src/host/hostProcess';

const fake = path.join(__dirname, 'fakeHost.js');
// The fake host's methods (test/fakeHost.ts).
const Echo = new RequestType<unknown, unknown, void>('echo');
const UserError = new RequestType<object, never, void>('userError');
const Hang = new RequestType<object, never, void>('hang');
const Crash = new RequestType<object, never, void>('crash');
const Progress = new RequestType<object, string, void>('progress');
const launch = (mode = 'ok') => ({ command: process.execPath, args: [fake, mode], dllPath: fake });

test('the host starts, initializes, answers, logs stderr and stops cleanly', async () => {
  const log: string[] = [];
  const host = await HostProcess.start(launch(), (l) => log.push(l));
  assert.equal(host.initializeResult?.serverInfo.name, 'fake-host');
  assert.deepEqual(await host.request(Echo, { a: [1, 2] }), { a: [1, 2] });
  await host.stop();
  assert.equal(host.isRunning, false);
  assert.ok(log.includes('fake host: initialize'));
});

test('a -32001 user error keeps its message as is', async () => {
  const host = await HostProcess.start(launch(), () => undefined);
  try {
    await assert.rejects(host.request(UserError, {}), (e: unknown) => {
      assert.ok(e instanceof HostResponseError);
      assert.equal(e.code, -32001);
      assert.equal(e.message, 'model.safetensors: tensor `h.0.w` ends at byte 912 but the file has 640 bytes');
      return true;
    });
  } finally {
    await host.stop();
  }
});

test('cancellation sends $/cancelRequest and fails the request as cancelled', async () => {
  const log: string[] = [];
  const host = await HostProcess.start(launch(), (l) => log.push(l));
  try {
    const source = new CancellationTokenSource();
    const pending = host.request(Hang, {}, { token: source.token });
    setTimeout(() => source.cancel(), 50);
    await assert.rejects(pending, (e: unknown) => e instanceof HostResponseError && e.code === -32800);
    // The host saw the cancellation too.
    for (let i = 0; i < 50 && !log.includes('fake host: cancelled'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(log.includes('fake host: cancelled'));
    assert.deepEqual(await host.request(Echo, 1), 1, 'the host goes on serving');
  } finally {
    await host.stop();
  }
});

test('a request that takes too long times out with a clear error', async () => {
  const host = await HostProcess.start(launch(), () => undefined);
  try {
    await assert.rejects(host.request(Hang, {}, { timeoutMs: 100 }), (e: unknown) => {
      assert.ok(e instanceof RequestTimeoutError);
      assert.match(e.message, /did not answer hang within/);
      return true;
    });
  } finally {
    await host.stop();
  }
});

test('progress arrives through workDoneToken and $/progress', async () => {
  const host = await HostProcess.start(launch(), () => undefined);
  try {
    const seen: WorkDoneProgressValue[] = [];
    assert.equal(await host.request(Progress, {}, { onProgress: (v) => seen.push(v) }), 'done');
    assert.deepEqual(
      seen.map((v) => v.kind),
      ['begin', 'report', 'end'],
    );
    assert.equal(seen[1].percentage, 50);
  } finally {
    await host.stop();
  }
});

test('requests in flight fail with a clear error when the host dies', async () => {
  const host = await HostProcess.start(launch(), () => undefined);
  const exited = new Promise<boolean>((r) => host.onExit((info) => r(info.expected)));
  const inFlight = host.request(Hang, {});
  await assert.rejects(host.request(Crash, {}), (e: unknown) => {
    assert.ok(e instanceof HostCrashedError);
    assert.match(e.message, /stopped while working on crash \(exit code 3\)/);
    return true;
  });
  await assert.rejects(inFlight, HostCrashedError);
  assert.equal(await exited, false, 'an unexpected exit');
  await assert.rejects(host.request(Echo, 1), HostUnavailableError);
});

test('a missing runtime is diagnosed from stderr', async () => {
  await assert.rejects(HostProcess.start(launch('fail-start'), () => undefined), (e: unknown) => {
    assert.ok(e instanceof HostUnavailableError);
    assert.match(e.message, /needs the \.NET 10 runtime/);
    assert.match(e.message, /modelvis\.dotnetPath/);
    return true;
  });
});

test('a missing dotnet executable gives one sentence with what to install', async () => {
  const missing = { command: '/nonexistent/dotnet', args: ['x.dll', 'serve'], dllPath: 'x.dll' };
  await assert.rejects(HostProcess.start(missing, () => undefined), (e: unknown) => {
    assert.ok(e instanceof HostUnavailableError);
    assert.match(e.message, /could not be started \(ENOENT\)/);
    assert.match(e.message, /Install the \.NET 10 runtime/);
    return true;
  });
});
