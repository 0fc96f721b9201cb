// The panel's side of a webview's requests (media/webview/requests.ts): the method must be one the
// webview may ask for, the run id is added, and the host's result or error goes back under the same id.

import { errorMessage } from '../common/errors';
import { HostRequest, RunRef, viewRequest, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';

/** Sends one allowed request to the host (the panel chooses timeouts and progress). */
export type ViewRequestCall = (type: HostRequest<string, RunRef, unknown>, params: RunRef & Record<string, unknown>) => PromiseLike<unknown>;

/** The response to a webview's request; the webview's params are checked by the host (-32602 with the reason), as any client's. */
export async function answerViewRequest(
  allowed: readonly HostRequest<string, RunRef, unknown>[],
  m: ViewRequestMessage,
  runId: string | undefined,
  call: ViewRequestCall,
  log: (line: string) => void,
): Promise<ViewResponseMessage> {
  const type = viewRequest(allowed, m.method);
  if (!type) return { type: 'response', id: m.id, error: `not allowed: ${String(m.method)}` };
  if (runId === undefined) return { type: 'response', id: m.id, error: 'no run is shown' };
  try {
    return { type: 'response', id: m.id, result: await call(type, { ...m.params, runId }) };
  } catch (e) {
    log(`${m.method} → ${errorMessage(e)}`);
    return { type: 'response', id: m.id, error: errorMessage(e) };
  }
}
