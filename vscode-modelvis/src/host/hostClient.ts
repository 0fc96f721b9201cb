// The extension's handle on the host: starts it on first use, restarts it when it dies (once told,
// backing off, giving up after repeated crashes), and turns failures into one clear message.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, HostCrashedError, HostUnavailableError, isCancellation } from '../common/errors';
import type { NotificationType, RequestType } from 'vscode-jsonrpc';
import { WorkDoneProgressValue } from '../common/protocol';
import { RestartPolicy } from '../common/restartPolicy';
import { untrustedFolders, UntrustedWorkspaceError, workspacePathsIn } from '../common/trust';
import { HostLaunch, HostProcess } from './hostProcess';

export interface HostRequestOptions {
  token?: vscode.CancellationToken;
  timeoutMs?: number;
  /** Receives the host's $/progress as vscode progress (message, increment). */
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
}

/** Per-method time limits; a request may pass its own. */
const DEFAULT_TIMEOUTS_MS: Record<string, number> = {
  'models/discover': 60_000,
  'models/tree': 60_000,
  'tensors/inspect': 120_000,
  'tensors/image': 120_000,
  'attention/run': 600_000,
};

export class HostClient implements vscode.Disposable {
  private host: HostProcess | undefined;
  private starting: Promise<HostProcess> | undefined;
  private readonly policy = new RestartPolicy();
  /** Set when the host cannot be used until the user acts (no .NET, or too many crashes). */
  private failure: string | undefined;
  private failureShown = false;
  private disposed = false;
  private readonly didStart = new vscode.EventEmitter<HostProcess>();
  /** Fires each time a host has started and answered `initialize` (first start and restarts). */
  readonly onDidStart = this.didStart.event;
  private readonly didRestart = new vscode.EventEmitter<HostProcess>();
  /** Fires when a new host replaces one that ran (after a crash, or Restart Host): what the old one held is gone. */
  readonly onDidRestart = this.didRestart.event;
  private startedOnce = false;

  constructor(
    private readonly extensionPath: string,
    readonly output: vscode.OutputChannel,
  ) {}

