import { createHash } from 'node:crypto';
import { type AuditWriter, type EventPublisher, type Logger, newId } from '@jousting/bus';
import {
  type ClaimedTask,
  type DeadLetterFilter,
  JoustingError,
  MAX_LISTED_CASCADE,
  type ParsedNewTask,
  type TaskDetail,
  type TaskFilter,
  type TaskPatch,
  type WorkerInfo,
  type WorkerReport,
  workerAbortSubject,
} from '@jousting/contracts';
import type { NatsConnection } from '@nats-io/nats-core';
import type { z } from 'zod';
import { toDeadLetter } from './dead-letters.js';
import { type EventRelay, InlineEventRelay, type PartForEvents, ThreadEventRelay } from './event-relay.js';
import { type CommittedPart, GroupAssembler, JournalWriter } from './journal.js';
import { LeaseTable } from './leases.js';
import { graphOf, listTasks, progressOf } from './read-model.js';
import { type BackoffOptions, DEFAULT_BACKOFF, decideRetry } from './retry-policy.js';
import { loadSnapshot, SnapshotBuilder } from './snapshot.js';
import type { CoordinatorStore, OutputLineAt } from './store.js';
import { type TaskRecord, toSummary, toTask } from './task-record.js';
import { type Change, TaskTable } from './task-table.js';
import { type WorkerHello, type WorkerRecord, WorkerRegistry } from './workers.js';

export interface CoordinatorOptions {
  store: CoordinatorStore;
  nc: NatsConnection;
  events: EventPublisher;
  audit: AuditWriter;
  logger: Logger;
  instanceId: string;
  leaseMs: number;
  snapshotIntervalMs: number;
  snapshotEveryOps: number;
  snapshotOnStop: boolean;
  /** The journal cannot be written: stop the process (default: exit 1). */
  onFatal: (err: Error) => void;
  /** Retries after a transient or limit failure before the task is dead-lettered (setting maxTaskRetries). */
  maxTaskRetries: number;
  /** The retry wait schedule (default 1 s ×4 per retry, at most 5 min, ±20 %). */
  backoff?: BackoffOptions;
  /** Publish events from a worker thread with its own connection to these servers (else inline). */
  eventThread?: { servers: string; name: string };
}

type ClaimReply = { tasks: ClaimedTask[] };
interface Waiter {
  workerId: string;
  max: number;
  resolve: (reply: ClaimReply) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

const LIVE = new Set(['assigned', 'running']);
/** Output lines kept in memory per running task, for TaskDetail without a stream read. */
const LIVE_OUTPUT_LINES = 200;
/** TaskDetail.output returns at most this many of the newest lines. */
export const DETAIL_OUTPUT_LINES = 200;
/** Events of journal messages this recent are re-sent at start when nothing says they went out. */
const REPUBLISH_WINDOW_MS = 90_000;
/** The EVENTS duplicate window (120 s) with a margin: older journal messages are never re-sent. */
const DEDUP_WINDOW_MS = 110_000;

/**
 * The coordinator at run time: the task table in memory, the journal behind it, and everything
 * with a clock or a connection — leases, workers, long-poll claims, events, audit, snapshots.
 * One process owns the state (single writer); see README for the durability rules.
 */
export class Coordinator {
  readonly table: TaskTable;
  readonly leases: LeaseTable;
  readonly workers: WorkerRegistry;
  private journal!: JournalWriter;
  private relay!: EventRelay;
  private waiters: Waiter[] = [];
  private dispatchScheduled = false;
  private readonly liveOutput = new Map<string, OutputLineAt[]>();
  private readonly progress = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private maxTaskRetries: number;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotting: Promise<void> | undefined;
  private opsAtLastSnapshot = 0;
  /** Recent commits (journal seq, time), to know which journal messages left the dedup window. */
  private readonly recentCommits: Array<{ seq: number; at: number }> = [];
  private stopped = false;
  readonly heartbeatMs: number;
  /** How the state was rebuilt at start. */
  recovery = { snapshotSeq: 0, replayedOps: 0, republishedMessages: 0, ms: 0 };

