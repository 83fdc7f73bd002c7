import type { WorkerReport } from '@jousting/contracts';

export const attemptKey = (taskId: string, attempt: number) => `${taskId}#${attempt}`;

/** One report, serialised once when it is queued; a batch is the join of these. */
export interface QueuedReport {
  key: string;
  type: WorkerReport['type'];
  taskId: string;
  attempt: number;
  json: string;
}

export function queuedReport(report: WorkerReport): QueuedReport {
  return {
    key: attemptKey(report.taskId, report.attempt),
    type: report.type,
    taskId: report.taskId,
    attempt: report.attempt,
    json: JSON.stringify(report),
  };
}

export interface ReportBatch {
  reports: QueuedReport[];
  bytes: number;
}

/** Room left in a batch, handed to the callback that adds heartbeats at the end of it. */
export interface BatchRoom {
  items: number;
  bytes: number;
  /** True when the attempt has no report in flight and none left waiting: a new one may go last. */
  isFree(key: string): boolean;
}

/**
 * Reports waiting to be sent, in the order they happened. Several batches may be in flight, but
 * the reports of one attempt never travel in two batches at once, so the coordinator sees each
 * attempt's reports in order (started before completed) whichever request it handles first.
 */
export class ReportQueue {
  private waiting: QueuedReport[] = [];
  private readonly waitingByKey = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();

  get size(): number {
    return this.waiting.length;
  }

  get batchesInFlight(): boolean {
    return this.inFlight.size > 0;
  }

  push(report: QueuedReport): void {
    this.waiting.push(report);
    this.waitingByKey.set(report.key, (this.waitingByKey.get(report.key) ?? 0) + 1);
  }

  /** Forgets the waiting reports of an attempt (it was aborted: it reports nothing more). */
  dropAttempt(key: string): void {
    if (!this.waitingByKey.has(key)) return;
    this.waiting = this.waiting.filter((r) => r.key !== key);
    this.waitingByKey.delete(key);
  }

  /**
   * Takes the next batch: waiting reports in order, skipping attempts that have a report in
   * flight (and everything after a skipped report of the same attempt), then whatever `more`
   * adds in the room left. Undefined when there is nothing to send.
   */
  take(
    maxItems: number,
    maxBytes: number,
    more?: (room: BatchRoom) => QueuedReport[],
  ): ReportBatch | undefined {
    const taken: QueuedReport[] = [];
    let bytes = 0;
    if (this.waiting.length > 0) {
      const rest: QueuedReport[] = [];
      const held = new Set<string>();
      for (const report of this.waiting) {
        const fits =
          taken.length < maxItems && (taken.length === 0 || bytes + report.json.length <= maxBytes);
        if (fits && !this.inFlight.has(report.key) && !held.has(report.key)) {
          taken.push(report);
          bytes += report.json.length + 1;
          this.unwait(report.key);
        } else {
          rest.push(report);
          held.add(report.key);
        }
      }
      this.waiting = rest;
    }
    if (more && taken.length < maxItems) {
      const room: BatchRoom = {
        items: maxItems - taken.length,
        bytes: maxBytes - bytes,
        isFree: (key) => !this.inFlight.has(key) && !this.waitingByKey.has(key),
      };
      for (const report of more(room)) {
        taken.push(report);
        bytes += report.json.length + 1;
      }
    }
    if (taken.length === 0) return undefined;
    for (const report of taken) this.inFlight.set(report.key, (this.inFlight.get(report.key) ?? 0) + 1);
    return { reports: taken, bytes };
  }

  /** The batch was answered (or given up): its attempts may send again. */
  settle(batch: ReportBatch): void {
    for (const report of batch.reports) {
      const n = (this.inFlight.get(report.key) ?? 1) - 1;
      if (n > 0) this.inFlight.set(report.key, n);
      else this.inFlight.delete(report.key);
    }
  }

  /** The batch was not delivered: settle it and put its reports back in front, in their order. */
  requeue(batch: ReportBatch): void {
    this.settle(batch);
    this.waiting = [...batch.reports, ...this.waiting];
    for (const report of batch.reports) {
      this.waitingByKey.set(report.key, (this.waitingByKey.get(report.key) ?? 0) + 1);
    }
  }

  private unwait(key: string): void {
    const n = (this.waitingByKey.get(key) ?? 1) - 1;
    if (n > 0) this.waitingByKey.set(key, n);
    else this.waitingByKey.delete(key);
  }
}
