import { decodeJson, type KV, type Logger } from '@jousting/bus';
import {
  Delivery,
  type DeliveryStatus,
  MAX_ATTEMPTS_LISTED,
  MAX_DELIVERIES_PER_WEBHOOK,
} from '@jousting/contracts';
import { z } from 'zod';
import { KvBatcher } from './kv-batcher.js';

export const DELIVERIES_BUCKET = 'notifier-deliveries';

/** A delivery as stored: the listing plus what a retry needs. */
export const StoredDelivery = Delivery.extend({
  eventSeq: z.number().int().min(1).describe('EVENTS stream sequence: a retry reads the event again'),
  step: z.number().int().min(0).describe('Attempts made in the current schedule run'),
  logSeq: z.number().int().min(0).optional().describe('Place in the webhook log ring once finished'),
});
export type StoredDelivery = z.infer<typeof StoredDelivery>;

/**
 * Keys: a pending delivery lives at `<webhookId>.p.<deliveryId>`; a finished one moves into its
 * webhook's ring of slots `<webhookId>.s.<n>` (n = finish order modulo the log size), so the log
 * bounds itself: the 101st finished delivery overwrites the 1st, with no deletes.
 */
export const pendingKey = (d: { webhookId: string; id: string }) => `${d.webhookId}.p.${d.id}`;
export const slotKey = (webhookId: string, logSeq: number) =>
  `${webhookId}.s.${logSeq % MAX_DELIVERIES_PER_WEBHOOK}`;

class WebhookLog {
  readonly byId = new Map<string, StoredDelivery>();
  /** Finished deliveries in finish order (their logSeq ascending). */
  finished: StoredDelivery[] = [];
  nextLogSeq = 0;
}

/** Every webhook's deliveries: pending ones and the last finished ones, in memory and in KV. */
export class DeliveryStore {
  private readonly logs = new Map<string, WebhookLog>();
  private readonly writes: KvBatcher;
  /** Deliveries whose last write failed. */
  private readonly failedWrites = new Set<string>();

  private constructor(private readonly kv: KV) {
    this.writes = new KvBatcher(kv, 5);
  }

