import { createHash } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID whose time part is `timeMs` and whose random part is a hash of `key`: the same event
 * handled twice (a redelivery after a crash) gets the same delivery and notification ids, so it
 * is recognised and the receiver sees the same `webhook-id`.
 */
export function derivedUlid(timeMs: number, key: string): string {
  let time = '';
  let t = Math.max(0, Math.floor(timeMs));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const hash = createHash('sha256').update(key).digest();
  let rest = '';
  // 16 characters of 5 bits each = 80 bits from the first 10 bytes.
  let bits = 0;
  let value = 0;
  for (let i = 0; i < 10; i++) {
    value = (value << 8) | hash[i]!;
    bits += 8;
    while (bits >= 5) {
      rest += CROCKFORD[(value >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return time + rest;
}
