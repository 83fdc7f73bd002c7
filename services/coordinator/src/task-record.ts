import type { Attempt, ErrorClass, Task, TaskCost, TaskStatus, TaskSummary } from '@jousting/contracts';

export type AttemptOutcome = Attempt['outcome'];
export type TaskError = { class: ErrorClass; message: string };

/** One attempt, compact: times are epoch milliseconds (0 = not yet). */
export class AttemptRecord {
  startedAt = 0;
  endedAt = 0;
  outcome: AttemptOutcome = 'assigned';
  error: TaskError | undefined = undefined;
  cost: TaskCost | undefined = undefined;

  constructor(
    readonly number: number,
    readonly workerId: string,
    readonly assignedAt: number,
  ) {}
}

const EMPTY: readonly string[] = Object.freeze([]);
export const EMPTY_PAYLOAD_JSON = '{}';

/**
 * A task as held in memory: one object with a fixed shape, times as numbers, payload and result
 * kept as JSON text, and shared strings for kinds, labels, sources and trace ids, so 100k tasks
 * fit in well under 100 MB. `toTask` builds the contract shape on demand.
 */
export class TaskRecord {
  description = '';
  labels: readonly string[] = EMPTY;
  deps: readonly string[] = EMPTY;
  /** Reverse edges: ids of tasks that depend on this one (derived, not stored). */
  dependents: readonly string[] = EMPTY;
  status: TaskStatus = 'pending';
  statusReason: string | undefined = undefined;
  workerId: string | undefined = undefined;
  attempts: AttemptRecord[] | undefined = undefined;
  resultJson: string | undefined = undefined;
  error: TaskError | undefined = undefined;
  cost: TaskCost | undefined = undefined;
  updatedAt: number;
  /** Dependencies not complete yet (derived). */
  unmet = 0;
  /** Slot in the ready queue (-1 when not queued) and the bucket holding it. */
  readyIndex = -1;
  readyBucket: unknown = undefined;
  /** A retry waits in `queued` until this epoch ms (0 = not waiting). */
  notBefore = 0;
  /** Failed attempts since creation or the last operator retry (drives the retry limit). */
  failures = 0;
  /** Snapshot epoch in which this task was last serialized (copy-on-write snapshots). */
  snapMark = 0;

  constructor(
    /** Creation order: index in the table's ordered list. */
    readonly order: number,
    readonly id: string,
    public title: string,
    public kind: string,
    public payloadJson: string,
    public priority: number,
    readonly createdAt: number,
    readonly traceId: string,
    readonly source: string,
  ) {
    this.updatedAt = createdAt;
  }

  get currentAttempt(): AttemptRecord | undefined {
    return this.attempts?.[this.attempts.length - 1];
  }
}

export const EMPTY_LIST = EMPTY;

let lastMs = Number.NaN;
let lastIso = '';
/** ISO time of epoch ms; tasks of a batch share their times, so the last one is remembered. */
const iso = (ms: number) => {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
};

// toTask runs for every task a create answers with: fields are set one after the other (same
// order as the schema) instead of spreading temporary objects.
export function toAttempt(a: AttemptRecord): Attempt {
  const out = { number: a.number, workerId: a.workerId, assignedAt: iso(a.assignedAt) } as Attempt;
  if (a.startedAt) out.startedAt = iso(a.startedAt);
  if (a.endedAt) out.endedAt = iso(a.endedAt);
  out.outcome = a.outcome;
  if (a.error) out.error = { ...a.error };
  if (a.cost) out.cost = { ...a.cost };
  return out;
}

export const ZERO_COST: Readonly<TaskCost> = Object.freeze({ usd: 0, inputTokens: 0, outputTokens: 0 });

export function toTask(t: TaskRecord): Task {
  const task = {
    id: t.id,
    title: t.title,
    description: t.description,
    kind: t.kind,
    payload: (t.payloadJson === EMPTY_PAYLOAD_JSON ? {} : JSON.parse(t.payloadJson)) as Record<
      string,
      unknown
    >,
    priority: t.priority,
    labels: [...t.labels],
    deps: [...t.deps],
    status: t.status,
  } as Task;
  if (t.statusReason !== undefined) task.statusReason = t.statusReason;
  if (t.workerId !== undefined) task.workerId = t.workerId;
  task.attempts = t.attempts ? t.attempts.map(toAttempt) : [];
  if (t.resultJson !== undefined) task.result = JSON.parse(t.resultJson);
  if (t.error !== undefined) task.error = { ...t.error };
  task.cost = { ...(t.cost ?? ZERO_COST) };
  task.createdAt = iso(t.createdAt);
  task.updatedAt = iso(t.updatedAt);
  task.traceId = t.traceId;
  task.source = t.source;
  return task;
}

export function toSummary(t: TaskRecord): TaskSummary {
  const summary = {
    id: t.id,
    title: t.title,
    kind: t.kind,
    priority: t.priority,
    labels: [...t.labels],
    deps: [...t.deps],
    status: t.status,
  } as TaskSummary;
  if (t.statusReason !== undefined) summary.statusReason = t.statusReason;
  if (t.workerId !== undefined) summary.workerId = t.workerId;
  summary.createdAt = iso(t.createdAt);
  summary.updatedAt = iso(t.updatedAt);
  summary.attemptCount = t.attempts?.length ?? 0;
  return summary;
}

/** Interns strings that repeat across tasks (kinds, labels, sources, trace ids of a batch). */
export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size > 100_000) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  /** A frozen, shared copy of a short list (labels). */
  list(items: readonly string[] | undefined): readonly string[] {
    if (!items || items.length === 0) return EMPTY;
    const key = items.join('\u0000');
    const known = this.lists.get(key);
    if (known) return known;
    if (this.lists.size > 10_000) this.lists.clear();
    const list = Object.freeze(items.map((s) => this.string(s)));
    this.lists.set(key, list);
    return list;
  }
}
