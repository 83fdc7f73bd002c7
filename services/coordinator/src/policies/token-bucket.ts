import { requireNumber } from './check.js';

const MS_PER_MINUTE = 60_000;
// Refill arithmetic is floating point; a take that is short by less than this still succeeds.
const EPSILON = 1e-9;

/**
 * A token bucket holding at most `perMinute` tokens, refilled continuously at `perMinute` per
 * minute (never above its capacity) and starting full. Time comes only from the injected clock,
 * so the bucket is refilled lazily whenever it is read.
 */
export class TokenBucket {
  private perMinute: number;
  private fill: number;
  private refilledAt: number;

  constructor(
    perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    requireNumber('perMinute', perMinute, 0, { above: true });
    this.perMinute = perMinute;
    this.fill = perMinute;
    this.refilledAt = now();
  }

  get capacity(): number {
    return this.perMinute;
  }

  /** Tokens in the bucket now; negative after `consume` took more than there was. */
  available(): number {
    this.refill();
    return this.fill;
  }

  /** Takes `n` tokens if there are that many; otherwise takes nothing. */
  tryTake(n: number): boolean {
    requireNumber('n', n, 0);
    this.refill();
    if (this.fill + EPSILON < n) return false;
    this.fill -= n;
    return true;
  }

  /**
   * Takes `n` tokens unconditionally, going below zero if need be: usage reported after the
   * fact (tokens a model call used) must still be paid for, by later waits.
   */
  consume(n: number): void {
    requireNumber('n', n, 0);
    this.refill();
    this.fill -= n;
  }

  /** Milliseconds until `n` tokens are available: 0 if they are now, Infinity if `n` exceeds the capacity. */
  msUntil(n: number): number {
    requireNumber('n', n, 0);
    if (n > this.perMinute) return Number.POSITIVE_INFINITY;
    this.refill();
    const missing = n - this.fill;
    if (missing <= EPSILON) return 0;
    return Math.ceil((missing * MS_PER_MINUTE) / this.perMinute);
  }

  /** Changes the rate (and so the capacity), keeping the current fill clamped to the new capacity. */
  setRate(perMinute: number): void {
    requireNumber('perMinute', perMinute, 0, { above: true });
    this.refill();
    this.perMinute = perMinute;
    this.fill = Math.min(this.fill, perMinute);
  }

  private refill(): void {
    const at = this.now();
    const elapsed = at - this.refilledAt;
    // A clock that steps back refills nothing rather than draining the bucket.
    if (elapsed <= 0) return;
    this.refilledAt = at;
    if (this.fill >= this.perMinute) return;
    this.fill = Math.min(this.perMinute, this.fill + (elapsed * this.perMinute) / MS_PER_MINUTE);
  }
}
