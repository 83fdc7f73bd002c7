import { requireNumber } from './check.js';
import { TokenBucket } from './token-bucket.js';

/** Provider call limits, per minute across all workers. */
export interface RateLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/** A change of the effective limits, for `coord.rate-adjusted`. */
export interface RateAdjustment {
  from: RateLimits;
  to: RateLimits;
  /** Halvings still in force: 0 at the configured limits, at most `maxLevel`. */
  level: number;
  reason: 'limit-errors' | 'recovered';
  at: number;
}

export interface RateLimiterState {
  configured: RateLimits;
  effective: RateLimits;
  level: number;
  /** Whole requests / tokens in the buckets now (tokens may be negative after heavy reported usage). */
  requestsAvailable: number;
  tokensAvailable: number;
  limitErrorsInWindow: number;
  lastAdjustedAt?: number;
}

export type Grant = { granted: true } | { granted: false; waitMs: number };

export interface AdaptiveRateOptions {
  /** `limit` errors within `errorWindowMs` that halve the limits (default 3). */
  errorThreshold: number;
  errorWindowMs: number;
  /** Quiet time (no limit error, no adjustment) before each recovery step (default 30 s). */
  recoverAfterMs: number;
  recoveryFactor: number;
  /** Most halvings in force at once (default 4: never below 1/16 of the configured limits). */
  maxLevel: number;
  minRequestsPerMinute: number;
  minTokensPerMinute: number;
}

export const DEFAULT_ADAPTIVE_RATE: Readonly<AdaptiveRateOptions> = Object.freeze({
  errorThreshold: 3,
  errorWindowMs: 60_000,
  recoverAfterMs: 30_000,
  recoveryFactor: 1.5,
  maxLevel: 4,
  minRequestsPerMinute: 1,
  minTokensPerMinute: 1000,
});

/**
 * Two token buckets (requests and model tokens per minute) whose rates back off when the
 * provider answers with rate-limit errors and creep back when it stops.
 *
 * The reduction is kept as one scale factor applied to the configured limits: each halving
 * divides it by 2, each recovery step multiplies it by 1.5 (capped at 1). Products of 1/2 and 3/2
 * are exact in binary floating point, so the scale never drifts. `level` is the number of halvings
 * the scale amounts to, rounded up (0 = configured limits, 1 = above 1/2 …); no halving takes it
 * beyond `maxLevel`. Reconfiguring keeps the scale, so a reduced limiter stays reduced by the same
 * factor against the new limits. Effective limits are whole numbers, rounded down, never below
 * the floors (1 request, 1,000 tokens) unless the configured limit itself is lower.
 */
export class AdaptiveRateLimiter {
  private configured: RateLimits;
  private effective: RateLimits;
  private scale = 1;
  private readonly requests: TokenBucket;
  private readonly tokens: TokenBucket;
  private readonly opts: AdaptiveRateOptions;
  private errorTimes: number[] = [];
  private lastErrorAt: number | undefined;
  private lastAdjustedAt: number | undefined;

