import type { Progress, TaskStatus, TaskSummary } from '@jousting/contracts';
import type { TaskQuery } from './api';
import { type CoordEvent, parseCoordEvent } from './coord-events';
import type { Clock } from './live';
import { HELD_STATUSES, isFinal, TASK_STATUSES } from './task-status';
import { systemClock, Throttle } from './throttle';

/**
 * Every task the coordinator knows, as summaries in a map, kept current by applying the coord.*
 * events one at a time. Listeners hear about changes at most every `flushMs` (100 ms), so a burst
 * of events is one render. No I/O: loading is `beginLoad`/`finishLoad`, done by TaskSync.
 */

export type LoadState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready' }
  | { status: 'failed'; message: string };

export interface TaskSnapshot {
  /** Bumped on every visible change. */
  version: number;
  /** Bumped when a task or a dependency comes or goes: what the graph layout depends on. */
  structure: number;
  tasks: ReadonlyMap<string, TaskSummary>;
  load: LoadState;
}

/** What applying one event did. `stale` names a task whose new fields the event does not carry. */
export interface ApplyResult {
  changed: boolean;
  structural: boolean;
  stale?: string;
}

const NOTHING: ApplyResult = { changed: false, structural: false };

/**
 * Applies one coordinator event to a map of task summaries (replacing, never mutating, the summary
 * objects, so unchanged tasks keep their identity for memoised rendering).
 */
export function applyCoordEvent(tasks: Map<string, TaskSummary>, event: CoordEvent): ApplyResult {
  switch (event.type) {
    case 'coord.task-created': {
      const { task } = event.data;
      const known = tasks.get(task.id);
      if (known && newer(known.updatedAt, task.updatedAt)) return NOTHING;
      tasks.set(task.id, task);
      return { changed: true, structural: !known || !sameList(known.deps, task.deps) };
    }
    case 'coord.task-updated': {
      const { id, from, to, reason, workerId, attempt, changed } = event.data;
      const task = tasks.get(id);
      if (!task) return { ...NOTHING, stale: id };
      if (from === to) {
        // A new reason for the same status comes with the reason itself.
        if (changed?.length === 1 && changed[0] === 'statusReason') {
          const next: TaskSummary = { ...task };
          if (reason) next.statusReason = reason;
          else delete next.statusReason;
          tasks.set(id, next);
          return { changed: true, structural: false };
        }
        // An edit names the fields but does not carry them.
        return changed && changed.length > 0 ? { ...NOTHING, stale: id } : NOTHING;
      }
      // Older than what we hold (e.g. an event buffered during a load the answer already includes).
      if (newer(task.updatedAt, event.time)) return NOTHING;
      const next: TaskSummary = {
        ...task,
        status: to,
        updatedAt: event.time,
        attemptCount: Math.max(task.attemptCount, attempt ?? 0),
      };
      if (reason) next.statusReason = reason;
      else delete next.statusReason;
      const worker = workerAfter(task, to, workerId);
      if (worker) next.workerId = worker;
      else delete next.workerId;
      tasks.set(id, next);
      return { changed: true, structural: false };
    }
    case 'coord.dep-added':
    case 'coord.dep-removed': {
      const { id, depId } = event.data;
      const task = tasks.get(id);
      if (!task) return { ...NOTHING, stale: id };
      const has = task.deps.includes(depId);
      const adding = event.type === 'coord.dep-added';
      if (has === adding) return NOTHING;
      const deps = adding ? [...task.deps, depId] : task.deps.filter((d) => d !== depId);
      tasks.set(id, { ...task, deps });
      return { changed: true, structural: true };
    }
    default:
      return NOTHING;
  }
}

/** The worker shown for a task after a status change: kept through the end, dropped when re-queued. */
function workerAfter(task: TaskSummary, to: TaskStatus, workerId: string | undefined): string | undefined {
  if (HELD_STATUSES.includes(to)) return workerId ?? task.workerId;
  if (isFinal(to)) return workerId ?? task.workerId;
  return undefined;
}

/** True when ISO time `a` is strictly later than `b` (unparsable times never are). */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isFinite(ta) && Number.isFinite(tb) && ta > tb;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface TaskStoreOptions {
  clock?: Clock;
  /** Listeners are told at most this often. */
  flushMs?: number;
  /** Called (at flush time) with tasks that need a fresh read from the API. */
  onStale?: (ids: string[]) => void;
}

export class TaskStore {
  private readonly tasks = new Map<string, TaskSummary>();
  private readonly listeners = new Set<() => void>();
  private readonly throttle: Throttle;
  private readonly onStale: ((ids: string[]) => void) | undefined;
  private snap: TaskSnapshot = { version: 0, structure: 0, tasks: new Map(), load: { status: 'idle' } };
  private load: LoadState = { status: 'idle' };
  private version = 0;
  private structure = 0;
  private stale = new Set<string>();
  /** Events that arrive while a load is in flight, applied on top of its answer. */
  private buffered: CoordEvent[] | undefined;
  /** Events applied since the store was created (for tests and diagnostics). */
  applied = 0;

  constructor(opts: TaskStoreOptions = {}) {
    this.throttle = new Throttle(opts.clock ?? systemClock, opts.flushMs ?? 100, () => this.flush());
    this.onStale = opts.onStale;
  }

  getSnapshot = (): TaskSnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  get loadState(): LoadState {
    return this.load;
  }

  get(id: string): TaskSummary | undefined {
    return this.tasks.get(id);
  }

  /** A load starts: events from now on are kept and applied over its answer. */
  beginLoad(): void {
    this.buffered = [];
    this.load = { status: 'loading' };
    // Keep showing what we have while it reloads.
    if (this.snap.load.status !== 'ready') this.bump(false);
  }

