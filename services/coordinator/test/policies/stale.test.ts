import { describe, expect, it } from 'vitest';
import { findStale } from '../../src/policies/stale.js';

const running = [
  { id: 'quiet', lastActivityAt: 0 },
  { id: 'edge', lastActivityAt: 40_000 },
  { id: 'busy', lastActivityAt: 99_000 },
];

describe('findStale', () => {
  it('finds running tasks silent for the stale time or longer, in input order', () => {
    expect(findStale(running, 60_000, 100_000)).toEqual(['quiet', 'edge']);
    expect(findStale(running, 60_001, 100_000)).toEqual(['quiet']);
  });

  it('is off when the stale time is 0', () => {
    expect(findStale(running, 0, 10_000_000)).toEqual([]);
  });

  it('reads any iterable, such as a map of running tasks', () => {
    const byId = new Map(running.map((t) => [t.id, t]));
    expect(findStale(byId.values(), 1001, 100_000)).toEqual(['quiet', 'edge']);
    expect(findStale([], 1000, 100_000)).toEqual([]);
  });
});
