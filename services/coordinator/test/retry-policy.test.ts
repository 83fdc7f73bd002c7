import { describe, expect, it } from 'vitest';
import { backoffMs, DEFAULT_BACKOFF, decideRetry } from '../src/retry-policy.js';

const middle = () => 0.5;

describe('backoffMs', () => {
  it('waits 1 s, 4 s, 16 s, 64 s … without jitter at the middle of the range', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, DEFAULT_BACKOFF, middle))).toEqual([
      1000, 4000, 16_000, 64_000,
    ]);
  });

  it('caps the wait at five minutes', () => {
    expect(backoffMs(5, DEFAULT_BACKOFF, middle)).toBe(256_000);
    expect(backoffMs(6, DEFAULT_BACKOFF, middle)).toBe(300_000);
    expect(backoffMs(20, DEFAULT_BACKOFF, middle)).toBe(300_000);
  });

  it('spreads the wait by at most ±20 %', () => {
    expect(backoffMs(2, DEFAULT_BACKOFF, () => 0)).toBe(3200);
    expect(backoffMs(2, DEFAULT_BACKOFF, () => 0.999_999)).toBe(4800);
    expect(backoffMs(6, DEFAULT_BACKOFF, () => 0)).toBe(240_000);
  });

  it('follows other schedules given as options', () => {
    const fast = { baseMs: 10, factor: 2, maxMs: 50, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, fast))).toEqual([10, 20, 40, 50, 50]);
  });
});

describe('decideRetry', () => {
  it('retries transient and limit failures until the limit, then gives up', () => {
    expect(decideRetry('transient', 1, 3, DEFAULT_BACKOFF, middle)).toEqual({
      retry: true,
      waitMs: 1000,
      retriesLeft: 2,
    });
    expect(decideRetry('limit', 3, 3, DEFAULT_BACKOFF, middle)).toEqual({
      retry: true,
      waitMs: 16_000,
      retriesLeft: 0,
    });
    expect(decideRetry('transient', 4, 3, DEFAULT_BACKOFF, middle)).toEqual({ retry: false });
  });

  it('never retries a fatal failure, nor anything when the limit is 0', () => {
    expect(decideRetry('fatal', 1, 3)).toEqual({ retry: false });
    expect(decideRetry('transient', 1, 0)).toEqual({ retry: false });
  });
});
