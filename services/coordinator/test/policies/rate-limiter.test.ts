import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter, type RateLimits } from '../../src/policies/rate-limiter.js';

const LIMITS: RateLimits = { requestsPerMinute: 60, tokensPerMinute: 100_000 };

function setup(limits: RateLimits = LIMITS) {
  const c = { t: 0 };
  const limiter = new AdaptiveRateLimiter(limits, () => c.t);
  return { c, limiter };
}

/** Three limit errors a second apart: the third halves. */
function burst(c: { t: number }, limiter: AdaptiveRateLimiter) {
  limiter.recordLimitError();
  c.t += 1000;
  limiter.recordLimitError();
  c.t += 1000;
  return limiter.recordLimitError();
}

describe('AdaptiveRateLimiter buckets', () => {
  it('dispatches while both buckets allow and stops when requests run out', () => {
    const { c, limiter } = setup({ requestsPerMinute: 3, tokensPerMinute: 100_000 });
    for (let i = 0; i < 3; i++) {
      expect(limiter.canDispatch()).toBe(true);
      limiter.takeDispatch();
    }
    expect(limiter.canDispatch()).toBe(false);
    c.t = 20_000;
    expect(limiter.canDispatch()).toBe(true);
  });

  it('stops dispatching while reported tokens leave the token bucket at or below zero', () => {
    const { c, limiter } = setup();
    limiter.recordTokens(100_000);
    expect(limiter.state().requestsAvailable).toBe(60);
    expect(limiter.canDispatch()).toBe(false);
    c.t = 1;
    expect(limiter.canDispatch()).toBe(true);
  });

  it('grants a provider call by taking one request', () => {
    const { limiter } = setup({ requestsPerMinute: 2, tokensPerMinute: 1000 });
    expect(limiter.grant()).toEqual({ granted: true });
    expect(limiter.grant()).toEqual({ granted: true });
    expect(limiter.state().requestsAvailable).toBe(0);
    expect(limiter.grant()).toEqual({ granted: false, waitMs: 30_000 });
  });

  it('makes a refused worker wait for the slower of the two buckets', () => {
    const { c, limiter } = setup({ requestsPerMinute: 60, tokensPerMinute: 60_000 });
    limiter.recordTokens(120_000);
    // Tokens at -60,000 refill 1,000/s: 60 s to zero, 1 ms more to be above it.
    expect(limiter.grant()).toEqual({ granted: false, waitMs: 60_001 });
    c.t = 60_001;
    expect(limiter.grant()).toEqual({ granted: true });
    for (let i = 0; i < 59; i++) limiter.grant();
    expect(limiter.grant()).toEqual({ granted: false, waitMs: 1000 });
  });

  it('waits at least 1 ms when the token bucket is exactly empty', () => {
    const { c, limiter } = setup({ requestsPerMinute: 60, tokensPerMinute: 60_000 });
    limiter.recordTokens(60_000);
    expect(limiter.grant()).toEqual({ granted: false, waitMs: 1 });
    c.t = 1;
    expect(limiter.grant()).toEqual({ granted: true });
  });

  it('refuses negative or non-numeric token reports', () => {
    const { limiter } = setup();
    expect(() => limiter.recordTokens(-1)).toThrow(/tokens/);
    expect(() => limiter.recordTokens(Number.NaN)).toThrow(/tokens/);
    expect(limiter.state().tokensAvailable).toBe(100_000);
  });
});

