import type { WorkerInfo } from '@jousting/contracts';
import { type CoordEvent, parseCoordEvent } from './coord-events';
import type { Clock } from './live';
import { HELD_STATUSES } from './task-status';
import { systemClock, Throttle } from './throttle';

/**
 * The workers the coordinator knows, kept live by coord.worker-joined / worker-left and by task
 * events (which say which worker holds what). Like TaskStore: no I/O, changes told at most every
 * `flushMs`.
 */

/** Applies one event to the workers map (replacing changed entries); true when something changed. */
export function applyWorkerEvent(workers: Map<string, WorkerInfo>, event: CoordEvent): boolean {
  switch (event.type) {
    case 'coord.worker-joined': {
      const { worker } = event.data;
      workers.set(worker.id, { ...worker, status: 'online' });
      return true;
    }
    case 'coord.worker-left': {
      const known = workers.get(event.data.id);
      if (!known) return false;
      workers.set(known.id, { ...known, status: 'offline', running: [], lastSeenAt: event.time });
      return true;
    }
    case 'coord.task-updated': {
      const { id, to, workerId } = event.data;
      let changed = false;
      const holds = HELD_STATUSES.includes(to);
      for (const worker of workers.values()) {
        const has = worker.running.includes(id);
        const should = holds && worker.id === workerId;
        if (has === should && !(should && worker.status === 'offline')) continue;
        const running = should
          ? has
            ? worker.running
            : [...worker.running, id]
          : worker.running.filter((t) => t !== id);
        // A worker that reports on a task is alive, whatever we heard before.
        const seen = worker.id === workerId ? { status: 'online' as const, lastSeenAt: event.time } : {};
        workers.set(worker.id, { ...worker, running, ...seen });
        changed = true;
      }
      if (workerId && !holds) {
        const worker = workers.get(workerId);
        if (worker && worker.lastSeenAt < event.time) {
          workers.set(workerId, { ...worker, lastSeenAt: event.time, status: 'online' });
          changed = true;
        }
      }
      return changed;
    }
    default:
      return false;
  }
}

/** Online first, then by name. */
export function sortWorkers(workers: Iterable<WorkerInfo>): WorkerInfo[] {
  return [...workers].sort(
    (a, b) =>
      (a.status === b.status ? 0 : a.status === 'online' ? -1 : 1) ||
      a.name.localeCompare(b.name) ||
      a.id.localeCompare(b.id),
  );
}

export interface WorkerSnapshot {
  version: number;
  workers: readonly WorkerInfo[];
  loaded: boolean;
}

export class WorkerStore {
  private readonly workers = new Map<string, WorkerInfo>();
  private readonly listeners = new Set<() => void>();
  private readonly throttle: Throttle;
  private version = 0;
  private loaded = false;
  private buffered: CoordEvent[] | undefined;
  private snap: WorkerSnapshot = { version: 0, workers: [], loaded: false };

  constructor(opts: { clock?: Clock; flushMs?: number } = {}) {
    this.throttle = new Throttle(opts.clock ?? systemClock, opts.flushMs ?? 100, () => this.flush());
  }

  getSnapshot = (): WorkerSnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  beginLoad(): void {
    this.buffered = [];
  }

  finishLoad(workers: readonly WorkerInfo[]): void {
    this.workers.clear();
    for (const worker of workers) this.workers.set(worker.id, worker);
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    this.loaded = true;
    for (const event of buffered) applyWorkerEvent(this.workers, event);
    this.version++;
    this.throttle.flush();
  }

  apply(event: { type: string; time?: string; data: unknown }): void {
    if (!event.type.startsWith('coord.')) return;
    const parsed = parseCoordEvent(event);
    if (!parsed) return;
    if (this.buffered) this.buffered.push(parsed);
    else if (this.loaded && applyWorkerEvent(this.workers, parsed)) {
      this.version++;
      this.throttle.schedule();
    }
  }

  private flush(): void {
    if (this.snap.version === this.version && this.snap.loaded === this.loaded) return;
    this.snap = { version: this.version, workers: sortWorkers(this.workers.values()), loaded: this.loaded };
    for (const listener of [...this.listeners]) listener();
  }
}
