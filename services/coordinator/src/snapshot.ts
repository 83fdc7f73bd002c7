import type { TaskCost, TaskStatus } from '@jousting/contracts';
import type { DeadLetterRecord } from './dead-letters.js';
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
  /** Dead letters, oldest first (absent in snapshots written before they existed). */
  dl?: DeadLetterRecord[];
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
  notBefore?: number,
  failures?: number,
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
  // Trailing fields only when set: older snapshots without them load the same way.
  if (t.notBefore || t.failures) row.push(t.notBefore, t.failures);
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
  t.notBefore = r[19] ?? 0;
  t.failures = r[20] ?? 0;
  return t;
}

let epochs = 0;

/** Tasks per cached block by default: ~500 KB of lines of small tasks, about one stored piece. */
const BLOCK_TASKS = 2048;
const FINAL: ReadonlySet<TaskStatus> = new Set(['complete', 'failed', 'canceled']);

/**
 * Encoded lines of blocks of finished tasks, kept between snapshots: finished tasks rarely change,
 * so with ~200k tasks held most of a snapshot is copying bytes instead of encoding tasks again.
 * Every change of a task goes through `TaskTable.beforeChange`, which drops its block.
 */
class BlockCache {
  readonly blocks: Array<Buffer | undefined> = [];
  /** The snapshot being taken, which copies tasks about to change. */
  builder: SnapshotBuilder | undefined;

  constructor(
    table: TaskTable,
    /** Tasks per block: block n holds the tasks at positions n × size … (n + 1) × size − 1. */
    readonly size: number,
  ) {
    table.beforeChange = (task) => {
      const block = Math.floor(task.order / size);
      if (this.blocks[block] !== undefined) this.blocks[block] = undefined;
      this.builder?.capture(task);
    };
  }
}

const caches = new WeakMap<TaskTable, BlockCache>();

/**
 * A consistent snapshot of the table taken without stopping it: the cut is the moment of
 * construction; tasks are then serialized a slice at a time, and a task about to change before
 * its turn is serialized first (copy-on-write through `TaskTable.beforeChange`). Tasks created
 * after the cut are not included; the journal replay adds them.
 *
 * Lines are written in table order straight into UTF-8 pieces (off the JS heap), so a big table
 * neither stalls the event loop with one huge join/encode at the end nor leaves tens of MB of
 * strings for the young-generation GC to copy. Blocks of finished tasks are encoded once and
 * reused by later snapshots until one of their tasks changes (BlockCache).
 */
