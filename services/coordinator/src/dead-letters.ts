import { type DeadLetter, type DeadLetterFilter, MAX_DEAD_LETTERS } from '@jousting/contracts';
import type { TaskError } from './task-record.js';

/** A dead letter as held in memory (times as epoch ms). */
export interface DeadLetterRecord {
  id: string;
  kind: string;
  title: string;
  attempts: number;
  lastError: TaskError;
  status: 'open' | 'dismissed';
  dismissReason?: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Dead letters by task id, oldest first (Map insertion order). Bounded: when full, the oldest
 * dismissed one goes first, then the oldest open one. No I/O; changed only through journal ops.
 */
export class DeadLetterStore {
  private readonly items = new Map<string, DeadLetterRecord>();

  constructor(readonly capacity = MAX_DEAD_LETTERS) {}

  get size(): number {
    return this.items.size;
  }

  get(id: string): DeadLetterRecord | undefined {
    return this.items.get(id);
  }

  all(): DeadLetterRecord[] {
    return [...this.items.values()];
  }

  /** Adds (or replaces, as newest) a dead letter; returns the ids evicted to make room. */
  put(record: DeadLetterRecord): string[] {
    this.items.delete(record.id);
    const evicted: string[] = [];
    while (this.items.size >= this.capacity) {
      const victim = this.oldestDismissed() ?? this.items.keys().next().value!;
      this.items.delete(victim);
      evicted.push(victim);
    }
    this.items.set(record.id, record);
    return evicted;
  }

  dismiss(id: string, reason: string, at: number): void {
    const record = this.items.get(id);
    if (!record) return;
    record.status = 'dismissed';
    record.dismissReason = reason;
    record.updatedAt = at;
  }

  remove(id: string): boolean {
    return this.items.delete(id);
  }

  /** Newest first, filtered, one page. */
  list(filter: Required<Pick<DeadLetterFilter, 'limit' | 'offset'>> & DeadLetterFilter) {
    const matching: DeadLetterRecord[] = [];
    for (const record of [...this.items.values()].reverse()) {
      if (filter.status !== undefined && record.status !== filter.status) continue;
      if (filter.kind !== undefined && record.kind !== filter.kind) continue;
      matching.push(record);
    }
    const items = matching.slice(filter.offset, filter.offset + filter.limit).map(toDeadLetter);
    return {
      items,
      total: matching.length,
      limit: filter.limit,
      offset: filter.offset,
      hasMore: filter.offset + items.length < matching.length,
    };
  }

  private oldestDismissed(): string | undefined {
    for (const record of this.items.values()) if (record.status === 'dismissed') return record.id;
    return undefined;
  }
}

export function toDeadLetter(r: DeadLetterRecord): DeadLetter {
  return {
    id: r.id,
    taskId: r.id,
    kind: r.kind,
    title: r.title,
    attempts: r.attempts,
    lastError: { ...r.lastError },
    status: r.status,
    ...(r.dismissReason === undefined ? {} : { dismissReason: r.dismissReason }),
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
