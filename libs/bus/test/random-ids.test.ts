import { describe, expect, it } from 'vitest';
import { newId, newTraceId } from '../src/ids.js';

describe('ids drawn from the random pool', () => {
  it('trace ids are 32 hex characters, all different across several refills of the pool', () => {
    const ids = Array.from({ length: 1000 }, () => newTraceId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('ids of different milliseconds get fresh random parts, also when the pool refills between them', () => {
    const at = 1_795_000_100_000;
    const randomParts = new Set<string>();
    for (let ms = 0; ms < 1000; ms++) {
      if (ms % 100 === 0) newTraceId(); // shifts where the 10 bytes fall in the pool
      randomParts.add(newId(at + ms).slice(10));
    }
    expect(randomParts.size).toBe(1000);
  });
});