  constructor(private readonly opts: CoordinatorOptions) {
    this.maxTaskRetries = opts.maxTaskRetries;
    const backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.table = new TaskTable({
      newId: () => newId(),
      decideFailure: (_task, error, failures) =>
        decideRetry(error.class, failures, this.maxTaskRetries, backoff),
    });
    this.leases = new LeaseTable(opts.leaseMs);
    this.heartbeatMs = Math.max(1, Math.round(opts.leaseMs / 3));
    this.workers = new WorkerRegistry(3 * this.heartbeatMs);
  }

  /** Rebuilds the state from the newest snapshot and the journal after it, then starts serving. */
  async start(): Promise<void> {
    const started = performance.now();
    this.relay = await this.startRelay();
    try {
      await this.rebuild(started);
    } catch (err) {
      await this.relay.close().catch(() => undefined);
      throw err;
    }
    this.armRetryTimer();
    const tickMs = Math.min(1000, Math.max(10, Math.round(this.opts.leaseMs / 10)));
    this.ticker = setInterval(() => this.tick(), tickMs);
    this.snapshotTimer = setInterval(() => {
      if (this.journal.committedOps > this.opsAtLastSnapshot) void this.snapshot();
    }, this.opts.snapshotIntervalMs);
  }

  private async rebuild(started: number): Promise<void> {
    const { store, logger } = this.opts;
    const snapshot = await store.readSnapshot();
    let covered = 0;
    if (snapshot) {
      covered = loadSnapshot(this.table, snapshot.text).seq;
    }
    const loadedMs = performance.now() - started;
    const announced = await store.lastAnnouncedJournalSeq();
    const bounds = await store.journalBounds();
    const assembler = new GroupAssembler();
    const republish: CommittedPart[] = [];
    let replayedOps = 0;
    const now = Date.now();
    for await (const message of store.readJournal(bounds.first)) {
      const parts = assembler.push(message.seq, message.part, message.body);
      if (!parts) continue;
      const lastSeq = parts[parts.length - 1]!.seq;
      if (lastSeq > covered) {
        for (const part of parts) {
          for (const op of part.ops) this.table.apply(op);
          replayedOps += part.ops.length;
        }
      }
      const unsent =
        announced !== undefined && announced <= bounds.last
          ? lastSeq >= announced
          : now - message.time < REPUBLISH_WINDOW_MS;
      if (unsent && now - message.time < DEDUP_WINDOW_MS) republish.push(...parts);
    }
    this.journal = new JournalWriter({
      transport: store.journal,
      lastSeq: bounds.last,
      writerId: this.opts.instanceId,
      logger,
      onCommitted: (parts) => this.onCommitted(parts),
      onFatal: (err) => {
        this.stopped = true;
        this.opts.onFatal(err);
      },
    });
    for (const task of this.table.ordered) {
      if (LIVE.has(task.status)) {
        const attempt = task.currentAttempt!;
        this.leases.grant(task.id, attempt.number, attempt.workerId);
      }
    }
    this.emitEvents(republish);
    await this.relay.drain();
    this.recovery = {
      snapshotSeq: covered,
      replayedOps,
      republishedMessages: republish.length,
      ms: Math.round(performance.now() - started),
    };
    logger.info(
      {
        tasks: this.table.size,
        snapshotSeq: covered || undefined,
        snapshotLoadMs: Math.round(loadedMs),
        replayedOps,
        droppedIncompleteGroups: assembler.dropped || undefined,
        republishedMessages: republish.length,
        journalLastSeq: bounds.last,
        ms: Math.round(performance.now() - started),
      },
      'coordinator state rebuilt',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearInterval(this.snapshotTimer);
    clearTimeout(this.retryTimer);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve({ tasks: [] });
    }
    await this.journal.drain();
    await this.relay.close();
    await this.snapshotting;
    if (this.opts.snapshotOnStop && this.journal.committedOps > this.opsAtLastSnapshot) {
      await this.snapshot().catch((err) => this.opts.logger.warn({ err }, 'final snapshot failed'));
    }
  }

  // ------------------------------------------------------------------ operator commands

