// The little of the vscode API that HostClient uses, recorded, so its restart and error policy can be
// tested in plain Node. install() makes require('vscode') return it.
import Module from 'node:module';

export const shown: Array<{ level: 'error' | 'warning' | 'info'; message: string; actions: string[] }> = [];
export const settings: Record<string, unknown> = {};

class EventEmitter<T> {
  private listeners: Array<(e: T) => void> = [];
  event = (listener: (e: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

const record = (level: 'error' | 'warning' | 'info') => (message: string, ...actions: string[]) => {
  shown.push({ level, message, actions });
  return Promise.resolve(undefined);
};

export const vscodeMock = {
  version: '1.100.0-mock',
  EventEmitter,
  ConfigurationTarget: { Global: 1, Workspace: 2 },
  window: {
    showErrorMessage: record('error'),
    showWarningMessage: record('warning'),
    showInformationMessage: record('info'),
    setStatusBarMessage: () => ({ dispose() {} }),
  },
  workspace: {
    getConfiguration: () => ({ get: (key: string) => settings[key] }),
    isTrusted: true,
    workspaceFolders: [] as unknown[],
  },
  commands: { executeCommand: () => Promise.resolve() },
};

export function install(): void {
  const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
  const original = M._resolveFilename;
  M._resolveFilename = function (request: string, ...rest: unknown[]) {
    if (request === 'vscode') return 'vscode';
    return original.call(this, request, ...rest);
  };
  require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscodeMock } as unknown as NodeJS.Module;
}