  log(message: string): void {
    this.output.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  private readonly notificationHandlers: Array<{ type: NotificationType<never>; handler: (params: never) => void }> = [];

  /** Listens to a host notification, on this host and every restarted one. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): vscode.Disposable {
    const entry = { type: type as NotificationType<never>, handler: handler as (params: never) => void };
    this.notificationHandlers.push(entry);
    const current = this.host?.isRunning ? this.host.onNotification(type, handler) : undefined;
    return new vscode.Disposable(() => {
      const i = this.notificationHandlers.indexOf(entry);
      if (i >= 0) this.notificationHandlers.splice(i, 1);
      current?.dispose();
    });
  }

  /** Sends a request, starting the host first if needed. Refused when it would open a file of an untrusted workspace. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, options: HostRequestOptions = {}): Promise<R> {
    const blocked = workspacePathsIn(params, untrustedFolders(vscode.workspace.isTrusted, vscode.workspace.workspaceFolders));
    if (blocked.length > 0) {
      this.log(`${type.method} not sent: the workspace is not trusted (${blocked.join(', ')})`);
      throw new UntrustedWorkspaceError(blocked);
    }
    const host = await this.ensureStarted();
    let lastPercentage = 0;
    const onProgress = options.progress
      ? (v: WorkDoneProgressValue) => {
          const increment = v.percentage !== undefined ? Math.max(0, v.percentage - lastPercentage) : undefined;
          if (v.percentage !== undefined) lastPercentage = v.percentage;
          options.progress!.report({ message: v.message ?? v.title, increment });
        }
      : undefined;
    return host.request(type, params, {
      token: options.token,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUTS_MS[type.method] ?? 60_000,
      onProgress,
    });
  }

  /** The running host, started on first use; fails with HostUnavailableError when it cannot be. */
  ensureStarted(): Promise<HostProcess> {
    if (this.disposed) return Promise.reject(new HostUnavailableError('ModelVis is shutting down.'));
    if (this.failure) return Promise.reject(new HostUnavailableError(this.failure));
    if (this.host?.isRunning) return Promise.resolve(this.host);
    if (!this.starting) this.starting = this.launch(0);
    return this.starting;
  }

  /** "ModelVis: Restart Host": forget past crashes and failures, stop the host, start a new one. */
  async restart(): Promise<void> {
    this.policy.reset();
    this.failure = undefined;
    this.failureShown = false;
    const old = this.host;
    this.host = undefined;
    this.starting = undefined;
    if (old) await old.stop();
    try {
      await this.ensureStarted();
      vscode.window.setStatusBarMessage('ModelVis host restarted', 3000);
    } catch (e) {
      this.showError(e);
    }
  }

  /** Settings that change how the host is launched: use them from the next start on. */
  async onLaunchSettingsChanged(): Promise<void> {
    if (this.host || this.failure) await this.restart();
  }

  /**
   * Shows an error to the user, unless it is a cancellation or the host failure that was already
   * shown once (so a missing .NET is one message, not one per request).
   */
  showError(err: unknown, prefix?: string): void {
    if (isCancellation(err)) return;
    // The crash is told once, by the restart's own message (onHostExit), not once more per request it cut short.
    if (err instanceof HostCrashedError) {
      this.log(`error: ${prefix ? prefix + ': ' : ''}${err.message}`);
      return;
    }
    if (err instanceof UntrustedWorkspaceError) {
      void vscode.window.showWarningMessage(err.message, 'Manage Workspace Trust').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return;
    }
    const message = errorMessage(err);
    if (err instanceof HostUnavailableError && message === this.failure) {
      if (this.failureShown) return;
      this.failureShown = true;
      void this.showFailure(message);
      return;
    }
    this.log(`error: ${prefix ? prefix + ': ' : ''}${message}`);
    void vscode.window.showErrorMessage(prefix ? `${prefix}: ${message}` : message, 'Show Log').then((choice) => {
      if (choice === 'Show Log') this.output.show(true);
    });
  }

  launchSpec(): HostLaunch {
    const config = vscode.workspace.getConfiguration('modelvis');
    const dotnet = (config.get<string>('dotnetPath') || 'dotnet').trim() || 'dotnet';
    const dllPath = process.env.MODELVIS_HOST_DLL || path.join(this.extensionPath, 'host', 'modelvis.dll');
    // 0 (the default) lets the host use every core.
    const threads = Math.floor(config.get<number>('threads') ?? 0);
    const device = config.get<string>('device') ?? 'auto';
    const args = [dllPath, 'serve'];
    if (threads >= 1) args.push('--threads', String(threads));
    if (['cpu', 'cuda'].includes(device)) args.push('--device', device);
    return {
      command: dotnet,
      args,
      dllPath,
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
    };
  }

  private async launch(delayMs: number): Promise<HostProcess> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const spec = this.launchSpec();
    try {
      if (!fs.existsSync(spec.dllPath)) {
        throw new HostUnavailableError(
          `The ModelVis host is missing: ${spec.dllPath} was not found. Build it (npm run build at the repository root), or set MODELVIS_HOST_DLL to the host's modelvis.dll.`,
        );
      }
      this.log(`starting host: ${spec.command} ${spec.args.join(' ')}`);
      const host = await HostProcess.start(spec, (line) => this.output.appendLine(line), {
        initializeParams: { clientInfo: { name: 'vscode-modelvis', version: vscode.version }, processId: process.pid },
      });
      if (this.disposed) {
        await host.stop();
        throw new HostUnavailableError('ModelVis is shutting down.');
      }
      const info = host.initializeResult;
      this.log(
        `host ready (pid ${host.pid}): ${info?.serverInfo?.name ?? '?'} ${info?.serverInfo?.version ?? ''}, ${info?.runtime ?? ''}, ` +
          `${info?.device?.cpuModel ?? ''} ${info?.device?.cores ?? '?'} cores, SIMD ${info?.device?.simdWidthBits ?? '?'} bits; ` +
          `models run on ${info?.device?.accelerator ?? 'cpu'}`,
      );
      if (info?.device?.warning && !this.startedOnce) void vscode.window.showWarningMessage(`ModelVis: ${info.device.warning}`);
      this.host = host;
      this.starting = undefined;
      for (const n of this.notificationHandlers) host.onNotification(n.type, (p) => { if (this.notificationHandlers.includes(n)) n.handler(p); });
      host.onExit((exit) => this.onHostExit(host, exit.expected, exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`));
      this.didStart.fire(host);
      if (this.startedOnce) this.didRestart.fire(host);
      this.startedOnce = true;
      return host;
    } catch (e) {
      this.starting = undefined;
      const message = errorMessage(e);
      this.log(`host start failed: ${message}`);
      // A start failure needs the user (install .NET, fix a setting): no retry loop, one message,
      // shown here whoever asked (the Models view shows it inline as well).
      this.failure = message;
      if (!this.disposed) {
        this.failureShown = true;
        void this.showFailure(message);
      }
      throw new HostUnavailableError(message);
    }
  }

  private onHostExit(host: HostProcess, expected: boolean, detail: string): void {
    if (this.host !== host) return;
    this.host = undefined;
    if (expected || this.disposed) {
      this.log(`host stopped (${detail})`);
      return;
    }
    this.log(`host exited unexpectedly (${detail})`);
    const decision = this.policy.onCrash(Date.now());
    if (decision.kind === 'give-up') {
      this.failure = `The ModelVis host stopped ${decision.crashesInWindow} times within a minute, so it was not restarted again. See the "ModelVis" output, then run "ModelVis: Restart Host".`;
      this.failureShown = true;
      void this.showFailure(this.failure);
      return;
    }
    this.log(`restarting host in ${decision.delayMs} ms`);
    const restarting = this.launch(decision.delayMs);
    this.starting = restarting;
    restarting.then(
      () => {
        if (decision.notify) {
          void vscode.window
            .showWarningMessage(`The ModelVis host stopped unexpectedly (${detail}) and was restarted.`, 'Show Log')
            .then((c) => c === 'Show Log' && this.output.show(true));
        }
      },
      () => undefined, // launch() has told the user
    );
  }

  private async showFailure(message: string): Promise<void> {
    const dotnetMissing = /\.NET/.test(message) && /dotnetPath/.test(message);
    const actions = dotnetMissing ? ['Open Settings', 'Show Log'] : ['Restart Host', 'Show Log'];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === 'Show Log') this.output.show(true);
    else if (choice === 'Restart Host') await this.restart();
    else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'modelvis.dotnetPath');
  }

  /** Stops the host (shutdown, exit, then a kill if it lingers); used on deactivation. */
  async stop(): Promise<void> {
    this.disposed = true;
    const host = this.host;
    this.host = undefined;
    await host?.stop(1500);
  }

  dispose(): void {
    void this.stop();
    this.didStart.dispose();
    this.didRestart.dispose();
  }
}
