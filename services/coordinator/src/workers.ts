import type { WorkerMatch } from './ready-queue.js';

export interface WorkerHello {
  workerId: string;
  name: string;
  kinds: string[];
  labels: string[];
  capacity: number;
  version: string;
}

export interface WorkerRecord extends WorkerMatch {
  readonly id: string;
  name: string;
  kinds: string[];
  labels: string[];
  capacity: number;
  version: string;
  connectedAt: number;
  lastSeenAt: number;
  status: 'online' | 'offline';
}

/** Offline workers stay listed this long, then are forgotten. */
const FORGET_OFFLINE_MS = 24 * 60 * 60 * 1000;

/**
 * The workers that said hello. A worker is online from its hello until its bye or until it has
 * not been heard from for `timeoutMs` (3 heartbeats). Workers are not journaled: after a
 * coordinator restart each one is unknown until it says hello again (its tasks stay assigned to
 * it meanwhile, under their leases).
 */
export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();

  constructor(
    readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers or refreshes a worker; `joined` when it was unknown or offline. */
  hello(h: WorkerHello): { worker: WorkerRecord; joined: boolean } {
    const now = this.now();
    const known = this.workers.get(h.workerId);
    const joined = !known || known.status === 'offline';
    const kinds = [...new Set(h.kinds)].sort();
    const labels = [...new Set(h.labels)].sort();
    const worker: WorkerRecord = known ?? {
      id: h.workerId,
      name: h.name,
      kinds,
      labels,
      capacity: h.capacity,
      version: h.version,
      connectedAt: now,
      lastSeenAt: now,
      status: 'online',
    };
    Object.assign(worker, { name: h.name, kinds, labels, capacity: h.capacity, version: h.version });
    worker.lastSeenAt = now;
    if (joined) {
      worker.connectedAt = now;
      worker.status = 'online';
    }
    this.workers.set(worker.id, worker);
    return { worker, joined };
  }

  /** The online worker, marked as heard from now; undefined if unknown or offline. */
  seen(id: string): WorkerRecord | undefined {
    const worker = this.workers.get(id);
    if (worker?.status !== 'online') return undefined;
    worker.lastSeenAt = this.now();
    return worker;
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  /** Marks a worker offline; returns it if it was online. */
  leave(id: string): WorkerRecord | undefined {
    const worker = this.workers.get(id);
    if (worker?.status !== 'online') return undefined;
    worker.status = 'offline';
    return worker;
  }

  /** Marks offline, and returns, every online worker not heard from for `timeoutMs`. */
  takeTimedOut(): WorkerRecord[] {
    const now = this.now();
    const gone: WorkerRecord[] = [];
    for (const worker of this.workers.values()) {
      if (worker.status === 'online' && now - worker.lastSeenAt > this.timeoutMs) {
        worker.status = 'offline';
        gone.push(worker);
      } else if (worker.status === 'offline' && now - worker.lastSeenAt > FORGET_OFFLINE_MS) {
        this.workers.delete(worker.id);
      }
    }
    return gone;
  }

  all(): WorkerRecord[] {
    return [...this.workers.values()];
  }
}