  static async open(kv: KV, logger: Logger): Promise<DeliveryStore> {
    const store = new DeliveryStore(kv);
    const found: StoredDelivery[] = [];
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    // Pipelined reads, a chunk at a time: one round trip of waiting per chunk.
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const entries = await Promise.all(chunk.map((k) => kv.get(k)));
      entries.forEach((entry, j) => {
        const parsed = StoredDelivery.safeParse(decodeJson(entry));
        if (parsed.success) found.push(parsed.data);
        else if (entry?.operation === 'PUT')
          logger.warn({ key: chunk[j] }, 'ignored an unreadable delivery record');
      });
    }
    store.writes.known(keys);
    store.load(found);
    return store;
  }

  /** Rebuilds the index: a pending record beats a finished one of the same delivery (redelivered). */
  private load(records: StoredDelivery[]) {
    const best = new Map<string, StoredDelivery>();
    for (const r of records) {
      const seen = best.get(r.id);
      const rank = (d: StoredDelivery) =>
        d.status === 'pending' ? Number.MAX_SAFE_INTEGER : (d.logSeq ?? -1);
      if (!seen || rank(r) > rank(seen)) best.set(r.id, r);
    }
    for (const d of best.values()) {
      const log = this.log(d.webhookId);
      log.byId.set(d.id, d);
      if (d.status !== 'pending' && d.logSeq !== undefined) {
        log.finished.push(d);
        log.nextLogSeq = Math.max(log.nextLogSeq, d.logSeq + 1);
      }
    }
    for (const log of this.logs.values()) log.finished.sort((a, b) => (a.logSeq ?? 0) - (b.logSeq ?? 0));
  }

  get(webhookId: string, id: string): StoredDelivery | undefined {
    return this.logs.get(webhookId)?.byId.get(id);
  }

  pending(): StoredDelivery[] {
    const out: StoredDelivery[] = [];
    for (const log of this.logs.values())
      for (const d of log.byId.values()) if (d.status === 'pending') out.push(d);
    return out;
  }

  pendingOf(webhookId: string): StoredDelivery[] {
    return [...(this.logs.get(webhookId)?.byId.values() ?? [])].filter((d) => d.status === 'pending');
  }

  /** The log of one webhook, newest event first. */
  list(webhookId: string, status: DeliveryStatus | undefined): StoredDelivery[] {
    const all = [...(this.logs.get(webhookId)?.byId.values() ?? [])];
    return all.filter((d) => !status || d.status === status).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  /** Knows a new delivery without writing it yet (the dispatcher writes its first outcome). */
  track(d: StoredDelivery): void {
    this.log(d.webhookId).byId.set(d.id, d);
  }

  /** Stores a changed delivery: still pending → its pending key; finished → the next log slot. */
  save(d: StoredDelivery): Promise<void> {
    const log = this.log(d.webhookId);
    log.byId.set(d.id, d);
    if (d.status === 'pending') {
      // Redelivered: it leaves the finished ring (its old slot is overwritten in time).
      if (d.logSeq !== undefined) {
        log.finished = log.finished.filter((f) => f.id !== d.id);
        delete d.logSeq;
      }
      return this.watch(d.id, this.writes.put(pendingKey(d), d));
    }
    d.logSeq = log.nextLogSeq++;
    log.finished.push(d);
    // Whatever sat in this slot before is overwritten now.
    while (log.finished.length && log.finished[0]!.logSeq! <= d.logSeq - MAX_DELIVERIES_PER_WEBHOOK) {
      const evicted = log.finished.shift()!;
      if (log.byId.get(evicted.id) === evicted) log.byId.delete(evicted.id);
    }
    return this.watch(d.id, this.writes.move(pendingKey(d), slotKey(d.webhookId, d.logSeq), d));
  }

  /**
   * Resolves once the delivery's current state is durable: when its last write failed (the
   * event then comes again), it is written again at its current key.
   */
  ensureStored(d: StoredDelivery): Promise<void> {
    if (!this.failedWrites.has(d.id)) return this.writes.flush();
    const key =
      d.status === 'pending' || d.logSeq === undefined ? pendingKey(d) : slotKey(d.webhookId, d.logSeq);
    return this.watch(d.id, this.writes.put(key, d));
  }

  private watch(id: string, write: Promise<void>): Promise<void> {
    return write.then(
      () => {
        this.failedWrites.delete(id);
      },
      (err: unknown) => {
        this.failedWrites.add(id);
        throw err;
      },
    );
  }

  /** Forgets a webhook's deliveries, in memory and in the bucket. */
  async dropWebhook(webhookId: string): Promise<void> {
    this.logs.delete(webhookId);
    await this.writes.flush();
    const keys: string[] = [];
    for await (const key of await this.kv.keys(`${webhookId}.>`)) keys.push(key);
    await Promise.all(keys.map((k) => this.kv.purge(k).catch(() => undefined)));
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  private log(webhookId: string): WebhookLog {
    let log = this.logs.get(webhookId);
    if (!log) {
      log = new WebhookLog();
      this.logs.set(webhookId, log);
    }
    return log;
  }
}

/** Appends an attempt, keeping the newest few. */
export function withAttempt(d: StoredDelivery, attempt: StoredDelivery['attempts'][number]) {
  const attempts = [...d.attempts, attempt];
  return attempts.length > MAX_ATTEMPTS_LISTED ? attempts.slice(-MAX_ATTEMPTS_LISTED) : attempts;
}

/** The contract shape of a stored delivery. */
export function toListing(d: StoredDelivery): Delivery {
  const { eventSeq: _s, step: _t, logSeq: _l, ...rest } = d;
  return rest;
}
