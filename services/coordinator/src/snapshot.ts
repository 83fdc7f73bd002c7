import type { TaskCost, TaskStatus } from '@jousting/contracts';
import type { IdempotencyEntry } from './idempotency.js';
import { AttemptRecord, type TaskError, TaskRecord } from './task-record.js';
import type { TaskTable } from './task-table.js';

export const SNAPSHOT_VERSION = 1;

/** First line of a snapshot. */
export interface SnapshotHeader {
  v: number;
  /** The journal sequence it covers: replay starts after it. */
  seq: number;
  at: number;
  count: number;
  armed: boolean;
  idem: Array<[string, string[], number]>;
}

type EncodedAttempt = [
  number,
  string,
  number,
  number,
  number,
  AttemptRecord['outcome'],
  TaskError | 0,
  TaskCost | 0,
];
type EncodedTask = [
  id: string,
  title: string,
  description: string,
  kind: string,
  payloadJson: string,
  priority: number,
  labels: readonly string[],
  deps: readonly string[],
  status: TaskStatus,
  statusReason: string | 0,
  workerId: string | 0,
  attempts: EncodedAttempt[] | 0,
  resultJson: string | 0,
  error: TaskError | 0,
  cost: TaskCost | 0,
  createdAt: number,
  updatedAt: number,
  traceId: string,
  source: string,
];

/** One task as one JSON line: an array, which is smaller and faster to write and read than an object. */
export function encodeTask(t: TaskRecord): string {
  const row: EncodedTask = [
    t.id,
    t.title,
    t.description,
    t.kind,
    t.payloadJson,
    t.priority,
    t.labels,
    t.deps,
    t.status,
    t.statusReason ?? 0,
    t.workerId ?? 0,
    t.attempts
      ? t.attempts.map((a) => [
          a.number,
          a.workerId,
          a.assignedAt,
          a.startedAt,
          a.endedAt,
          a.outcome,
          a.error ?? 0,
          a.cost ?? 0,
        ])
      : 0,
    t.resultJson ?? 0,
    t.error ?? 0,
    t.cost ?? 0,
    t.createdAt,
    t.updatedAt,
    t.traceId,
    t.source,
  ];
  return JSON.stringify(row);
}

export function decodeTask(order: number, line: string): TaskRecord {
  const r = JSON.parse(line) as EncodedTask;
  const t = new TaskRecord(order, r[0], r[1], r[3], r[4], r[5], r[15], r[17], r[18]);
  t.description = r[2];
  t.labels = r[6];
  t.deps = r[7];
  t.status = r[8];
  t.statusReason = r[9] === 0 ? undefined : r[9];
  t.workerId = r[10] === 0 ? undefined : r[10];
  t.attempts =
    r[11] === 0
      ? undefined
      : r[11].map((a) => {
          const attempt = new AttemptRecord(a[0], a[1], a[2]);
          attempt.startedAt = a[3];
          attempt.endedAt = a[4];
          attempt.outcome = a[5];
          attempt.error = a[6] === 0 ? undefined : a[6];
          attempt.cost = a[7] === 0 ? undefined : a[7];
          return attempt;
        });
  t.resultJson = r[12] === 0 ? undefined : r[12];
  t.error = r[13] === 0 ? undefined : r[13];
  t.cost = r[14] === 0 ? undefined : r[14];
  t.updatedAt = r[16];
  return t;
}

let epochs = 0;

/**
 * A consistent snapshot of the table taken without stopping it: the cut is the moment of
 * construction; tasks are then serialized a slice at a time, and a task about to change before
 * its turn is serialized first (copy-on-write through `TaskTable.beforeChange`). Tasks created
 * after the cut are not included; the journal replay adds them.
 */
export class SnapshotBuilder {
  private readonly epoch = ++epochs;
  private readonly lines: string[];
  private readonly limit: number;
  private position = 0;
  readonly header: Omit<SnapshotHeader, 'seq'>;

  constructor(
    private readonly table: TaskTable,
    now: number,
    /** Tasks serialized between two looks at the clock. */
    private readonly slice = 256,
  ) {
    this.limit = table.ordered.length;
    this.lines = new Array<string>(this.limit);
    this.header = {
      v: SNAPSHOT_VERSION,
      at: now,
      count: this.limit,
      armed: table.armed,
      idem: table.idempotency.live(now).map(([key, e]: [string, IdempotencyEntry]) => [key, e.ids, e.at]),
    };
    if (table.beforeChange) throw new Error('a snapshot is already being taken');
    table.beforeChange = (task) => this.capture(task);
  }

  get done(): boolean {
    return this.position >= this.limit;
  }

  /** Serializes tasks until `budgetMs` is used up; returns true when all are done. */
  step(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    const ordered = this.table.ordered;
    while (this.position < this.limit) {
      const end = Math.min(this.limit, this.position + this.slice);
      for (; this.position < end; this.position++) this.capture(ordered[this.position]!);
      if (performance.now() >= until) break;
    }
    return this.done;
  }

  /** Stops watching the table; returns the snapshot text (header line, then one line per task). */
  finish(seq: number): string {
    this.step(Number.POSITIVE_INFINITY);
    this.release();
    const header: SnapshotHeader = { ...this.header, seq };
    return `${JSON.stringify(header)}\n${this.lines.join('\n')}`;
  }

  /** Abandons the snapshot. */
  release(): void {
    if (this.table.beforeChange) this.table.beforeChange = undefined;
  }

  private capture(task: TaskRecord): void {
    if (task.order >= this.limit || task.snapMark === this.epoch) return;
    this.lines[task.order] = encodeTask(task);
    task.snapMark = this.epoch;
  }
}

/** Loads a snapshot text into an empty table; returns its header. */
export function loadSnapshot(table: TaskTable, text: string): SnapshotHeader {
  if (table.size > 0) throw new Error('snapshots load into an empty table');
  let start = 0;
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const header = JSON.parse(text.slice(0, end)) as SnapshotHeader;
  if (header.v !== SNAPSHOT_VERSION) throw new Error(`unknown snapshot version ${header.v}`);
  let order = 0;
  while (end < text.length) {
    start = end + 1;
    end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) table.restore(decodeTask(order++, text.slice(start, end)));
  }
  if (order !== header.count) throw new Error(`snapshot holds ${order} tasks, header says ${header.count}`);
  table.linkAll();
  for (const [key, ids, at] of header.idem) table.idempotency.remember(key, ids, at);
  table.armed = header.armed;
  return header;
}
