// A stand-in for the .NET host, for testing the client: same framing, a few methods that succeed,
// fail, hang until cancelled, report progress, or crash. Mode from $FAKE_HOST_MODE or argv[2]
// ("serve", as the extension passes it, means "ok"): "ok" or "fail-start".
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, CancellationToken } from 'vscode-jsonrpc/node';

const mode = process.env.FAKE_HOST_MODE ?? (process.argv[2] && process.argv[2] !== 'serve' ? process.argv[2] : 'ok');
if (mode === 'fail-start') {
  process.stderr.write('You must install or update .NET to run this application.\n');
  process.stderr.write("Framework: 'Microsoft.NETCore.App', version '10.0.0' (x64)\n");
  process.exit(150);
}

const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
connection.onRequest('initialize', () => {
  process.stderr.write('fake host: initialize\n');
  return { serverInfo: { name: 'fake-host', version: '0.0.0' }, runtime: 'node', device: { kind: 'cpu', cores: 1 } };
});
connection.onRequest('echo', (params: unknown) => params);
connection.onRequest('userError', () => {
  throw new ResponseError(-32001, 'model.safetensors: tensor `h.0.w` ends at byte 912 but the file has 640 bytes');
});
connection.onRequest('hang', (_params: unknown, token: CancellationToken) => {
  return new Promise((resolve, reject) => {
    token.onCancellationRequested(() => {
      process.stderr.write('fake host: cancelled\n');
      reject(new ResponseError(-32800, 'cancelled'));
    });
  });
});
connection.onRequest('progress', async (params: { workDoneToken?: string }) => {
  const token = params.workDoneToken!;
  await connection.sendNotification('$/progress', { token, value: { kind: 'begin', title: 'Working', percentage: 0 } });
  await connection.sendNotification('$/progress', { token, value: { kind: 'report', message: 'half', percentage: 50 } });
  await connection.sendNotification('$/progress', { token, value: { kind: 'end' } });
  return 'done';
});
connection.onRequest('crash', () => {
  process.stderr.write('fake host: crashing\n');
  setTimeout(() => process.exit(3), 10);
  return new Promise(() => undefined);
});
connection.onRequest('shutdown', () => null);
connection.onNotification('exit', () => process.exit(0));
connection.listen();
