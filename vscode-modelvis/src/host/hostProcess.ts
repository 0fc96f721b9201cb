// One running host process and its JSON-RPC connection (Node only, no vscode: tested with a fake host).

import { spawn, ChildProcess } from 'child_process';
import {
  CancellationTokenSource,
  createMessageConnection,
  MessageConnection,
  NotificationType,
  ProgressType,
  RequestType,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import {
  diagnoseStartFailure,
  HostCrashedError,
  HostResponseError,
  HostUnavailableError,
  RequestTimeoutError,
} from '../common/errors';
import { ErrorCodes, Exit, Initialize, InitializeParams, InitializeResult, Shutdown, WorkDoneProgressValue } from '../common/protocol';

export interface HostLaunch {
  /** The dotnet executable (or any program, for tests). */
  command: string;
  args: string[];
  /** The host assembly, for error messages. */
  dllPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Anything with the shape of a cancellation token (vscode's and vscode-jsonrpc's both fit). */
export interface TokenLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

export interface RequestOptions {
  token?: TokenLike;
  /** Cancel (sends $/cancelRequest) and fail after this long; 0 or undefined: no limit. */
  timeoutMs?: number;
  /** Adds a workDoneToken to the params and reports the host's $/progress values. */
  onProgress?: (value: WorkDoneProgressValue) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() ended it. */
  expected: boolean;
  /** The last lines the host wrote on stderr. */
  stderrTail: string;
}

const workDoneProgress = new ProgressType<WorkDoneProgressValue>();
let nextProgressToken = 1;

export class HostProcess {
  private readonly inFlight = new Set<{ method: string; reject: (e: Error) => void }>();
  private readonly exitHandlers: Array<(info: ExitInfo) => void> = [];
  private stopping = false;
  private exited: ExitInfo | undefined;
  private stderrLines: string[] = [];
  initializeResult: InitializeResult | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly connection: MessageConnection,
    private readonly log: (line: string) => void,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return !this.exited;
  }

  /** Spawns the host and completes `initialize`; fails with a sentence a person can act on. */
  static start(
    launch: HostLaunch,
    log: (line: string) => void,
    options: { initializeTimeoutMs?: number; initializeParams?: InitializeParams } = {},
  ): Promise<HostProcess> {
    return new Promise<HostProcess>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(launch.command, [...launch.args], {
          cwd: launch.cwd,
          env: launch.env ?? process.env,
          stdio: ['pipe', 'pipe', 'pipe'],
          windowsHide: true,
        });
      } catch (e) {
        reject(startError(launch, (e as NodeJS.ErrnoException).code, '', String(e)));
        return;
      }
      if (child.pid === undefined) {
        // spawn failed (no such executable, no permission): 'error' follows; nothing to talk to.
        child.on('error', (e: NodeJS.ErrnoException) => reject(startError(launch, e.code, '', e.message)));
        return;
      }
      const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!), {
        error: (m) => log(`[client] ${m}`),
        warn: (m) => log(`[client] ${m}`),
        info: () => undefined,
        log: () => undefined,
      });
      const host = new HostProcess(child, connection, log);
      let started = false;

      child.stdin!.on('error', () => undefined); // EPIPE when the host died: reported through 'exit'
      host.pipeStderr();
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (!started) {
          started = true;
          reject(startError(launch, e.code, host.stderrTail(), e.message));
        }
        host.onChildGone(null, null);
      });
      child.on('exit', (code, signal) => {
        if (!started) {
          started = true;
          const why = signal ? `signal ${signal}` : `exit code ${code}`;
          reject(startError(launch, undefined, host.stderrTail(), `the host exited during start (${why})`));
        }
        host.onChildGone(code, signal);
      });

      connection.listen();
      host
        .request(Initialize, options.initializeParams ?? {}, { timeoutMs: options.initializeTimeoutMs ?? 30_000 })
        .then((result) => {
          if (started) return;
          started = true;
          host.initializeResult = result;
          resolve(host);
        })
        .catch((e: Error) => {
          if (started) return;
          started = true;
          host.kill();
          reject(startError(launch, undefined, host.stderrTail(), e.message));
        });
    });
  }

  onExit(handler: (info: ExitInfo) => void): void {
    if (this.exited) handler(this.exited);
    else this.exitHandlers.push(handler);
  }

  /** Listens to a notification the host sends (e.g. attention/layerDone). */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): { dispose(): unknown } {
    return this.connection.onNotification(type, handler);
  }

  request<P, R>(type: RequestType<P, R, void>, params: P, options: RequestOptions = {}): Promise<R> {
    const method = type.method;
    if (this.exited) return Promise.reject(new HostUnavailableError('The ModelVis host is not running.'));
    const source = new CancellationTokenSource();
    const disposables: Array<{ dispose(): unknown }> = [source];
    let sendParams = params;
    if (options.onProgress) {
      const token = `modelvis-progress-${nextProgressToken++}`;
      sendParams = { ...params, workDoneToken: token };
      disposables.push(this.connection.onProgress(workDoneProgress, token, options.onProgress));
    }

    return new Promise<R>((resolve, reject) => {
      const entry = { method, reject: (e: Error) => settle(() => reject(e)) };
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.inFlight.delete(entry);
        for (const d of disposables) d.dispose();
        f();
      };
      this.inFlight.add(entry);

      if (options.timeoutMs && options.timeoutMs > 0) {
        const timer = setTimeout(() => {
          source.cancel();
          settle(() => reject(new RequestTimeoutError(method, options.timeoutMs!)));
        }, options.timeoutMs);
        disposables.push({ dispose: () => clearTimeout(timer) });
      }
      if (options.token) {
        const cancelled = () => {
          source.cancel(); // vscode-jsonrpc sends $/cancelRequest
          settle(() => reject(new HostResponseError(method, ErrorCodes.RequestCancelled, 'cancelled')));
        };
        if (options.token.isCancellationRequested) {
          cancelled();
          return;
        }
        disposables.push(options.token.onCancellationRequested(cancelled));
      }

      this.connection.sendRequest(type, sendParams, source.token).then(
        (result) => settle(() => resolve(result)),
        (e: unknown) =>
          settle(() => {
            if (e instanceof ResponseError) reject(new HostResponseError(method, e.code, e.message, e.data));
            else reject(e instanceof Error ? e : new Error(String(e)));
          }),
      );
    });
  }

  /** `shutdown`, then `exit`; kills the process if it is still there after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    const gone = new Promise<void>((r) => this.onExit(() => r()));
    try {
      await this.request(Shutdown, null, { timeoutMs: graceMs });
      await this.connection.sendNotification(Exit);
    } catch {
      // fall through to the kill below
    }
    const timer = setTimeout(() => this.kill(), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Ends the process now (the host's crash path, as far as the client can tell, unless stopping). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  stderrTail(): string {
    return this.stderrLines.join('\n');
  }

  private pipeStderr(): void {
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) this.addStderr(line);
    });
    this.child.stderr!.on('end', () => {
      if (partial) this.addStderr(partial);
      partial = '';
    });
  }

  private addStderr(line: string): void {
    this.stderrLines.push(line);
    if (this.stderrLines.length > 40) this.stderrLines.shift();
    this.log(line);
  }

  private onChildGone(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    const info: ExitInfo = { code, signal, expected: this.stopping, stderrTail: this.stderrTail() };
    this.exited = info;
    const detail = signal ? `signal ${signal}` : `exit code ${code}`;
    for (const entry of [...this.inFlight]) {
      entry.reject(
        this.stopping
          ? new HostUnavailableError(`The ModelVis host was stopped while working on ${entry.method}.`)
          : new HostCrashedError(entry.method, detail),
      );
    }
    this.connection.dispose();
    for (const h of this.exitHandlers) h(info);
  }
}

function startError(launch: HostLaunch, spawnErrorCode: string | undefined, stderr: string, detail: string): Error {
  const diagnosed = diagnoseStartFailure({ dotnetPath: launch.command, dllPath: launch.dllPath, spawnErrorCode, stderr });
  if (diagnosed) return new HostUnavailableError(diagnosed);
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  return new HostUnavailableError(
    `The ModelVis host could not start: ${detail}.${tail ? ` Its last words: ${tail}` : ''} See the "ModelVis" output.`,
  );
}
