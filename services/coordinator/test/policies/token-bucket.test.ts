import { JoustingError } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/policies/token-bucket.js';

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('TokenBucket', () => {
  it('starts full at its per-minute capacity', () => {
    const c = clock(1_000_000);
    const bucket = new TokenBucket(60, c.now);
    expect(bucket.capacity).toBe(60);
    expect(bucket.available()).toBe(60);
    expect(bucket.tryTake(60)).toBe(true);
    expect(bucket.tryTake(1)).toBe(false);
  });

  it('refills in proportion to elapsed time', () => {
    const c = clock();
    const bucket = new TokenBucket(60, c.now);
    bucket.tryTake(60);
    c.t = 500;
    expect(bucket.available()).toBeCloseTo(0.5, 9);
    expect(bucket.tryTake(1)).toBe(false);
    c.t = 1000;
    expect(bucket.tryTake(1)).toBe(true);
    c.t = 31_000;
    expect(bucket.available()).toBeCloseTo(30, 9);
  });

  it('never refills above its capacity, however long it waits', () => {
    const c = clock();
    const bucket = new TokenBucket(100_000, c.now);
    bucket.tryTake(40_000);
    c.t = 10 * 60_000;
    expect(bucket.available()).toBe(100_000);
    expect(bucket.tryTake(100_000)).toBe(true);
    expect(bucket.available()).toBe(0);
  });

  it('takes nothing when a take is refused', () => {
    const c = clock();
    const bucket = new TokenBucket(10, c.now);
    expect(bucket.tryTake(7)).toBe(true);
    expect(bucket.tryTake(4)).toBe(false);
    expect(bucket.available()).toBe(3);
    expect(bucket.tryTake(0)).toBe(true);
  });

  it('says how long until n tokens are there: 0 now, Infinity beyond capacity', () => {
    const c = clock();
    const bucket = new TokenBucket(60, c.now);
    expect(bucket.msUntil(60)).toBe(0);
    expect(bucket.msUntil(61)).toBe(Number.POSITIVE_INFINITY);
    bucket.tryTake(60);
    expect(bucket.msUntil(1)).toBe(1000);
    expect(bucket.msUntil(3)).toBe(3000);
    c.t = 400;
    expect(bucket.msUntil(1)).toBe(600);
    c.t += bucket.msUntil(1);
    expect(bucket.tryTake(1)).toBe(true);
  });

  it('rounds waits up so that waiting that long is always enough', () => {
    const c = clock();
    const bucket = new TokenBucket(7, c.now);
    bucket.tryTake(7);
    const wait = bucket.msUntil(1);
    expect(wait).toBe(8572);
    c.t = wait - 1;
    expect(bucket.tryTake(1)).toBe(false);
    c.t = wait;
    expect(bucket.tryTake(1)).toBe(true);
  });

  it('goes below zero on consume and pays it back with time', () => {
    const c = clock();
    const bucket = new TokenBucket(60_000, c.now);
    bucket.consume(90_000);
    expect(bucket.available()).toBe(-30_000);
    expect(bucket.msUntil(1)).toBe(30_001);
    c.t = 30_000;
    expect(bucket.available()).toBe(0);
    expect(bucket.tryTake(1)).toBe(false);
  });

  it('keeps its fill when the rate changes, clamped to the new capacity', () => {
    const c = clock();
    const bucket = new TokenBucket(60, c.now);
    bucket.tryTake(20);
    bucket.setRate(30);
    expect(bucket.capacity).toBe(30);
    expect(bucket.available()).toBe(30);
    bucket.tryTake(30);
    bucket.setRate(120);
    expect(bucket.available()).toBe(0);
    c.t = 1000;
    expect(bucket.available()).toBeCloseTo(2, 9);
    c.t = 120_000;
    expect(bucket.available()).toBe(120);
  });

  it('refills at the old rate up to the moment the rate changes', () => {
    const c = clock();
    const bucket = new TokenBucket(60, c.now);
    bucket.tryTake(60);
    c.t = 10_000;
    bucket.setRate(6000);
    expect(bucket.available()).toBeCloseTo(10, 9);
  });

  it('refills nothing when the clock steps back', () => {
    const c = clock(10_000);
    const bucket = new TokenBucket(60, c.now);
    bucket.tryTake(60);
    c.t = 5000;
    expect(bucket.available()).toBe(0);
    c.t = 11_000;
    expect(bucket.available()).toBeCloseTo(1, 9);
  });

  it('rejects rates and amounts it cannot work with, naming the field', () => {
    const c = clock();
    expect(() => new TokenBucket(0, c.now)).toThrow(/perMinute/);
    expect(() => new TokenBucket(Number.NaN, c.now)).toThrow(JoustingError);
    const bucket = new TokenBucket(10, c.now);
    expect(() => bucket.tryTake(-1)).toThrow(/n: must be/);
    expect(() => bucket.setRate(-5)).toThrow(/perMinute/);
    expect(bucket.capacity).toBe(10);
  });
});