  async create(
    tasks: ParsedNewTask[],
    meta: { idempotencyKey?: string; actor: string; traceId: string; batch: boolean },
  ) {
    const result = this.table.create(tasks, {
      ...(meta.idempotencyKey === undefined ? {} : { idempotencyKey: meta.idempotencyKey }),
      actor: meta.actor,
      traceId: meta.traceId,
      field: meta.batch ? (i) => `tasks.${i}` : () => 'task',
    });
    await this.commit(result.change);
    if (result.created) {
      await this.record(
        meta.actor,
        meta.batch ? 'created-batch' : 'created',
        result.tasks.map((t) => t.id).join(','),
        {
          after: { count: result.tasks.length, ids: result.tasks.slice(0, 100).map((t) => t.id) },
          traceId: meta.traceId,
        },
      );
    }
    return { tasks: result.tasks.map(toTask), created: result.created };
  }

  async update(id: string, patch: TaskPatch, actor: string, traceId: string) {
    const before = this.table.get(id);
    const snapshotBefore = before ? pickPatchFields(before) : undefined;
    const { task, change } = this.table.update(id, patch);
    await this.commit(change);
    if (change.ops.length) {
      await this.record(actor, 'updated', id, {
        before: snapshotBefore,
        after: pickPatchFields(task),
        traceId,
      });
    }
    return toTask(task);
  }

  async cancel(id: string, reason: string | undefined, actor: string, traceId: string) {
    const { task, cascaded, change } = this.table.cancel(id, reason);
    await this.commit(change);
    await this.record(actor, 'canceled', id, {
      // Bounded: a cascade can reach every task, and a NATS message holds 1 MiB.
      after: {
        status: 'canceled',
        reason,
        cascadedCount: cascaded.length,
        cascaded: cascaded.slice(0, 100).map((c) => c.id),
      },
      traceId,
    });
    return {
      task: toTask(task),
      cascaded: cascaded.slice(0, MAX_LISTED_CASCADE),
      cascadedTotal: cascaded.length,
    };
  }

  async retry(id: string, actor: string, traceId: string) {
    const from = this.table.get(id)?.status;
    const { task, change } = this.table.retry(id, actor);
    await this.commit(change);
    await this.record(actor, 'retried', id, {
      before: { status: from },
      after: { status: task.status },
      traceId,
    });
    return toTask(task);
  }

  // ------------------------------------------------------------------ failures and dead letters

  /** The current retry limit. */
  get retryLimit(): number {
    return this.maxTaskRetries;
  }

  /** Applies a changed maxTaskRetries at once (next failures use it); announces it when it changed. */
  reconfigure(settings: { maxTaskRetries?: number }, actor: string): void {
    const next = settings.maxTaskRetries;
    if (next === undefined || next === this.maxTaskRetries) return;
    this.maxTaskRetries = next;
    this.opts.logger.info({ maxTaskRetries: next, actor }, 'coordinator reconfigured');
    this.emitSafely(() =>
      this.opts.events.emit('coord.reconfigured', { applied: { maxTaskRetries: next }, actor }),
    );
  }

  deadLetters(filter: DeadLetterFilter & { limit: number; offset: number }) {
    return this.table.deadLetters.list(filter);
  }

  async retryDeadLetter(
    id: string,
    patch: { priority?: number; labels?: string[] },
    actor: string,
    traceId: string,
  ) {
    const before = this.table.deadLetters.get(id);
    const { task, change } = this.table.retryDeadLetter(id, patch, actor);
    await this.commit(change);
    await this.record(actor, 'dead-letter-retried', id, {
      before: before ? { status: before.status, attempts: before.attempts } : undefined,
      after: { status: task.status, priority: task.priority, labels: [...task.labels] },
      traceId,
    });
    return toTask(task);
  }

  async dismissDeadLetter(id: string, reason: string, actor: string, traceId: string) {
    const before = this.table.deadLetters.get(id)?.status;
    const change = this.table.dismissDeadLetter(id, reason, actor);
    await this.commit(change);
    await this.record(actor, 'dead-letter-dismissed', id, {
      before: { status: before },
      after: { status: 'dismissed', reason },
      traceId,
    });
    return toDeadLetter(this.table.deadLetters.get(id)!);
  }

  async addDep(id: string, depId: string, actor: string, traceId: string) {
    const { task, change } = this.table.addDep(id, depId);
    await this.commit(change);
    if (change.ops.length) await this.record(actor, 'dep-added', id, { after: { depId }, traceId });
    return toTask(task);
  }

