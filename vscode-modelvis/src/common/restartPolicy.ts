// When the host dies: restart it with a growing delay, tell the user once, and give up after too
// many crashes in a short time (pure: the clock is passed in).

export interface RestartPolicyOptions {
  /** Crashes within `windowMs` that make the extension stop restarting. */
  maxCrashes: number;
  windowMs: number;
  /** Delay before the first restart; doubled for each further crash in the window. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export type CrashDecision =
  | { kind: 'restart'; delayMs: number; /** tell the user (only the first crash of a burst) */ notify: boolean; crashesInWindow: number }
  | { kind: 'give-up'; crashesInWindow: number };

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  maxCrashes: 3,
  windowMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

export class RestartPolicy {
  private crashes: number[] = [];
  private notified = false;
  private gaveUp = false;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Records a crash at `now` (ms) and says what to do. */
  onCrash(now: number): CrashDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.options.windowMs);
    this.crashes.push(now);
    const n = this.crashes.length;
    if (n >= this.options.maxCrashes || this.gaveUp) {
      this.gaveUp = true;
      return { kind: 'give-up', crashesInWindow: n };
    }
    // A crash after a quiet window is a new burst: the user hears about it again, once.
    if (n === 1) this.notified = false;
    const notify = !this.notified;
    this.notified = true;
    const delayMs = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (n - 1));
    return { kind: 'restart', delayMs, notify, crashesInWindow: n };
  }

  get hasGivenUp(): boolean {
    return this.gaveUp;
  }

  /** The user asked for a restart (or the settings changed): start counting afresh. */
  reset(): void {
    this.crashes = [];
    this.notified = false;
    this.gaveUp = false;
  }
}
