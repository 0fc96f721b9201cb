// A webview's requests to the host, through its panel: each gets an id, the panel answers with
// {type: 'response', id, result | error} (src/webview/viewRequests.ts), and the promise settles.

import type { HostRequest, RunRef, ViewRequester, ViewResponseMessage } from '../../src/common/protocol';
import { post } from './common';

export class ViewRequests<Rs extends readonly HostRequest<string, RunRef, unknown>[]> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** Asks the host (the panel adds the run id). */
  readonly request: ViewRequester<Rs> = (method, params) => {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      post({ type: 'request', id, method, params });
    });
  };

  /** Settles the request this response answers (an unknown id is one the webview no longer waits for). */
  settle(m: ViewResponseMessage): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.result);
  }
}
