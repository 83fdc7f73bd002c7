import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  parseRetrySchedule,
  RetrySchedule,
} from '../src/retry-schedule.js';

describe('retry schedule', () => {
  it('parses the documented default: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([
      0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(parseRetrySchedule('0, 250ms, 1.5s,100')).toEqual([0, 250, 1500, 100]);
  });

  it('refuses an entry it cannot read, naming it', () => {
    expect(() => parseRetrySchedule('0,5 minutes')).toThrow('"5 minutes"');
    expect(() => parseRetrySchedule('')).toThrow(/at least one/);
  });

  it('spreads each wait by at most ±20 % and ends after the last entry', () => {
    const low = new RetrySchedule([0, 1000, 2000], 0.2, () => 0);
    const high = new RetrySchedule([0, 1000, 2000], 0.2, () => 0.999999);
    expect(low.attempts).toBe(3);
    expect(low.nextDelayMs(1)).toBe(800);
    expect(high.nextDelayMs(1)).toBe(1200);
    expect(low.nextDelayMs(2)).toBe(1600);
    expect(low.nextDelayMs(3)).toBeUndefined();
    const random = new RetrySchedule([0, 10_000]);
    for (let i = 0; i < 200; i++) {
      const d = random.nextDelayMs(1)!;
      expect(d).toBeGreaterThanOrEqual(8000);
      expect(d).toBeLessThanOrEqual(12_000);
    }
  });

  it('uses Retry-After instead of the scheduled wait, capped, but never beyond the last attempt', () => {
    const schedule = new RetrySchedule([0, 1000, 2000], 0);
    expect(schedule.nextDelayMs(1, 30_000)).toBe(30_000);
    expect(schedule.nextDelayMs(1, 10 * MAX_RETRY_AFTER_MS)).toBe(MAX_RETRY_AFTER_MS);
    expect(schedule.nextDelayMs(3, 1000)).toBeUndefined();
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