  constructor(
    limits: RateLimits,
    private readonly now: () => number = Date.now,
    options: Partial<AdaptiveRateOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ADAPTIVE_RATE, ...options };
    checkLimits(limits);
    this.configured = { ...limits };
    this.effective = this.scaled(1);
    this.requests = new TokenBucket(this.effective.requestsPerMinute, now);
    this.tokens = new TokenBucket(this.effective.tokensPerMinute, now);
  }

  /** Applies new configured limits at once, keeping the current reduction and the buckets' fill (clamped). */
  configure(limits: RateLimits): void {
    checkLimits(limits);
    this.configured = { ...limits };
    this.apply(this.scale);
  }

  /** Whether a task may be dispatched now: a request is available and the token bucket is above zero. */
  canDispatch(): boolean {
    return this.requests.available() >= 1 && this.tokens.available() > 0;
  }

  /** Takes the request for a dispatch; call it only after `canDispatch` said yes. */
  takeDispatch(): void {
    this.requests.consume(1);
  }

  /**
   * A worker's request to make one provider call: granted (and a request taken) when both buckets
   * allow it, otherwise how long to wait, the longer of the two waits and at least 1 ms.
   */
  grant(): Grant {
    if (this.canDispatch()) {
      this.requests.consume(1);
      return { granted: true };
    }
    const requestWait = this.requests.msUntil(1);
    // The token bucket must be strictly above zero; 1 ms past reaching zero it is.
    const tokenWait = this.tokens.available() > 0 ? 0 : this.tokens.msUntil(0) + 1;
    return { granted: false, waitMs: Math.max(1, requestWait, tokenWait) };
  }

  /** Tokens a worker reports having used; taken even if that leaves the bucket negative. */
  recordTokens(n: number): void {
    requireNumber('tokens', n, 0);
    this.tokens.consume(n);
  }

  /**
   * Notes a `limit` error (e.g. an upstream 429). The `errorThreshold`-th within the window halves
   * the effective limits and starts a new window; at `maxLevel` the window restarts without a change.
   */
  recordLimitError(): RateAdjustment | undefined {
    const at = this.now();
    this.lastErrorAt = at;
    this.pruneErrors(at);
    this.errorTimes.push(at);
    if (this.errorTimes.length < this.opts.errorThreshold) return undefined;
    this.errorTimes = [];
    if (this.level() >= this.opts.maxLevel) return undefined;
    return this.adjust(this.scale / 2, 'limit-errors', at);
  }

  /**
   * Call periodically: once `recoverAfterMs` has passed since the last limit error and the last
   * adjustment, the effective limits grow ×1.5 (up to the configured ones). One step per call.
   */
  tick(): RateAdjustment | undefined {
    if (this.scale >= 1) return undefined;
    const at = this.now();
    const quietSince = Math.max(
      this.lastErrorAt ?? Number.NEGATIVE_INFINITY,
      this.lastAdjustedAt ?? Number.NEGATIVE_INFINITY,
    );
    if (at - quietSince < this.opts.recoverAfterMs) return undefined;
    return this.adjust(Math.min(1, this.scale * this.opts.recoveryFactor), 'recovered', at);
  }

  state(): RateLimiterState {
    const at = this.now();
    this.pruneErrors(at);
    const state: RateLimiterState = {
      configured: { ...this.configured },
      effective: { ...this.effective },
      level: this.level(),
      requestsAvailable: Math.floor(this.requests.available()),
      tokensAvailable: Math.floor(this.tokens.available()),
      limitErrorsInWindow: this.errorTimes.length,
    };
    if (this.lastAdjustedAt !== undefined) state.lastAdjustedAt = this.lastAdjustedAt;
    return state;
  }

  private level(): number {
    // scale is 3^a / 2^b, so log2 of an exact power of two is exact and ceil does not overshoot.
    return Math.max(0, Math.ceil(-Math.log2(this.scale)));
  }

  private adjust(scale: number, reason: RateAdjustment['reason'], at: number): RateAdjustment {
    const from = { ...this.effective };
    this.apply(scale);
    this.lastAdjustedAt = at;
    return { from, to: { ...this.effective }, level: this.level(), reason, at };
  }

  private apply(scale: number): void {
    this.scale = scale;
    this.effective = this.scaled(scale);
    this.requests.setRate(this.effective.requestsPerMinute);
    this.tokens.setRate(this.effective.tokensPerMinute);
  }

  private scaled(scale: number): RateLimits {
    const { requestsPerMinute, tokensPerMinute } = this.configured;
    return {
      requestsPerMinute: floored(requestsPerMinute, scale, this.opts.minRequestsPerMinute),
      tokensPerMinute: floored(tokensPerMinute, scale, this.opts.minTokensPerMinute),
    };
  }

  private pruneErrors(at: number): void {
    const since = at - this.opts.errorWindowMs;
    this.errorTimes = this.errorTimes.filter((t) => t > since);
  }
}

function floored(configured: number, scale: number, min: number): number {
  if (scale >= 1) return configured;
  return Math.max(Math.min(min, configured), Math.floor(configured * scale));
}

function checkLimits(limits: RateLimits): void {
  requireNumber('requestsPerMinute', limits.requestsPerMinute, 0, { above: true });
  requireNumber('tokensPerMinute', limits.tokensPerMinute, 0, { above: true });
}