  finishLoad(tasks: readonly TaskSummary[]): void {
    this.tasks.clear();
    for (const task of tasks) this.tasks.set(task.id, task);
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    this.load = { status: 'ready' };
    this.stale.clear();
    for (const event of buffered) this.applyParsed(event);
    this.bump(true);
    this.throttle.flush();
  }

  failLoad(message: string): void {
    this.buffered = undefined;
    this.load = { status: 'failed', message };
    this.bump(false);
    this.throttle.flush();
  }

  /** Applies a raw live event (anything that is not a task event is ignored). */
  apply(event: { type: string; time?: string; data: unknown }): void {
    if (!event.type.startsWith('coord.')) return;
    const parsed = parseCoordEvent(event);
    if (parsed) this.applyEvent(parsed);
  }

  applyEvent(event: CoordEvent): void {
    if (this.buffered) {
      this.buffered.push(event);
      return;
    }
    // Before the first load there is nothing to keep current.
    if (this.load.status !== 'ready') return;
    this.applyParsed(event);
  }

  /**
   * A fresh summary from the API (e.g. after an edit event that did not carry the fields). An
   * answer older than what events already told us (they can overtake an HTTP answer) is dropped.
   */
  upsert(task: TaskSummary): void {
    if (this.load.status !== 'ready') return;
    const known = this.tasks.get(task.id);
    if (known && newer(known.updatedAt, task.updatedAt)) return;
    this.tasks.set(task.id, task);
    this.stale.delete(task.id);
    this.bump(!known || !sameList(known.deps, task.deps));
  }

  private applyParsed(event: CoordEvent): void {
    this.applied++;
    const result = applyCoordEvent(this.tasks, event);
    if (result.stale) {
      this.stale.add(result.stale);
      this.throttle.schedule();
    }
    if (result.changed) this.bump(result.structural);
  }

  private bump(structural: boolean): void {
    this.version++;
    if (structural) this.structure++;
    this.throttle.schedule();
  }

  private flush(): void {
    if (this.stale.size > 0 && this.onStale) {
      const ids = [...this.stale];
      this.stale.clear();
      this.onStale(ids);
    }
    if (this.snap.version === this.version && this.snap.load === this.load) return;
    this.snap = {
      version: this.version,
      structure: this.structure,
      tasks: new Map(this.tasks),
      load: this.load,
    };
    for (const listener of [...this.listeners]) listener();
  }
}

// --- views derived from a snapshot ---

export interface BoardColumn {
  status: TaskStatus;
  /** The first `limit` tasks of the column, in display order. */
  items: TaskSummary[];
  total: number;
}

/**
 * The board: one column per status. Waiting and active columns put the highest priority first and
 * then the oldest (the order a worker would take them); finished columns the most recent first.
 */
export function boardColumns(tasks: Iterable<TaskSummary>, limit = 200): BoardColumn[] {
  const by = new Map<TaskStatus, TaskSummary[]>(TASK_STATUSES.map((s) => [s, []]));
  for (const task of tasks) by.get(task.status)?.push(task);
  return TASK_STATUSES.map((status) => {
    const items = by.get(status) ?? [];
    items.sort(isFinal(status) ? byRecent : byPriorityThenAge);
    return { status, items: items.slice(0, limit), total: items.length };
  });
}

const byRecent = (a: TaskSummary, b: TaskSummary) =>
  b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id);
const byPriorityThenAge = (a: TaskSummary, b: TaskSummary) =>
  b.priority - a.priority || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/** Counts per status and percent complete, as GET /api/tasks/progress reports them. */
export function progressOf(tasks: Iterable<TaskSummary>): Progress {
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  let total = 0;
  for (const task of tasks) {
    byStatus[task.status]++;
    total++;
  }
  return { total, byStatus, percentDone: total === 0 ? 0 : (byStatus.complete / total) * 100 };
}

/** How many tasks wait for each task. */
export function dependentCounts(tasks: Iterable<TaskSummary>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const task of tasks) for (const dep of task.deps) counts.set(dep, (counts.get(dep) ?? 0) + 1);
  return counts;
}

/**
 * Whether a summary matches a list query as far as the client can tell (the server also searches
 * descriptions, which summaries do not carry).
 */
export function matchesQuery(task: TaskSummary, query: TaskQuery): boolean {
  if (query.status && query.status.length > 0 && !query.status.includes(task.status)) return false;
  if (query.kind?.trim() && task.kind !== query.kind.trim()) return false;
  if (query.label?.trim() && !task.labels.includes(query.label.trim())) return false;
  const q = query.q?.trim().toLowerCase();
  if (q && !task.id.toLowerCase().includes(q) && !task.title.toLowerCase().includes(q)) return false;
  return true;
}

/**
 * Applies a batch of events to the rows of one list page: rows on the page update in place; tasks
 * created since that match the query are counted (the page offers a refresh rather than jumping).
 */
export function applyEventsToRows(
  rows: readonly TaskSummary[],
  events: readonly CoordEvent[],
  query: TaskQuery,
): { rows: TaskSummary[]; created: string[] } {
  const map = new Map(rows.map((r) => [r.id, r]));
  const created: string[] = [];
  for (const event of events) {
    if (event.type === 'coord.task-created') {
      if (!map.has(event.data.task.id) && matchesQuery(event.data.task, query))
        created.push(event.data.task.id);
      continue;
    }
    if ('id' in event.data && typeof event.data.id === 'string' && !map.has(event.data.id)) continue;
    applyCoordEvent(map, event);
  }
  return { rows: rows.map((r) => map.get(r.id) ?? r), created };
}