describe('AdaptiveRateLimiter adaptation', () => {
  it('halves the effective limits on the third limit error within 60 s', () => {
    const { c, limiter } = setup();
    expect(limiter.recordLimitError()).toBeUndefined();
    c.t = 30_000;
    expect(limiter.recordLimitError()).toBeUndefined();
    expect(limiter.state().limitErrorsInWindow).toBe(2);
    c.t = 59_999;
    expect(limiter.recordLimitError()).toEqual({
      from: LIMITS,
      to: { requestsPerMinute: 30, tokensPerMinute: 50_000 },
      level: 1,
      reason: 'limit-errors',
      at: 59_999,
    });
    const state = limiter.state();
    expect(state.level).toBe(1);
    expect(state.effective).toEqual({ requestsPerMinute: 30, tokensPerMinute: 50_000 });
    expect(state.configured).toEqual(LIMITS);
    expect(state.requestsAvailable).toBe(30);
    expect(state.limitErrorsInWindow).toBe(0);
    expect(state.lastAdjustedAt).toBe(59_999);
  });

  it('does not halve on two errors', () => {
    const { c, limiter } = setup();
    limiter.recordLimitError();
    c.t = 1000;
    expect(limiter.recordLimitError()).toBeUndefined();
    expect(limiter.state().level).toBe(0);
    expect(limiter.state().effective).toEqual(LIMITS);
  });

  it('does not count errors 60 s old or older', () => {
    const { c, limiter } = setup();
    limiter.recordLimitError();
    c.t = 10_000;
    limiter.recordLimitError();
    c.t = 60_000;
    expect(limiter.recordLimitError()).toBeUndefined();
    expect(limiter.state().limitErrorsInWindow).toBe(2);
    c.t = 69_999;
    expect(limiter.recordLimitError()?.level).toBe(1);
  });

  it('starts a new window after a halving', () => {
    const { c, limiter } = setup();
    burst(c, limiter);
    c.t += 1000;
    expect(limiter.recordLimitError()).toBeUndefined();
    c.t += 1000;
    expect(limiter.recordLimitError()).toBeUndefined();
    c.t += 1000;
    expect(limiter.recordLimitError()?.to).toEqual({ requestsPerMinute: 15, tokensPerMinute: 25_000 });
  });

  it('halves at most four levels', () => {
    const { c, limiter } = setup();
    const levels = [1, 2, 3, 4].map(() => {
      const adjustment = burst(c, limiter);
      c.t += 1000;
      return [adjustment?.level, adjustment?.to];
    });
    expect(levels).toEqual([
      [1, { requestsPerMinute: 30, tokensPerMinute: 50_000 }],
      [2, { requestsPerMinute: 15, tokensPerMinute: 25_000 }],
      [3, { requestsPerMinute: 7, tokensPerMinute: 12_500 }],
      [4, { requestsPerMinute: 3, tokensPerMinute: 6250 }],
    ]);
    expect(burst(c, limiter)).toBeUndefined();
    expect(limiter.state().level).toBe(4);
    expect(limiter.state().effective).toEqual({ requestsPerMinute: 3, tokensPerMinute: 6250 });
    expect(limiter.state().limitErrorsInWindow).toBe(0);
  });

  it('never goes below 1 request and 1,000 tokens per minute', () => {
    const { c, limiter } = setup({ requestsPerMinute: 4, tokensPerMinute: 3000 });
    for (let i = 0; i < 4; i++) {
      burst(c, limiter);
      c.t += 1000;
    }
    expect(limiter.state().level).toBe(4);
    expect(limiter.state().effective).toEqual({ requestsPerMinute: 1, tokensPerMinute: 1000 });
    expect(limiter.grant()).toEqual({ granted: true });
    expect(limiter.grant()).toEqual({ granted: false, waitMs: 60_000 });
  });

  it('clamps the buckets to the halved capacity at once', () => {
    const { c, limiter } = setup();
    burst(c, limiter);
    const state = limiter.state();
    expect(state.requestsAvailable).toBe(30);
    expect(state.tokensAvailable).toBe(50_000);
  });

  it('recovers ×1.5 every 30 s without limit errors, up to the configured limits', () => {
    const { c, limiter } = setup();
    burst(c, limiter);
    c.t += 1000;
    burst(c, limiter); // level 2: 15 / 25,000
    const reducedAt = c.t;
    c.t = reducedAt + 29_999;
    expect(limiter.tick()).toBeUndefined();
    c.t = reducedAt + 30_000;
    expect(limiter.tick()).toEqual({
      from: { requestsPerMinute: 15, tokensPerMinute: 25_000 },
      to: { requestsPerMinute: 22, tokensPerMinute: 37_500 },
      level: 2,
      reason: 'recovered',
      at: reducedAt + 30_000,
    });
    expect(limiter.tick()).toBeUndefined();
    const steps: Array<[number | undefined, RateLimits | undefined]> = [];
    for (let i = 2; i <= 5; i++) {
      c.t = reducedAt + 30_000 * i;
      const step = limiter.tick();
      steps.push([step?.level, step?.to]);
    }
    expect(steps).toEqual([
      [1, { requestsPerMinute: 33, tokensPerMinute: 56_250 }],
      [1, { requestsPerMinute: 50, tokensPerMinute: 84_375 }],
      [0, LIMITS],
      [undefined, undefined],
    ]);
    expect(limiter.state().level).toBe(0);
  });

  it('waits 30 s after the latest limit error before recovering', () => {
    const { c, limiter } = setup();
    burst(c, limiter);
    c.t += 20_000;
    limiter.recordLimitError();
    const lastErrorAt = c.t;
    c.t = lastErrorAt + 29_999;
    expect(limiter.tick()).toBeUndefined();
    c.t = lastErrorAt + 30_000;
    expect(limiter.tick()?.reason).toBe('recovered');
  });

  it('does nothing on tick at the configured limits', () => {
    const { c, limiter } = setup();
    c.t = 10 * 60_000;
    expect(limiter.tick()).toBeUndefined();
    expect(limiter.state().lastAdjustedAt).toBeUndefined();
  });

  it('applies new configured limits live, keeping the current reduction', () => {
    const { c, limiter } = setup();
    burst(c, limiter);
    limiter.configure({ requestsPerMinute: 200, tokensPerMinute: 400_000 });
    let state = limiter.state();
    expect(state.configured).toEqual({ requestsPerMinute: 200, tokensPerMinute: 400_000 });
    expect(state.effective).toEqual({ requestsPerMinute: 100, tokensPerMinute: 200_000 });
    expect(state.level).toBe(1);
    // Raising the capacity does not hand out tokens that were never refilled.
    expect(state.requestsAvailable).toBe(30);
    c.t += 30_000;
    expect(limiter.tick()?.to).toEqual({ requestsPerMinute: 150, tokensPerMinute: 300_000 });
    c.t += 30_000;
    expect(limiter.tick()?.to).toEqual({ requestsPerMinute: 200, tokensPerMinute: 400_000 });
    limiter.configure({ requestsPerMinute: 10, tokensPerMinute: 5000 });
    state = limiter.state();
    expect(state.effective).toEqual({ requestsPerMinute: 10, tokensPerMinute: 5000 });
    expect(state.requestsAvailable).toBe(10);
    expect(state.tokensAvailable).toBe(5000);
  });

  it('rejects bad limits naming the field, keeping the previous ones', () => {
    const { limiter } = setup();
    expect(() => limiter.configure({ requestsPerMinute: 0, tokensPerMinute: 1000 })).toThrow(
      /requestsPerMinute/,
    );
    expect(() => limiter.configure({ requestsPerMinute: 5, tokensPerMinute: Number.NaN })).toThrow(
      /tokensPerMinute/,
    );
    expect(limiter.state().configured).toEqual(LIMITS);
  });
});
