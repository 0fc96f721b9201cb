// Errors of host requests and the sentences shown for them (pure).

import { ErrorCodes } from './protocol';

/** The host is not running: not started, stopped, or given up on. The message says what to do. */
export class HostUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostUnavailableError';
  }
}

/** The host died while this request was in flight. */
export class HostCrashedError extends Error {
  constructor(readonly method: string, detail: string) {
    super(`The ModelVis host stopped while working on ${method} (${detail}). It is being restarted; try again.`);
    this.name = 'HostCrashedError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(readonly method: string, readonly timeoutMs: number) {
    super(`The ModelVis host did not answer ${method} within ${Math.round(timeoutMs / 1000)} s; the request was cancelled.`);
    this.name = 'RequestTimeoutError';
  }
}

/** A JSON-RPC error answer, with the method it answered. */
export class HostResponseError extends Error {
  constructor(readonly method: string, readonly code: number, readonly hostMessage: string, readonly data?: unknown) {
    super(describeResponseError(method, code, hostMessage));
    this.name = 'HostResponseError';
  }
}

export function isCancellation(err: unknown): boolean {
  return err instanceof HostResponseError && err.code === ErrorCodes.RequestCancelled;
}

/** The sentence for a JSON-RPC error: user errors (-32001) as the host wrote them. */
export function describeResponseError(method: string, code: number, message: string): string {
  switch (code) {
    case ErrorCodes.UserError:
      return message;
    case ErrorCodes.RequestCancelled:
      return `${method} was cancelled.`;
    case ErrorCodes.MethodNotFound:
      return `The ModelVis host does not support ${method} (${message}). Is the host older than the extension? Rebuild it, then run "ModelVis: Restart Host".`;
    case ErrorCodes.InvalidParams:
      return `The ModelVis host rejected the parameters of ${method}: ${message}`;
    case ErrorCodes.InternalError:
      return `The ModelVis host failed on ${method}: ${message} (details in the "ModelVis" output).`;
    default:
      return `ModelVis: ${method} failed: ${message}`;
  }
}

/** The message to show for any error a request may end with. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Recognises a start failure from the host's stderr and exit: .NET missing or too old, or the
 * host assembly missing. Returns the sentence to show, or undefined if it is something else.
 */
export function diagnoseStartFailure(opts: {
  dotnetPath: string;
  dllPath: string;
  spawnErrorCode?: string;
  stderr: string;
}): string | undefined {
  const install = 'Install the .NET 10 runtime (https://dotnet.microsoft.com/download/dotnet/10.0)';
  if (opts.spawnErrorCode === 'ENOENT' || opts.spawnErrorCode === 'EACCES') {
    return `ModelVis needs .NET to run its host, but "${opts.dotnetPath}" could not be started (${opts.spawnErrorCode}). ${install}, or set the setting modelvis.dotnetPath to the dotnet executable.`;
  }
  const err = opts.stderr;
  if (/You must install or update \.NET|framework.*was not found|No frameworks were found|Microsoft\.NETCore\.App.*not found/is.test(err)) {
    return `The ModelVis host needs the .NET 10 runtime, which "${opts.dotnetPath}" does not have. ${install}, or point modelvis.dotnetPath to a dotnet that has it.`;
  }
  if (/The application .* does not exist|Could not execute because the specified command or file was not found|No such file/i.test(err)) {
    return `The ModelVis host is missing: ${opts.dllPath} was not found. Build it (npm run build at the repository root) or set MODELVIS_HOST_DLL.`;
  }
  return undefined;
}
