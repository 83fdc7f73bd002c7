import type { KV } from '@jousting/bus';

type Op = { kind: 'put'; value: string } | { kind: 'delete' };
interface Pending {
  op: Op;
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/**
 * Group commit for one KV bucket: writes made within `windowMs` go out together, pipelined (one
 * round trip of waiting instead of one per key), one batch in flight at a time so writes to a key
 * land in the order they were made. A later write to a key still waiting replaces the earlier one
 * (both callers are answered when the surviving write is stored), which is how a delivery that
 * succeeds within the window costs one write instead of two.
 */
export class KvBatcher {
  private queued = new Map<string, Pending>();
  /** Keys a put was sent for (and no delete since): only these need a delete to go away. */
  private readonly mayExist = new Set<string>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kv: KV,
    private readonly windowMs = 5,
    private readonly maxBatch = 2000,
  ) {}

  put(key: string, value: unknown): Promise<void> {
    return this.enqueue(key, { kind: 'put', value: JSON.stringify(value) });
  }

  delete(key: string): Promise<void> {
    if (!this.mayExist.has(key)) {
      // Never stored: dropping the waiting put (if any) is the whole delete.
      const waiting = this.queued.get(key);
      this.queued.delete(key);
      for (const w of waiting?.waiters ?? []) w.resolve();
      return Promise.resolve();
    }
    return this.enqueue(key, { kind: 'delete' });
  }

  /** Marks keys found in the bucket at start as stored. */
  known(keys: Iterable<string>): void {
    for (const key of keys) this.mayExist.add(key);
  }

  /**
   * Moves a record from `from` to `to`. When `from` is still waiting to be written it is never
   * written at all; its callers are answered once `to` is stored.
   */
  move(from: string, to: string, value: unknown): Promise<void> {
    const waiting = this.queued.get(from);
    if (waiting?.op.kind === 'put' && !this.mayExist.has(from)) {
      this.queued.delete(from);
      const moved = this.put(to, value);
      const target = this.queued.get(to)!;
      target.waiters.push(...waiting.waiters);
      return moved;
    }
    return Promise.all([this.delete(from), this.put(to, value)]).then(() => undefined);
  }

  /** Resolves once everything queued so far is stored. */
  async flush(): Promise<void> {
    while (this.queued.size > 0 || this.flushing) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else this.startFlush();
    }
  }

  private enqueue(key: string, op: Op): Promise<void> {
    return new Promise((resolve, reject) => {
      const existing = this.queued.get(key);
      if (existing) {
        existing.op = op;
        existing.waiters.push({ resolve, reject });
      } else {
        this.queued.set(key, { op, waiters: [{ resolve, reject }] });
      }
      if (this.queued.size >= this.maxBatch && !this.flushing) this.startFlush();
      else this.timer ??= setTimeout(() => this.startFlush(), this.windowMs);
    });
  }

  private startFlush() {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.queued.size === 0) return;
    const batch = this.queued;
    this.queued = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
      if (this.queued.size > 0) this.timer ??= setTimeout(() => this.startFlush(), 0);
    });
  }

  private async write(batch: Map<string, Pending>): Promise<void> {
    const entries = [...batch.entries()];
    for (const [key, { op }] of entries) {
      if (op.kind === 'put') this.mayExist.add(key);
      else this.mayExist.delete(key);
    }
    const results = await Promise.allSettled(
      entries.map(([key, { op }]) => (op.kind === 'put' ? this.kv.put(key, op.value) : this.kv.delete(key))),
    );
    results.forEach((result, i) => {
      const { waiters } = entries[i]![1];
      for (const w of waiters) {
        if (result.status === 'fulfilled') w.resolve();
        else w.reject(result.reason);
      }
    });
  }
}
