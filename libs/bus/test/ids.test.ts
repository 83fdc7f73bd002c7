import { describe, expect, it } from 'vitest';
import { newId } from '../src/ids.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const decode = (text: string) => [...text].reduce((v, c) => v * 32n + BigInt(CROCKFORD.indexOf(c)), 0n);

describe('newId', () => {
  it('is a ULID: 48-bit time then 80 random bits, Crockford base32', () => {
    const at = 1_795_000_000_123;
    const id = newId(at);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decode(id.slice(0, 10))).toBe(BigInt(at));
    expect(decode(id.slice(10))).toBeLessThan(2n ** 80n);
  });

  it('increments the random part within a millisecond and keeps ids sorted', () => {
    const at = 1_795_000_001_000;
    let previous = newId(at);
    for (let i = 0; i < 5000; i++) {
      const id = newId(at + Math.floor(i / 1000));
      expect(id > previous).toBe(true);
      if (id.slice(0, 10) === previous.slice(0, 10))
        expect(decode(id.slice(10))).toBe(decode(previous.slice(10)) + 1n);
      previous = id;
    }
    // A clock going back does not break the order.
    expect(newId(at - 10) > previous).toBe(true);
  });
});
