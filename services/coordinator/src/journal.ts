import type { Logger } from '@jousting/bus';
import { JoustingError } from '@jousting/contracts';
import type { Op } from './ops.js';

/** A journal message: one part of one group commit. A group counts only once all its parts are stored. */
export interface JournalPart {
  /** Group id: writer instance and batch number. */
  g: string;
  /** Part index and number of parts of the group. */
  p: number;
  n: number;
  ops: Op[];
}

export interface JournalTransport {
  /**
   * Appends one message, stored only if the stream's last sequence is still `expectLastSeq` (a
   * second writer is refused) and deduplicated by `msgId` (a retry after a lost ack is not
   * stored twice). Resolves with the message's stream sequence.
   */
  publish(body: string, msgId: string, expectLastSeq: number): Promise<number>;
}

export interface CommittedPart {
  seq: number;
  ops: Op[];
  /** The stored JSON text of the part. */
  body: string;
}

export interface JournalWriterOptions {
  transport: JournalTransport;
  /** The journal stream's last sequence at start. */
  lastSeq: number;
  /** Unique per process, part of every message id. */
  writerId: string;
  logger: Logger;
  /** Called once per stored group, in journal order, before the waiting commands are answered. */
  onCommitted: (parts: CommittedPart[]) => void;
  /** The journal cannot be written: the process must stop (its memory is ahead of the journal). */
  onFatal: (err: Error) => void;
  maxPartBytes?: number;
  giveUpAfterMs?: number;
}

interface Batch {
  number: number;
  ops: Op[];
  done: Promise<number>;
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

const PART_OVERHEAD = 100;

/**
 * Group commit. Ops appended during one turn of the event loop (every command handled meanwhile)
 * go into the open batch; one flush is in flight at a time and the next batch accumulates while
 * it is. A flush stores the batch as one journal message (several parts above ~512 KB), and only
 * then are the commands in it answered. A flush that keeps failing for ~10 s is fatal.
 */
export class JournalWriter {
  private readonly queue: Batch[] = [];
  private inFlight: Batch | undefined;
  private open: Batch | undefined;
  private flushing = false;
  private scheduled = false;
  private batchNumber = 0;
  private failed: Error | undefined;
  private seq: number;
  private readonly maxPartBytes: number;
  private readonly giveUpAfterMs: number;
  /** Ops stored since start (for snapshot scheduling and metrics). */
  committedOps = 0;
  committedMessages = 0;

  constructor(private readonly opts: JournalWriterOptions) {
    this.seq = opts.lastSeq;
    this.maxPartBytes = opts.maxPartBytes ?? 512 * 1024;
    this.giveUpAfterMs = opts.giveUpAfterMs ?? 10_000;
  }

  /** The sequence of the last stored journal message. */
  get lastSeq(): number {
    return this.seq;
  }

  get idle(): boolean {
    return !this.flushing && this.queue.length === 0 && !this.scheduled;
  }

  /**
   * Queues ops; resolves once they are stored. With no ops it resolves once everything appended
   * before is stored (a barrier for replies that read state not yet stored).
   */
  append(ops: Op[]): Promise<number> {
    if (this.failed) return Promise.reject(unavailable(this.failed));
    if (ops.length === 0) return this.barrier();
    let batch = this.open;
    if (!batch) {
      batch = this.newBatch();
      this.open = batch;
      this.queue.push(batch);
    }
    // Serialized when the batch is stored, all ops in one JSON.stringify (half the cost of one
    // call per op); ops are never changed once emitted, so the text is the same.
    for (const op of ops) batch.ops.push(op);
    this.schedule();
    return batch.done;
  }

  /** Resolves with the journal sequence once everything appended so far is stored. */
  barrier(): Promise<number> {
    if (this.failed) return Promise.reject(unavailable(this.failed));
    const last = this.queue[this.queue.length - 1] ?? this.inFlight;
    return last ? last.done : Promise.resolve(this.seq);
  }

  /**
   * Ends the open batch here, so nothing appended later shares its messages: resolves with the
   * sequence that covers exactly what was appended before (a snapshot cut point).
   */
  seal(): Promise<number> {
    this.open = undefined;
    return this.barrier();
  }

  /** Waits until everything appended is stored (or failed). */
  async drain(): Promise<void> {
    for (;;) {
      const last = this.queue[this.queue.length - 1] ?? this.inFlight;
      if (!last) return;
      await last.done.catch(() => undefined);
    }
  }