  async removeDep(id: string, depId: string, actor: string, traceId: string) {
    const { task, change } = this.table.removeDep(id, depId);
    await this.commit(change);
    if (change.ops.length) await this.record(actor, 'dep-removed', id, { after: { depId }, traceId });
    return toTask(task);
  }

  async get(id: string): Promise<TaskDetail> {
    const task = this.table.mustGet(id);
    const detail: TaskDetail = {
      ...toTask(task),
      dependents: [...task.dependents],
      output: [],
    };
    const progress = this.progress.get(id);
    if (progress !== undefined) detail.progress = progress;
    const live = this.liveOutput.get(id);
    detail.output = live
      ? live.slice(-DETAIL_OUTPUT_LINES)
      : await this.opts.store.readOutput(id, DETAIL_OUTPUT_LINES);
    return detail;
  }

  list(filter: z.output<typeof TaskFilter>) {
    return listTasks(this.table, filter);
  }

  graph() {
    return graphOf(this.table);
  }

  progressReport() {
    return progressOf(this.table);
  }

  workerList(): WorkerInfo[] {
    return this.workers.all().map((w) => this.workerInfo(w));
  }

  // ------------------------------------------------------------------ worker protocol

  hello(h: WorkerHello) {
    const { worker, joined } = this.workers.hello(h);
    if (joined) {
      this.opts.logger.info(
        { workerId: worker.id, kinds: worker.kinds, capacity: worker.capacity },
        'worker joined',
      );
      this.emitSafely(() =>
        this.opts.events.emit(
          'coord.worker-joined',
          { worker: this.workerInfo(worker) },
          { id: `coord-worker-joined-${worker.id}-${worker.connectedAt}`, subject: worker.id },
        ),
      );
    }
    if (this.table.ready.size > 0 && this.waiters.length > 0) this.scheduleDispatch();
    return { heartbeatMs: this.heartbeatMs, leaseMs: this.opts.leaseMs };
  }

