import type { ErrorClass } from '@jousting/contracts';

/** How long a failed task waits before its next attempt. */
export interface BackoffOptions {
  /** Wait before the first retry (default 1 s). */
  baseMs: number;
  /** Each further retry waits this many times longer (default 4: 1 s, 4 s, 16 s …). */
  factor: number;
  /** No wait is longer than this, before jitter (default 5 min). */
  maxMs: number;
  /** ± this fraction of the wait, so tasks failed together do not come back together (default 0.2). */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  baseMs: 1000,
  factor: 4,
  maxMs: 5 * 60_000,
  jitter: 0.2,
});

/** The wait before retry number `retry` (1 = the first retry); `random` returns [0, 1). */
export function backoffMs(
  retry: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const plain = Math.min(opts.maxMs, opts.baseMs * opts.factor ** Math.max(0, retry - 1));
  const spread = 1 + opts.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(plain * spread));
}

export type FailureDecision = { retry: false } | { retry: true; waitMs: number; retriesLeft: number };

/**
 * Retry or give up: fatal never retries; transient and limit retry after a backoff until
 * `failures` (failed attempts so far, this one included) exceeds `maxRetries`.
 */
export function decideRetry(
  errorClass: ErrorClass,
  failures: number,
  maxRetries: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): FailureDecision {
  if (errorClass === 'fatal' || failures > maxRetries) return { retry: false };
  return { retry: true, waitMs: backoffMs(failures, opts, random), retriesLeft: maxRetries - failures };
}