  private newBatch(): Batch {
    let resolve!: (seq: number) => void;
    let reject!: (err: Error) => void;
    const done = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers may not wait (events-only paths); an unobserved rejection must not crash the process.
    done.catch(() => undefined);
    return { number: ++this.batchNumber, ops: [], done, resolve, reject };
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.failed) {
        const batch = this.queue.shift()!;
        if (this.open === batch) this.open = undefined;
        this.inFlight = batch;
        try {
          const parts = await this.store(batch);
          this.committedOps += batch.ops.length;
          this.committedMessages += parts.length;
          this.inFlight = undefined;
          try {
            this.opts.onCommitted(parts);
          } catch (err) {
            this.opts.logger.error({ err }, 'after-commit handler failed');
          }
          batch.resolve(this.seq);
        } catch (err) {
          this.inFlight = undefined;
          this.fail(err as Error, batch);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async store(batch: Batch): Promise<CommittedPart[]> {
    const all = JSON.stringify(batch.ops);
    const groups =
      all.length + PART_OVERHEAD <= this.maxPartBytes
        ? [{ json: all, ops: batch.ops }]
        : split(batch.ops, this.maxPartBytes);
    const g = `${this.opts.writerId}.${batch.number}`;
    const parts: CommittedPart[] = [];
    for (let p = 0; p < groups.length; p++) {
      const { json, ops } = groups[p]!;
      const body = `{"g":"${g}","p":${p},"n":${groups.length},"ops":${json}}`;
      const seq = await this.publishWithRetry(body, `${g}.${p}`);
      this.seq = seq;
      parts.push({ seq, ops, body });
    }
    return parts;
  }

  private async publishWithRetry(body: string, msgId: string): Promise<number> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.opts.transport.publish(body, msgId, this.seq);
      } catch (err) {
        if (isWrongLastSequence(err)) {
          throw new Error(`another process wrote to the journal (expected last sequence ${this.seq})`, {
            cause: err,
          });
        }
        if (Date.now() - started > this.giveUpAfterMs) {
          throw new Error(`the journal could not be written for ${this.giveUpAfterMs} ms`, { cause: err });
        }
        this.opts.logger.warn({ err, attempt }, 'journal write failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  private fail(err: Error, batch: Batch): void {
    this.failed = err;
    batch.reject(unavailable(err));
    for (const b of this.queue.splice(0)) b.reject(unavailable(err));
    this.open = undefined;
    this.opts.logger.fatal({ err }, 'journal write failed for good; stopping so that state is rebuilt');
    this.opts.onFatal(err);
  }
}

/** Cuts a batch too big for one message into parts of at most ~maxBytes characters of JSON. */
function split(ops: Op[], maxBytes: number): Array<{ json: string; ops: Op[] }> {
  const groups: Array<{ json: string; ops: Op[] }> = [];
  let jsons: string[] = [];
  let current: Op[] = [];
  let bytes = PART_OVERHEAD;
  const close = () => groups.push({ json: `[${jsons.join(',')}]`, ops: current });
  for (const op of ops) {
    const json = JSON.stringify(op);
    if (current.length > 0 && bytes + json.length + 1 > maxBytes) {
      close();
      jsons = [];
      current = [];
      bytes = PART_OVERHEAD;
    }
    jsons.push(json);
    current.push(op);
    bytes += json.length + 1;
  }
  close();
  return groups;
}

function unavailable(err: Error): JoustingError {
  return new JoustingError('unavailable', `the coordinator cannot store changes: ${err.message}`);
}

export function isWrongLastSequence(err: unknown): boolean {
  const text =
    err instanceof Error ? `${err.message} ${String((err as { code?: unknown }).code ?? '')}` : String(err);
  return /wrong last sequence|10071/i.test(text);
}

/**
 * Reassembles journal messages into complete groups, in order. A group whose parts stop short
 * (the writer died mid-flush) was never acknowledged and is skipped.
 */
export class GroupAssembler {
  private pending: { g: string; parts: CommittedPart[]; n: number } | undefined;
  /** Groups dropped because they were incomplete. */
  dropped = 0;

  /** Feeds one message; returns the parts of a group that just became complete. */
  push(seq: number, part: JournalPart, body = ''): CommittedPart[] | undefined {
    if (this.pending && (this.pending.g !== part.g || part.p !== this.pending.parts.length)) {
      this.dropped++;
      this.pending = undefined;
    }
    if (part.p !== 0 && !this.pending) return undefined;
    if (!this.pending) this.pending = { g: part.g, parts: [], n: part.n };
    this.pending.parts.push({ seq, ops: part.ops, body });
    if (this.pending.parts.length < this.pending.n) return undefined;
    const done = this.pending.parts;
    this.pending = undefined;
    return done;
  }
}