  async claim(workerId: string, max: number, waitMs: number): Promise<ClaimReply> {
    const worker = this.requireWorker(workerId);
    const claimed = this.tryClaim(worker, max);
    if (claimed) return claimed;
    if (waitMs <= 0 || this.stopped) return { tasks: [] };
    return new Promise<ClaimReply>((resolve, reject) => {
      const waiter: Waiter = {
        workerId,
        max,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          resolve({ tasks: [] });
        }, waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  async report(workerId: string, reports: WorkerReport[]) {
    this.requireWorker(workerId);
    const merged: Change = { ops: [], aborts: [] };
    const results: Array<{
      taskId: string;
      attempt: number;
      ok: boolean;
      error?: { code: string; message: string };
    }> = [];
    const output = new Map<string, { attempt: number; lines: OutputLineAt[] }>();
    const at = new Date().toISOString();
    for (const report of reports) {
      const { taskId, attempt } = report;
      try {
        let change: Change | undefined;
        switch (report.type) {
          case 'started':
            change = this.table.started(workerId, taskId, attempt);
            break;
          case 'heartbeat': {
            this.table.liveAttempt(workerId, taskId, attempt);
            if (report.progress !== undefined) this.progress.set(taskId, report.progress);
            if (report.output?.length) {
              const entry = output.get(taskId) ?? { attempt, lines: [] };
              for (const line of report.output)
                entry.lines.push({ at, stream: line.stream, line: line.line });
              output.set(taskId, entry);
            }
            break;
          }
          case 'completed':
            change = this.table.completed(workerId, taskId, attempt, report.result, report.cost);
            break;
          case 'failed':
            change = this.table.failed(
              workerId,
              taskId,
              attempt,
              report.errorClass,
              report.message,
              report.cost,
            );
            break;
          case 'released':
            change = this.table.released(workerId, taskId, attempt, report.reason);
            break;
        }
        this.leases.renew(taskId, attempt);
        if (change) {
          // Leases and waiting claims must see each change before the next item is handled.
          this.afterChange(change);
          merged.ops.push(...change.ops);
          merged.aborts.push(...change.aborts);
        }
        results.push({ taskId, attempt, ok: true });
      } catch (err) {
        if (!(err instanceof JoustingError)) throw err;
        results.push({ taskId, attempt, ok: false, error: { code: err.code, message: err.message } });
      }
    }
    const stored = this.journal.append(merged.ops);
    const outputs = [...output].map(([taskId, entry]) =>
      this.storeOutput(taskId, entry.attempt, entry.lines),
    );
    await Promise.all([stored, ...outputs]);
    this.sendAborts(merged);
    return { results };
  }

  async bye(workerId: string, release: boolean) {
    const worker = this.workers.get(workerId);
    // Leave first: a claim of this worker still waiting must not be handed what it releases.
    if (worker && this.workers.leave(workerId)) this.workerLeft(worker, 'bye');
    let released: string[] = [];
    if (release) {
      const { ids, change } = this.table.releaseWorker(workerId, `worker ${workerId} left`);
      released = ids;
      await this.commit(change);
    }
    return { released };
  }

  // ------------------------------------------------------------------ internals

  /** Journals a change, then publishes its aborts; leases and claims see it at once. */
  private async commit(change: Change): Promise<void> {
    const stored = this.journal.append(change.ops);
    this.afterChange(change);
    await stored;
    this.sendAborts(change);
  }

  private afterChange(change: Change): void {
    let wake = false;
    for (const op of change.ops) {
      if (op.o === 'st') {
        if (op.to === 'assigned') this.leases.grant(op.id, op.a!, op.w!);
        else if (op.to === 'running') this.leases.renew(op.id, op.a!);
        else if (LIVE.has(op.from)) {
          this.leases.release(op.id);
          this.liveOutput.delete(op.id);
          this.progress.delete(op.id);
          wake = true;
        }
        if (op.to === 'queued') wake = true;
      } else if (op.o === 'wait') {
        this.armRetryTimer();
      } else if ((op.o === 'new' && op.status === 'queued') || op.o === 'edit') {
        wake = true;
      }
    }
    if (wake && this.waiters.length > 0) this.scheduleDispatch();
  }

  /** Wakes up when the earliest waiting retry is due, to put it in the ready queue. */
  private armRetryTimer(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const due = this.table.nextDue();
    if (due === undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => this.releaseDueRetries(), Math.max(0, due - Date.now()));
  }

  private releaseDueRetries(): void {
    if (this.stopped) return;
    if (this.table.releaseDue(Date.now()) > 0 && this.waiters.length > 0) this.scheduleDispatch();
    this.armRetryTimer();
  }

  private sendAborts(change: Change): void {
    for (const abort of change.aborts) {
      this.opts.nc.publish(
        workerAbortSubject(abort.workerId),
        JSON.stringify({ taskId: abort.taskId, attempt: abort.attempt, reason: abort.reason }),
      );
    }
  }

  private tryClaim(worker: WorkerRecord, max: number): Promise<ClaimReply> | undefined {
    const free = worker.capacity - this.table.tasksOf(worker.id).size;
    const n = Math.min(max, free);
    if (n <= 0 || this.table.ready.size === 0) return undefined;
    const { tasks, change } = this.table.claim(worker, n);
    if (tasks.length === 0) return undefined;
    const reply = { tasks: tasks.map((t) => this.claimed(t)) };
    return this.commit(change).then(() => reply);
  }

  private claimed(task: TaskRecord): ClaimedTask {
    return {
      taskId: task.id,
      attempt: task.currentAttempt!.number,
      kind: task.kind,
      title: task.title,
      payload: JSON.parse(task.payloadJson) as Record<string, unknown>,
      traceId: task.traceId,
      leaseMs: this.opts.leaseMs,
    };
  }

  /**
   * Dispatch runs as a microtask: after every command of the current batch of messages, but before
   * the journal flush (a setImmediate), so a task and its assignment share one journal write.
   */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hands ready tasks to waiting claims, oldest claim first. */
  private dispatch(): void {
    for (const waiter of [...this.waiters]) {
      if (this.table.ready.size === 0) return;
      const worker = this.workers.get(waiter.workerId);
      if (worker?.status !== 'online') {
        this.removeWaiter(waiter);
        waiter.resolve({ tasks: [] });
        continue;
      }
      const claimed = this.tryClaim(worker, waiter.max);
      if (!claimed) continue;
      this.removeWaiter(waiter);
      claimed.then(waiter.resolve, waiter.reject);
    }
  }

  private removeWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private requireWorker(workerId: string): WorkerRecord {
    const worker = this.workers.seen(workerId);
    if (!worker) {
      throw new JoustingError(
        'not_found',
        `worker ${workerId} is not known (or timed out); say hello first`,
        {
          workerId,
        },
      );
    }
    return worker;
  }

  /** Leases that ran out, workers gone silent, and a snapshot when the journal grew a lot. */
  private tick(): void {
    if (this.stopped) return;
    const expired = this.leases.takeExpired();
    if (expired.length) {
      const merged: Change = { ops: [], aborts: [] };
      for (const lease of expired) {
        const change = this.table.expireLease(lease.taskId, lease.attempt, lease.workerId);
        merged.ops.push(...change.ops);
        merged.aborts.push(...change.aborts);
      }
      if (merged.ops.length) {
        this.opts.logger.warn({ tasks: merged.ops.length }, 'leases expired; tasks go back to the queue');
        this.commit(merged).catch((err) => this.opts.logger.error({ err }, 'could not store expired leases'));
      }
    }
    for (const worker of this.workers.takeTimedOut()) this.workerLeft(worker, 'timeout');
    if (this.journal.committedOps - this.opsAtLastSnapshot > this.opts.snapshotEveryOps) void this.snapshot();
  }

  private workerLeft(worker: WorkerRecord, reason: 'bye' | 'timeout'): void {
    this.opts.logger.info({ workerId: worker.id, reason }, 'worker left');
    for (const waiter of this.waiters.filter((w) => w.workerId === worker.id)) {
      this.removeWaiter(waiter);
      waiter.resolve({ tasks: [] });
    }
    this.emitSafely(() =>
      this.opts.events.emit(
        'coord.worker-left',
        { id: worker.id, reason },
        { id: `coord-worker-left-${worker.id}-${worker.lastSeenAt}`, subject: worker.id },
      ),
    );
  }

  private workerInfo(w: WorkerRecord): WorkerInfo {
    return {
      id: w.id,
      name: w.name,
      kinds: [...w.kinds],
      labels: [...w.labels],
      capacity: w.capacity,
      running: [...this.table.tasksOf(w.id)].map((t) => t.id),
      status: w.status,
      version: w.version,
      connectedAt: new Date(w.connectedAt).toISOString(),
      lastSeenAt: new Date(w.lastSeenAt).toISOString(),
    };
  }

  /** Publishes the events of stored journal parts, ids derived from the journal position. */
  private onCommitted(parts: CommittedPart[]): void {
    const at = Date.now();
    const seq = parts[parts.length - 1]!.seq;
    // One entry per second is precise enough and keeps this small at any commit rate.
    const last = this.recentCommits[this.recentCommits.length - 1];
    if (last && at - last.at < 1000) last.seq = seq;
    else this.recentCommits.push({ seq, at });
    while (this.recentCommits.length > 1 && at - this.recentCommits[0]!.at > 10 * 60_000)
      this.recentCommits.shift();
    this.emitEvents(parts);
  }

  /** Hands stored parts to the event relay, with the trace id of each op's task. */
  private emitEvents(parts: CommittedPart[]): void {
    if (parts.length === 0) return;
    const forEvents: PartForEvents[] = parts.map((part) => ({
      seq: part.seq,
      ops: part.ops,
      body: part.body,
      traces: part.ops.map((op) =>
        op.o === 'new' || op.o === 'idem'
          ? undefined
          : op.o === 'all'
            ? traceIdFor(`all-${part.seq}`)
            : this.table.get(op.id)?.traceId,
      ),
    }));
    this.relay.publish(forEvents);
  }

  private async startRelay(): Promise<EventRelay> {
    const { eventThread, events, nc, logger } = this.opts;
    // From TypeScript sources (tests) there is no compiled thread script to start.
    if (eventThread && import.meta.url.endsWith('.js')) {
      return ThreadEventRelay.start({
        servers: eventThread.servers,
        name: eventThread.name,
        source: '/jousting/coordinator',
        logger,
        onFatal: (err) => {
          logger.fatal({ err }, 'the event thread died; stopping so that unsent events are re-sent at start');
          this.stopped = true;
          this.opts.onFatal(err);
        },
      });
    }
    return new InlineEventRelay(events, nc, logger);
  }

  private emitSafely(emit: () => unknown): void {
    try {
      emit();
    } catch (err) {
      this.opts.logger.error({ err }, 'could not publish an event');
    }
  }

  private async storeOutput(taskId: string, attempt: number, lines: OutputLineAt[]): Promise<void> {
    const live = this.liveOutput.get(taskId) ?? [];
    live.push(...lines);
    if (live.length > LIVE_OUTPUT_LINES) live.splice(0, live.length - LIVE_OUTPUT_LINES);
    if (LIVE.has(this.table.get(taskId)?.status ?? '')) this.liveOutput.set(taskId, live);
    const stored = await this.opts.store.appendOutput(taskId, attempt, lines);
    const traceId = this.table.get(taskId)?.traceId;
    for (const message of stored) {
      this.emitSafely(() =>
        this.opts.events.emit(
          'coord.task-output',
          { id: taskId, attempt, lines: message.lines },
          { id: `coord-out-${message.seq}`, subject: taskId, ...(traceId ? { traceId } : {}) },
        ),
      );
    }
  }

  private async record(
    actor: string,
    action: string,
    target: string,
    entry: { before?: unknown; after?: unknown; traceId?: string },
  ): Promise<void> {
    try {
      await this.opts.audit.record({
        actor,
        domain: 'coord',
        action,
        target: target.length > 500 ? `${target.slice(0, 497)}...` : target,
        ...(entry.before === undefined ? {} : { before: entry.before }),
        ...(entry.after === undefined ? {} : { after: entry.after }),
        ...(entry.traceId ? { traceid: entry.traceId } : {}),
      });
    } catch (err) {
      // The change itself is stored; a missing audit entry is logged, not turned into a failure.
      this.opts.logger.error({ err, action, target }, 'could not write the audit entry');
    }
  }

  /**
   * Writes a snapshot without stopping the table (copy-on-write, serialized and encoded in 4 ms
   * slices), then purges the journal messages it covers whose events are known to be out.
   */
  snapshot(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const run = async () => {
      const started = performance.now();
      const opsAtCut = this.journal.committedOps;
      const builder = new SnapshotBuilder(this.table, Date.now());
      let seq: number;
      try {
        const sealed = this.journal.seal();
        // Slices of 4 ms with 4 ms rests, to leave CPU to the NATS server and the workers on small
        // machines (a snapshot is not urgent; the effect on latency was within noise here).
        while (!builder.step(SNAPSHOT_SLICE_MS)) await new Promise((r) => setTimeout(r, SNAPSHOT_SLICE_MS));
        seq = await sealed;
      } catch (err) {
        builder.release();
        throw err;
      }
      // Encoded in slices too: one join + encode of a big table stalled dispatch for ~200 ms.
      const encoded = await builder.finishPieces(seq);
      const head = await this.opts.store.writeSnapshot(encoded, seq, builder.header.count);
      this.opsAtLastSnapshot = Math.max(opsAtCut, this.opsAtLastSnapshot);
      const announced = await this.opts.store.lastAnnouncedJournalSeq();
      const outOfWindow =
        this.recentCommits.filter((c) => Date.now() - c.at > DEDUP_WINDOW_MS).pop()?.seq ?? 0;
      const purgeTo = Math.min(seq, Math.max(announced === undefined ? 0 : announced - 1, outOfWindow));
      const purged = purgeTo > 0 ? await this.opts.store.purgeJournal(purgeTo) : 0;
      this.opts.logger.info(
        {
          tasks: head.count,
          seq,
          bytes: head.bytes,
          chunks: head.chunks.length,
          purged,
          ms: Math.round(performance.now() - started),
        },
        'snapshot written',
      );
    };
    this.snapshotting = run()
      .catch((err) =>
        this.opts.logger.error({ err }, 'snapshot failed; the journal keeps everything meanwhile'),
      )
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }

  /** Everything appended so far is stored (for tests). */
  settled(): Promise<number> {
    return this.journal.barrier();
  }
}

function pickPatchFields(t: TaskRecord) {
  const s = toSummary(t);
  return {
    title: s.title,
    priority: s.priority,
    labels: s.labels,
    description: t.description,
    payload: JSON.parse(t.payloadJson),
  };
}

const SNAPSHOT_SLICE_MS = 4;

const traceIdFor = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 32);
