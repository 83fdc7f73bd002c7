import type { TaskGraph, TaskSummary } from '@jousting/contracts';
import { errorText } from './api';
import { parseTaskSummary } from './coord-events';
import type { Clock, LiveEvent, LiveNotice } from './live';
import { TaskStore } from './task-store';
import { systemClock } from './throttle';

/** What TaskSync needs of the API client. */
export interface TaskApi {
  getTaskGraph(): Promise<Pick<TaskGraph, 'nodes'>>;
  getTask(id: string): Promise<unknown>;
}

/** What TaskSync needs of the live connection. */
export interface TaskFeed {
  subscribe(listener: (e: LiveEvent) => void): () => void;
  onNotice(listener: (n: LiveNotice) => void): () => void;
}

/** Above this many tasks to re-read one by one, one full load is cheaper. */
const MAX_SINGLE_READS = 25;

/**
 * Keeps the shared TaskStore in step with the server: loads it on first use (from the graph, which
 * lists every task), applies live events as they come, re-reads tasks an event could not update
 * and reloads everything after a gap in the event history.
 */
export class TaskSync {
  readonly store: TaskStore;
  private stops: Array<() => void> = [];
  private loading: Promise<void> | undefined;
  private reloadAgain = false;

  constructor(
    private readonly api: TaskApi,
    private readonly feed: TaskFeed,
    opts: { clock?: Clock; flushMs?: number } = {},
  ) {
    this.store = new TaskStore({
      clock: opts.clock ?? systemClock,
      ...(opts.flushMs !== undefined ? { flushMs: opts.flushMs } : {}),
      onStale: (ids) => this.refresh(ids),
    });
  }

  start(): void {
    if (this.stops.length > 0) return;
    this.stops.push(
      this.feed.subscribe((e) => this.store.apply(e.event)),
      this.feed.onNotice((n) => {
        // The history no longer holds what we missed: only a full read is right again.
        if (n.kind === 'gap' && this.store.loadState.status !== 'idle') void this.reload();
      }),
    );
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
  }

  /** Loads once; later calls are free (the store is kept current by events). */
  ensureLoaded(): Promise<void> {
    const { status } = this.store.loadState;
    if (status === 'ready') return Promise.resolve();
    if (this.loading) return this.loading;
    return this.reload();
  }

  /** Reads every task again; a call during a load makes one more load after it. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.store.beginLoad();
    this.loading = this.api
      .getTaskGraph()
      .then(
        (graph) => {
          const tasks = graph.nodes.map(parseTaskSummary).filter((t): t is TaskSummary => t !== undefined);
          this.store.finishLoad(tasks);
        },
        (err: unknown) => this.store.failLoad(errorText(err)),
      )
      .finally(() => {
        this.loading = undefined;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          void this.reload();
        }
      });
    return this.loading;
  }

  private refresh(ids: string[]): void {
    if (ids.length > MAX_SINGLE_READS) {
      void this.reload();
      return;
    }
    for (const id of ids) {
      this.api.getTask(id).then(
        (detail) => {
          const task = parseTaskSummary(detail);
          if (task) this.store.upsert(task);
        },
        () => {
          // Gone or unreachable: the next event or reload sets it right.
        },
      );
    }
  }
}
