import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = 0;
let lastTimeText = '';
/** The 80 random bits as two 40-bit halves (exact in a double). */
let randHigh = 0;
let randLow = 0;
const TWO_40 = 2 ** 40;

/**
 * Random bytes drawn 4 KB at a time: a randomFillSync() per id is a system call (~5 µs here),
 * and ids and trace ids are made for every request and every millisecond of creates.
 */
const randomPool = Buffer.alloc(4096);
let randomAt = randomPool.length;

/** The offset in randomPool of `n` fresh random bytes (a short tail is skipped at a refill). */
function takeRandom(n: number): number {
  if (randomAt + n > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  randomAt += n;
  return randomAt - n;
}

/** Four base-32 characters of a 20-bit integer. */
function chars4(v: number): string {
  return (
    CROCKFORD[(v >>> 15) & 31]! +
    CROCKFORD[(v >>> 10) & 31]! +
    CROCKFORD[(v >>> 5) & 31]! +
    CROCKFORD[v & 31]!
  );
}

/** Eight base-32 characters of a 40-bit integer. */
function chars8(v: number): string {
  const high = Math.floor(v / 2 ** 20);
  return chars4(high) + chars4(v - high * 2 ** 20);
}

/** Ten base-32 characters of a 48-bit millisecond time (50 bits of room). */
function timeChars(t: number): string {
  const high = Math.floor(t / 2 ** 40);
  return CROCKFORD[(high >>> 5) & 31]! + CROCKFORD[high & 31]! + chars8(t - high * 2 ** 40);
}

/**
 * A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, so ids sort by creation.
 * Within one millisecond the random part is incremented, keeping ids monotonic in a process.
 * (Plain double arithmetic on two 40-bit halves: no BigInt, no per-id allocation.)
 */
export function newId(now = Date.now()): string {
  if (now <= lastTime) {
    // Increment the 80-bit number; like any ULID generator, wrap around on overflow.
    randLow += 1;
    if (randLow === TWO_40) {
      randLow = 0;
      randHigh = randHigh + 1 === TWO_40 ? 0 : randHigh + 1;
    }
  } else {
    lastTime = now;
    lastTimeText = timeChars(now);
    const r = takeRandom(10);
    const b = randomPool;
    randHigh =
      b[r]! * 2 ** 32 + (((b[r + 1]! << 24) | (b[r + 2]! << 16) | (b[r + 3]! << 8) | b[r + 4]!) >>> 0);
    randLow =
      b[r + 5]! * 2 ** 32 + (((b[r + 6]! << 24) | (b[r + 7]! << 16) | (b[r + 8]! << 8) | b[r + 9]!) >>> 0);
  }
  return lastTimeText + chars8(randHigh) + chars8(randLow);
}

/** A W3C-style trace id: 32 hex characters. */
export function newTraceId(): string {
  const at = takeRandom(16);
  return randomPool.toString('hex', at, at + 16);
}
