import type { Clock } from './live';

export const systemClock: Clock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  now: () => Date.now(),
};

/**
 * Runs `fn` at most once per `ms`: the first `schedule()` after a quiet spell arms a timer, and
 * every call until it fires joins that run. A burst of 10,000 events is one render, not 10,000.
 */
export class Throttle {
  private timer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly fn: () => void,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.fn();
    }, this.ms);
  }

  /** Runs now (e.g. after a load) and drops the armed timer. */
  flush(): void {
    this.cancel();
    this.fn();
  }

  cancel(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