export class SnapshotBuilder {
  private readonly epoch = ++epochs;
  private readonly limit: number;
  private readonly cache: BlockCache;
  private position = 0;
  /** Lines of tasks serialized ahead of their turn (about to change), by order. */
  private readonly early = new Map<number, string>();
  private group: string[] = [];
  private groupChars = 0;
  /** Encoded bytes not yet made a piece. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly pieces: Uint8Array[] = [];
  private bytes = 0;
  private readonly maxGroupChars: number;
  readonly header: Omit<SnapshotHeader, 'seq'>;

  constructor(
    private readonly table: TaskTable,
    now: number,
    /** Tasks serialized between two looks at the clock. */
    private readonly slice = 256,
    /** Largest encoded piece (one stored chunk). */
    private readonly pieceBytes = 512 * 1024,
    /** Tasks per cached block; fixed by the first snapshot of a table. */
    blockTasks = BLOCK_TASKS,
  ) {
    this.limit = table.ordered.length;
    // A group of lines holding fewer than pieceBytes / 3 characters mostly fits one piece once
    // encoded (longer ones are cut; concatenation undoes it).
    this.maxGroupChars = Math.max(1, Math.floor(pieceBytes / 3));
    this.header = {
      v: SNAPSHOT_VERSION,
      at: now,
      count: this.limit,
      armed: table.armed,
      idem: table.idempotency.live(now).map(([key, e]: [string, IdempotencyEntry]) => [key, e.ids, e.at]),
      dl: table.deadLetters.all().map((d) => ({ ...d, lastError: { ...d.lastError } })),
    };
    let cache = caches.get(table);
    if (!cache) {
      if (table.beforeChange) throw new Error('the table already has a beforeChange hook');
      cache = new BlockCache(table, blockTasks);
      caches.set(table, cache);
    }
    if (cache.builder) throw new Error('a snapshot is already being taken');
    cache.builder = this;
    this.cache = cache;
  }

  get done(): boolean {
    return this.position >= this.limit;
  }

  /** Serializes tasks until `budgetMs` is used up; returns true when all are done. */
  step(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    while (this.position < this.limit) {
      const end = Math.min(this.limit, this.position + this.slice);
      while (this.position < end) {
        const block = this.cache.size;
        if (this.position % block === 0 && this.position + block <= this.limit && this.wholeBlock()) continue;
        this.add(this.lineAt(this.position));
        this.position++;
      }
      if (performance.now() >= until) break;
    }
    if (this.done) this.flush();
    return this.done;
  }

  /** Stops watching the table; returns the snapshot text (header line, then one line per task). */
  finish(seq: number): string {
    const { pieces } = this.finishNow(seq);
    return Buffer.concat(pieces).toString('utf8');
  }

  /**
   * Like finish(), but returns the text UTF-8 encoded, in pieces of at most `pieceBytes`
   * (concatenated: exactly the bytes of finish()'s text), serializing what is left in slices of
   * `budgetMs` that yield to the event loop.
   */
  async finishPieces(seq: number, budgetMs = 4): Promise<{ pieces: Uint8Array[]; bytes: number }> {
    while (!this.step(budgetMs)) await yieldToLoop();
    return this.finishNow(seq);
  }

  /** Abandons the snapshot. */
  release(): void {
    if (this.cache.builder === this) this.cache.builder = undefined;
  }

  /** The task at `position` is about to change: serialize it now if its turn has not come. */
  capture(task: TaskRecord): void {
    if (task.order >= this.limit || task.order < this.position || task.snapMark === this.epoch) return;
    this.early.set(task.order, encodeTask(task));
    task.snapMark = this.epoch;
  }

  private lineAt(position: number): string {
    const task = this.table.ordered[position]!;
    let line: string;
    if (task.snapMark === this.epoch) {
      line = this.early.get(position)!;
      this.early.delete(position);
    } else {
      line = encodeTask(task);
      task.snapMark = this.epoch;
    }
    return position === 0 ? line : `\n${line}`;
  }

  /**
   * The block starting at `position`, from the cache, or encoded as one and cached when all its
   * tasks are finished; false (nothing done) when it has live tasks.
   */
  private wholeBlock(): boolean {
    const size = this.cache.size;
    const index = this.position / size;
    const ordered = this.table.ordered;
    let bytes = this.cache.blocks[index];
    if (!bytes) {
      for (let p = this.position; p < this.position + size; p++) {
        const task = ordered[p]!;
        if (!FINAL.has(task.status) || task.snapMark === this.epoch) return false;
      }
      const lines: string[] = [];
      for (let p = this.position; p < this.position + size; p++) lines.push(this.lineAt(p));
      bytes = Buffer.from(lines.join(''), 'utf8');
      this.cache.blocks[index] = bytes;
    }
    // Its tasks are behind the cursor now, so capture() leaves them alone.
    this.flush();
    this.emit(bytes);
    this.position += size;
    return true;
  }

  private finishNow(seq: number): { pieces: Uint8Array[]; bytes: number } {
    this.step(Number.POSITIVE_INFINITY);
    this.release();
    this.flushPending();
    const header: SnapshotHeader = { ...this.header, seq };
    const head = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
    return { pieces: [...this.cut(head), ...this.pieces], bytes: head.length + this.bytes };
  }

  private add(line: string): void {
    if (this.groupChars > 0 && this.groupChars + line.length > this.maxGroupChars) this.flush();
    this.group.push(line);
    this.groupChars += line.length;
  }

  private flush(): void {
    if (this.group.length === 0) return;
    const buf = Buffer.from(this.group.join(''), 'utf8');
    this.group = [];
    this.groupChars = 0;
    this.emit(buf);
  }

  /**
   * Appends encoded bytes. Small ones are gathered into one piece (at most pieceBytes); a big one
   * (a cached block) becomes pieces of its own without being copied.
   */
  private emit(buf: Buffer): void {
    this.bytes += buf.length;
    if (this.pendingBytes + buf.length > this.pieceBytes) this.flushPending();
    if (buf.length >= this.pieceBytes) {
      for (const piece of this.cut(buf)) this.pieces.push(piece);
      return;
    }
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private flushPending(): void {
    if (this.pendingBytes === 0) return;
    this.pieces.push(
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes),
    );
    this.pending = [];
    this.pendingBytes = 0;
  }

  private cut(buf: Buffer): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < buf.length; at += this.pieceBytes) out.push(buf.subarray(at, at + this.pieceBytes));
    return out;
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  for (const record of header.dl ?? []) table.deadLetters.put(record);
  table.armed = header.armed;
  return header;
}
