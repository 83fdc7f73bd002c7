/** How long an idempotency key is remembered (keys older than this are dropped at snapshots). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyEntry {
  ids: string[];
  at: number;
}

/** Idempotency keys of creates and the task ids they created. */
export class IdempotencyMap {
  private readonly entries = new Map<string, IdempotencyEntry>();

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string): IdempotencyEntry | undefined {
    return this.entries.get(key);
  }

  remember(key: string, ids: string[], at: number): void {
    if (!this.entries.has(key)) this.entries.set(key, { ids, at });
  }

  /** Entries younger than the TTL, oldest first (for snapshots). */
  live(now: number): Array<[string, IdempotencyEntry]> {
    const out: Array<[string, IdempotencyEntry]> = [];
    for (const [key, entry] of this.entries) {
      if (now - entry.at < IDEMPOTENCY_TTL_MS) out.push([key, entry]);
      else this.entries.delete(key);
    }
    return out;
  }
}
