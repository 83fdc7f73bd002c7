/**
 * When a failed delivery is tried again. Entry i is the wait before attempt i + 1 (so the first
 * entry, normally 0, is the first attempt); after the last entry the delivery has failed.
 */
export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,10h';
/** Waits are spread by ±20 % so endpoints that failed together are not all retried together. */
export const DEFAULT_JITTER = 0.2;
/** A Retry-After longer than this is capped: the schedule still has to end. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `0,5s,5m,2h` (a bare number is milliseconds); throws naming the bad entry. */
export function parseRetrySchedule(text: string): number[] {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) throw new Error('needs at least one entry');
  return entries.map((entry) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not a duration like 0, 500ms, 5s, 5m or 2h`);
    return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
  });
}

export class RetrySchedule {
  constructor(
    readonly delaysMs: readonly number[],
    private readonly jitter = DEFAULT_JITTER,
    private readonly random: () => number = Math.random,
  ) {
    if (delaysMs.length === 0) throw new Error('a retry schedule needs at least one entry');
  }

  /** How many attempts a delivery gets in all. */
  get attempts(): number {
    return this.delaysMs.length;
  }

  /**
   * The wait before the next attempt after `attemptsMade` attempts of this schedule run, or
   * undefined when the schedule is exhausted. A Retry-After from the endpoint replaces the wait.
   */
  nextDelayMs(attemptsMade: number, retryAfterMs?: number): number | undefined {
    if (attemptsMade >= this.delaysMs.length) return undefined;
    if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS);
    const base = this.delaysMs[attemptsMade]!;
    if (base === 0 || this.jitter === 0) return base;
    return Math.round(base * (1 + this.jitter * (2 * this.random() - 1)));
  }
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
