import { createHash } from 'node:crypto';
import { type AuditWriter, type EventPublisher, type Logger, newId } from '@jousting/bus';
import {
  type BulkResult,
  type BulkSelection,
  type ClaimedTask,
  type CoordState,
  DEFAULT_SETTINGS,
  type DeadLetterFilter,
  type GrantReply,
  JoustingError,
  MAX_LISTED_CASCADE,
  METERED_KINDS,
  type ParsedNewTask,
  type Replicas,
  type TaskDetail,
  type TaskFilter,
  type TaskPatch,
  type Template,
  type TemplateInput,
  type TemplateTask,
  type WorkerInfo,
  type WorkerReport,
  workerAbortSubject,
} from '@jousting/contracts';
import type { NatsConnection } from '@nats-io/nats-core';
import type { z } from 'zod';
import { toDeadLetter } from './dead-letters.js';
import { type EventRelay, InlineEventRelay, type PartForEvents, ThreadEventRelay } from './event-relay.js';
import { eventId } from './events-from-ops.js';
import { type CommittedPart, GroupAssembler, JournalWriter } from './journal.js';
import { LeaseTable } from './leases.js';
import { Lifecycle, type LifecycleEvent, LifecycleRecord } from './lifecycle.js';
import { type BudgetSignal, BudgetTracker } from './policies/budgets.js';
import {
  type CircuitBreakerOptions,
  CircuitBreakers,
  type CircuitTransition,
} from './policies/circuit-breaker.js';
import { AdaptiveRateLimiter, type RateAdjustment } from './policies/rate-limiter.js';
import { findStale } from './policies/stale.js';
import { graphOf, listTasks, progressOf, taskMatcher } from './read-model.js';
import { type BackoffOptions, DEFAULT_BACKOFF, decideRetry } from './retry-policy.js';
import { loadSnapshot, SnapshotBuilder } from './snapshot.js';
import type { CoordinatorStore, OutputLineAt } from './store.js';
import { type TaskRecord, toSummary, toTask } from './task-record.js';
import { type Change, TaskTable } from './task-table.js';
import { instantiate, TemplateStore } from './templates.js';
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
  /** The leader lease's view of the coordinator processes, for the state reply. */
  replicas?: () => Replicas;
  /** Retries after a transient or limit failure before the task is dead-lettered (setting maxTaskRetries). */
  maxTaskRetries: number;
  /** The other policy settings at start (the settings service's values; defaults otherwise). */
  settings?: Partial<PolicySettings>;
  /** Circuit breaker thresholds (default 3 failures, 30 s cool-down). */
  circuit?: Partial<CircuitBreakerOptions>;
  /** How often running tasks are checked for staleness (default 5 s). */
  staleCheckMs?: number;
  /** The retry wait schedule (default 1 s ×4 per retry, at most 5 min, ±20 %). */
  backoff?: BackoffOptions;
  /** Publish events from a worker thread with its own connection to these servers (else inline). */
  eventThread?: { servers: string; name: string };
}

type ClaimReply = { tasks: ClaimedTask[] };
type CreateMeta = { idempotencyKey?: string; actor: string; traceId: string; batch: boolean };

/** The settings the coordinator follows live. */
export interface PolicySettings {
  maxTaskRetries: number;
  staleTaskMinutes: number;
  coordMaxRequestsPerMinute: number;
  coordMaxTokensPerMinute: number;
  coordGlobalBudgetUsd: number;
  coordPerWorkerBudgetUsd: number;
}
export const POLICY_SETTING_KEYS = [
  'maxTaskRetries',
  'staleTaskMinutes',
  'coordMaxRequestsPerMinute',
  'coordMaxTokensPerMinute',
  'coordGlobalBudgetUsd',
  'coordPerWorkerBudgetUsd',
] as const satisfies ReadonlyArray<keyof PolicySettings>;

const METERED = new Set(METERED_KINDS);
/** Most tasks one bulk request acts on when it selects by filter. */
const MAX_BULK_MATCH = 10_000;
type Cost = { usd: number; inputTokens: number; outputTokens: number };
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
/**
 * Events of journal messages this recent are re-sent at start when no journal event is stored;
 * the journal keeps messages this long after a snapshot unless their events are known stored.
 */
const REPUBLISH_WINDOW_MS = 90_000;

/** A stored journal part whose events go out from `fromIndex` on (all of them by default). */
type ResentPart = CommittedPart & { fromIndex?: number };

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
  private policy: PolicySettings;
  readonly limiter: AdaptiveRateLimiter;
  readonly budgets = new BudgetTracker();
  readonly circuits: CircuitBreakers;
  private lifecycle = new Lifecycle(undefined);
  private templates!: TemplateStore;
  /** Running tasks: when each last started, reported progress or wrote output (stale check). */
  readonly lastActivity = new Map<string, number>();
  /** Usage reported during a live attempt, so its final cost is not counted twice. */
  private readonly reportedUsage = new Map<string, { attempt: number } & Cost>();
  private lastStaleCheck = 0;
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
    this.policy = { ...pickPolicy(DEFAULT_SETTINGS), ...opts.settings, maxTaskRetries: opts.maxTaskRetries };
    this.limiter = new AdaptiveRateLimiter(rateLimitsOf(this.policy));
    this.budgets.configure(budgetLimitsOf(this.policy));
    this.circuits = new CircuitBreakers(opts.circuit ?? {});
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
    await this.startPolicies();
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
    const announced = await store.lastAnnouncedEvent();
    const bounds = await store.journalBounds();
    const assembler = new GroupAssembler();
    const republish: ResentPart[] = [];
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
      if (announced !== undefined && announced.seq <= bounds.last) {
        // Exactly what follows the newest stored event: events carry no Nats-Msg-Id to dedup on.
        for (const part of parts) {
          if (part.seq > announced.seq) republish.push(part);
          else if (part.seq === announced.seq && announced.index + 1 < part.ops.length)
            republish.push({ ...part, fromIndex: announced.index + 1 });
        }
      } else if (now - message.time < REPUBLISH_WINDOW_MS) {
        // No journal event stored (a new EVENTS stream, or one from before this journal): the
        // recent messages' events may be missing; older ones were sent long ago.
        republish.push(...parts);
      }
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
        eventsStoredUpTo: announced ? eventId(announced.seq, announced.index) : undefined,
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

  async create(tasks: ParsedNewTask[], meta: CreateMeta) {
    const result = await this.createRecords(tasks, meta);
    return { tasks: result.tasks.map(toTask), created: result.created };
  }

  /** Like create, answering with the ids only: no records to build, send and decode. */
  async createIds(tasks: ParsedNewTask[], meta: CreateMeta) {
    const result = await this.createRecords(tasks, meta);
    return { ids: result.tasks.map((t) => t.id), created: result.created };
  }

  private async createRecords(tasks: ParsedNewTask[], meta: CreateMeta) {
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
    return result;
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

  /**
   * Applies changed policy settings at once (limits, budgets, retries, staleness) and announces
   * what changed with `coord.reconfigured`.
   */
  reconfigure(settings: Partial<PolicySettings>, actor: string): void {
    const applied: Partial<PolicySettings> = {};
    for (const key of POLICY_SETTING_KEYS) {
      const next = settings[key];
      if (next !== undefined && next !== this.policy[key]) applied[key] = next;
    }
    if (Object.keys(applied).length === 0) return;
    this.policy = { ...this.policy, ...applied };
    this.maxTaskRetries = this.policy.maxTaskRetries;
    if (applied.coordMaxRequestsPerMinute !== undefined || applied.coordMaxTokensPerMinute !== undefined) {
      const from = this.limiter.state().effective;
      this.limiter.configure(rateLimitsOf(this.policy));
      const to = this.limiter.state().effective;
      this.emitSafely(() =>
        this.opts.events.emit('coord.rate-adjusted', {
          from,
          to,
          level: this.limiter.state().level,
          reason: 'reconfigured',
        }),
      );
    }
    if (applied.coordGlobalBudgetUsd !== undefined || applied.coordPerWorkerBudgetUsd !== undefined) {
      this.onBudgetSignals(this.budgets.configure(budgetLimitsOf(this.policy)));
    }
    this.opts.logger.info({ applied, actor }, 'coordinator reconfigured');
    this.emitSafely(() => this.opts.events.emit('coord.reconfigured', { applied, actor }));
    this.scheduleDispatch();
  }

  /** The settings in force. */
  get policySettings(): Readonly<PolicySettings> {
    return this.policy;
  }

  // ------------------------------------------------------------------ lifecycle and policies

  state(): CoordState {
    const rate = this.limiter.state();
    const record = this.lifecycle.record;
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return {
      state: record.state,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
      since: iso(record.since)!,
      ...(record.deadline === undefined ? {} : { drainDeadline: iso(record.deadline)! }),
      rate: {
        configured: rate.configured,
        effective: rate.effective,
        level: rate.level,
        requestsAvailable: Math.floor(rate.requestsAvailable),
        tokensAvailable: Math.floor(rate.tokensAvailable),
        limitErrorsInWindow: rate.limitErrorsInWindow,
        ...(rate.lastAdjustedAt === undefined ? {} : { lastAdjustedAt: iso(rate.lastAdjustedAt)! }),
      },
      budgets: this.budgets.state(),
      circuits: this.circuits.state().map((c) => ({
        workerId: c.workerId,
        state: c.state,
        consecutiveFailures: c.consecutiveFailures,
        ...(c.openedAt === undefined ? {} : { openedAt: iso(c.openedAt)! }),
        ...(c.retryAt === undefined ? {} : { retryAt: iso(c.retryAt)! }),
      })),
      settings: {
        maxTaskRetries: this.policy.maxTaskRetries,
        staleTaskMinutes: this.policy.staleTaskMinutes,
      },
      counts: {
        queued: this.table.counts.queued,
        running: this.liveCount(),
        blocked: this.table.counts.blocked,
      },
      meteredKinds: [...METERED_KINDS],
      ...(this.opts.replicas ? { replicas: this.opts.replicas() } : {}),
    };
  }

  async drain(
    timeoutSeconds: number | undefined,
    reason: string | undefined,
    actor: string,
    traceId: string,
  ) {
    const before = this.lifecycle.state;
    const events = this.lifecycle.drain(
      actor,
      reason ?? 'drain requested',
      timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
    );
    await this.lifecycleChanged(events, 'drained', before, traceId);
    // Nothing running: the drain is over at once.
    await this.settleLifecycle();
    return this.state();
  }

  async pause(reason: string | undefined, actor: string, traceId: string) {
    const before = this.lifecycle.state;
    await this.lifecycleChanged(
      this.lifecycle.pause(actor, reason ?? 'paused by an operator'),
      'paused',
      before,
      traceId,
    );
    return this.state();
  }

  async resume(actor: string, traceId: string) {
    if (this.budgets.globalExceeded()) {
      const { global } = this.budgets.state();
      throw new JoustingError(
        'conflict',
        `the global budget is exceeded (${global.spentUsd} of ${global.budgetUsd} USD spent); raise coordGlobalBudgetUsd first`,
        { spentUsd: global.spentUsd, budgetUsd: global.budgetUsd },
      );
    }
    const before = this.lifecycle.state;
    await this.lifecycleChanged(this.lifecycle.resume(actor), 'resumed', before, traceId);
    return this.state();
  }

  /** A worker asks before a provider call: one request from the limits, or how long to wait. */
  grant(workerId: string): GrantReply {
    this.requireWorker(workerId);
    if (!this.lifecycle.dispatching) {
      return { granted: false, waitMs: 1000, reason: `the coordinator is ${this.lifecycle.state}` };
    }
    const grant = this.limiter.grant();
    return grant.granted
      ? grant
      : { granted: false, waitMs: Math.max(1, Math.ceil(grant.waitMs)), reason: 'rate limit' };
  }

  /** Tokens and cost of one provider call, counted against the limits and budgets at once. */
  usage(workerId: string, taskId: string, attempt: number, cost: Cost): { ok: true } {
    this.requireWorker(workerId);
    this.table.liveAttempt(workerId, taskId, attempt);
    const seen = this.reportedUsage.get(taskId);
    const total =
      seen && seen.attempt === attempt ? seen : { attempt, usd: 0, inputTokens: 0, outputTokens: 0 };
    total.usd += cost.usd;
    total.inputTokens += cost.inputTokens;
    total.outputTokens += cost.outputTokens;
    this.reportedUsage.set(taskId, total);
    this.lastActivity.set(taskId, Date.now());
    this.spend(workerId, cost);
    return { ok: true };
  }

  async requeue(id: string, actor: string, traceId: string) {
    const { task, change } = this.table.requeue(id);
    await this.commit(change);
    await this.record(actor, 'requeued', id, {
      before: { status: 'blocked' },
      after: { status: task.status },
      traceId,
    });
    return toTask(task);
  }

  // ------------------------------------------------------------------ bulk actions

  async bulkCancel(selection: BulkSelection, reason: string | undefined, actor: string, traceId: string) {
    const canceledHere = new Set<string>();
    return this.bulk('cancel', selection, actor, traceId, (task) => {
      if (task.status === 'canceled' && canceledHere.has(task.id)) return undefined;
      const { cascaded, change } = this.table.cancel(task.id, reason);
      for (const c of cascaded) canceledHere.add(c.id);
      return change;
    });
  }

  async bulkRetry(selection: BulkSelection, actor: string, traceId: string) {
    return this.bulk('retry', selection, actor, traceId, (task) => this.table.retry(task.id, actor).change);
  }

  async bulkReprioritize(selection: BulkSelection, priority: number, actor: string, traceId: string) {
    return this.bulk('reprioritize', selection, actor, traceId, (task) => {
      if (!['pending', 'queued', 'assigned', 'blocked'].includes(task.status)) {
        throw new JoustingError(
          'conflict',
          `task ${task.id} is ${task.status}; only a task that has not started can change priority`,
        );
      }
      return this.table.update(task.id, { priority }).change;
    });
  }

  /**
   * Applies one action per selected task, in creation order (dependencies before dependents), each
   * validated on its own: refusals are listed, everything done is journaled in one write.
   */
  private async bulk(
    action: 'cancel' | 'retry' | 'reprioritize',
    selection: BulkSelection,
    actor: string,
    traceId: string,
    apply: (task: TaskRecord) => Change | undefined,
  ): Promise<BulkResult> {
    const refused: BulkResult['refused'] = [];
    let tasks: TaskRecord[];
    if (selection.ids) {
      tasks = [];
      for (const id of new Set(selection.ids)) {
        const task = this.table.get(id);
        if (task) tasks.push(task);
        else refused.push({ id, code: 'not_found', message: `task ${id} not found` });
      }
      tasks.sort((a, b) => a.order - b.order);
    } else {
      const matches = taskMatcher(selection.filter ?? {});
      tasks = [];
      for (const task of this.table.ordered) {
        if (!matches(task)) continue;
        if (tasks.length >= MAX_BULK_MATCH) {
          throw new JoustingError(
            'validation_failed',
            `the filter matches more than ${MAX_BULK_MATCH} tasks; narrow it`,
            { fields: [{ field: 'selection.filter', message: `matches more than ${MAX_BULK_MATCH} tasks` }] },
          );
        }
        tasks.push(task);
      }
    }
    const merged: Change = { ops: [], aborts: [] };
    const done: string[] = [];
    for (const task of tasks) {
      try {
        const change = apply(task);
        if (change) {
          this.afterChange(change);
          merged.ops.push(...change.ops);
          merged.aborts.push(...change.aborts);
        }
        done.push(task.id);
      } catch (err) {
        if (!(err instanceof JoustingError)) throw err;
        refused.push({ id: task.id, code: err.code, message: err.message });
      }
    }
    await this.journal.append(merged.ops);
    this.sendAborts(merged);
    const result: BulkResult = {
      done,
      refused,
      matched: tasks.length + refused.filter((r) => r.code === 'not_found').length,
    };
    await this.record(actor, `bulk-${action}`, `${done.length} tasks`, {
      after: { done: done.length, refused: refused.length, ids: done.slice(0, 100) },
      traceId,
    });
    this.emitSafely(() =>
      this.opts.events.emit('coord.bulk-applied', {
        action,
        done: done.length,
        refused: refused.length,
        actor,
      }),
    );
    return result;
  }

  // ------------------------------------------------------------------ templates

  listTemplates() {
    return this.templates.list().then((items) => ({ items }));
  }

  getTemplate(name: string) {
    return this.templates.get(name);
  }

  async saveTemplate(
    input: z.output<typeof TemplateInput>,
    actor: string,
    traceId: string,
  ): Promise<Template> {
    const tasks = input.tasks ?? this.templateTasksFrom(input.fromTasks ?? []);
    const { fromTasks: _from, tasks: _tasks, ...rest } = input;
    const template = await this.templates.save({ ...rest, tasks }, actor);
    await this.record(actor, 'template-saved', template.name, {
      after: { tasks: template.tasks.length, variables: template.variables.map((v) => v.name) },
      traceId,
    });
    this.emitSafely(() => this.opts.events.emit('coord.template-saved', { name: template.name, actor }));
    return template;
  }

  async deleteTemplate(name: string, actor: string, traceId: string) {
    await this.templates.delete(name);
    await this.record(actor, 'template-deleted', name, { traceId });
    this.emitSafely(() => this.opts.events.emit('coord.template-deleted', { name, actor }));
    return { name, deleted: true as const };
  }

  async instantiateTemplate(
    name: string,
    request: { values: Record<string, string>; priority?: number; labels?: string[] },
    actor: string,
    traceId: string,
  ) {
    const template = await this.templates.get(name);
    const tasks = instantiate(template, request, () => newId(), 'request.');
    const created = await this.create(tasks, { actor, traceId, batch: true });
    return { template: template.name, tasks: created.tasks };
  }

  /** Existing tasks as template members: local ids t1…tn, deps among them rewritten. */
  private templateTasksFrom(ids: string[]): TemplateTask[] {
    const issues: Array<{ field: string; message: string }> = [];
    const local = new Map<string, string>();
    ids.forEach((id, i) => {
      if (!this.table.get(id)) issues.push({ field: `fromTasks.${i}`, message: `task ${id} not found` });
      local.set(id, `t${i + 1}`);
    });
    if (issues.length) throw JoustingError.validation(issues);
    return ids.map((id) => {
      const t = this.table.get(id)!;
      return {
        id: local.get(id)!,
        title: t.title,
        description: t.description,
        kind: t.kind,
        payload: JSON.parse(t.payloadJson) as Record<string, unknown>,
        priority: t.priority,
        labels: [...t.labels],
        deps: t.deps.map((d) => local.get(d) ?? d),
      };
    });
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
            this.lastActivity.set(taskId, Date.now());
            break;
          case 'heartbeat': {
            this.table.liveAttempt(workerId, taskId, attempt);
            // A bare heartbeat keeps the lease; only progress or output count as activity.
            if (report.progress !== undefined || report.output?.length)
              this.lastActivity.set(taskId, Date.now());
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
            this.attemptEnded(workerId, taskId, attempt, report.cost);
            this.onCircuit(this.circuits.recordSuccess(workerId));
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
            this.attemptEnded(workerId, taskId, attempt, report.cost);
            this.onCircuit(
              this.circuits.recordFailure(workerId, report.errorClass, {
                inputError: report.errorClass === 'fatal',
              }),
            );
            if (report.errorClass === 'limit') this.onRateAdjusted(this.limiter.recordLimitError());
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
          this.lastActivity.delete(op.id);
          this.reportedUsage.delete(op.id);
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
    // Not dispatching, over its budget, or its circuit open: the worker's claim waits.
    if (!this.lifecycle.dispatching || !this.budgets.workerAllowed(worker.id)) return undefined;
    if (!this.circuits.allows(worker.id)) return undefined;
    const trial = this.circuits.isHalfOpen(worker.id);
    const { tasks, change } = this.table.claim(worker, trial ? 1 : n, this.admitMetered);
    if (tasks.length === 0) return undefined;
    if (trial) this.circuits.noteDispatch(worker.id);
    const reply = { tasks: tasks.map((t) => this.claimed(t)) };
    return this.commit(change).then(() => reply);
  }

  /** Metered kinds take one request from the rate limits; the rest pass. */
  private readonly admitMetered = (task: TaskRecord): boolean => {
    if (!METERED.has(task.kind)) return true;
    if (!this.limiter.canDispatch()) return false;
    this.limiter.takeDispatch();
    return true;
  };

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
    this.onRateAdjusted(this.limiter.tick());
    this.blockStale();
    void this.settleLifecycle().catch((err) => this.opts.logger.error({ err }, 'could not settle the drain'));
    // Limits refill, circuits turn half-open: claims that wait may get work now.
    if (this.waiters.length > 0 && this.table.ready.size > 0) this.scheduleDispatch();
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

  private async startPolicies(): Promise<void> {
    const costs: Array<{ workerId: string } & Cost> = [];
    for (const task of this.table.ordered) {
      for (const attempt of task.attempts ?? []) {
        if (attempt.cost) costs.push({ workerId: attempt.workerId, ...attempt.cost });
      }
    }
    this.budgets.restore(costs);
    const now = Date.now();
    for (const task of this.table.ordered) if (task.status === 'running') this.lastActivity.set(task.id, now);
    const stored = LifecycleRecord.safeParse(await this.opts.store.readLifecycle());
    this.lifecycle = new Lifecycle(stored.success ? stored.data : undefined);
    this.templates = new TemplateStore(this.opts.store.templates);
    if (this.budgets.globalExceeded() && this.lifecycle.dispatching) {
      await this.lifecycleChanged(
        this.lifecycle.drain('system', 'global budget exceeded', undefined, 'budget'),
        'drained',
        'running',
      );
    }
    this.emitSafely(() =>
      this.opts.events.emit('coord.started', { state: this.lifecycle.state, actor: 'system' }),
    );
  }

  private liveCount(): number {
    return this.table.counts.assigned + this.table.counts.running;
  }

  /** Persists the lifecycle, announces it, audits it; wakes claims when dispatch resumes. */
  private async lifecycleChanged(
    events: LifecycleEvent[],
    action: string,
    before: string,
    traceId?: string,
  ): Promise<void> {
    if (events.length === 0) return;
    await this.opts.store.writeLifecycle(this.lifecycle.record);
    for (const event of events) {
      const at = (ms: number | undefined) =>
        ms === undefined ? {} : { deadline: new Date(ms).toISOString() };
      this.emitSafely(() => {
        if (event.type === 'coord.started') {
          return this.opts.events.emit('coord.started', { state: this.lifecycle.state, actor: event.actor });
        }
        if (event.type === 'coord.draining') {
          return this.opts.events.emit('coord.draining', {
            reason: event.reason,
            actor: event.actor,
            running: this.liveCount(),
            ...at(event.deadline),
          });
        }
        return this.opts.events.emit('coord.paused', { reason: event.reason, actor: event.actor });
      });
    }
    const record = this.lifecycle.record;
    this.opts.logger.info(
      { state: record.state, reason: record.reason, actor: record.actor },
      'coordinator lifecycle',
    );
    await this.record(record.actor, action, 'coordinator', {
      before: { state: before },
      after: { state: record.state, reason: record.reason },
      ...(traceId === undefined ? {} : { traceId }),
    });
    if (this.lifecycle.dispatching) this.scheduleDispatch();
  }

  /** Ends a drain once nothing runs; at its deadline, what still runs goes back to the queue. */
  private async settleLifecycle(): Promise<void> {
    if (this.lifecycle.state !== 'draining') return;
    const { events, overdue } = this.lifecycle.settle(this.liveCount());
    if (overdue) {
      const { change } = this.table.releaseLive('the coordinator drain timed out');
      await this.commit(change);
    }
    await this.lifecycleChanged(events, 'drain-finished', 'draining');
  }

  /** Running tasks without progress for staleTaskMinutes become blocked. */
  private blockStale(): void {
    const staleMs = this.policy.staleTaskMinutes * 60_000;
    const now = Date.now();
    if (staleMs <= 0 || now - this.lastStaleCheck < (this.opts.staleCheckMs ?? 5000)) return;
    this.lastStaleCheck = now;
    const running = [...this.lastActivity].map(([id, lastActivityAt]) => ({ id, lastActivityAt }));
    const merged: Change = { ops: [], aborts: [] };
    for (const id of findStale(running, staleMs, now)) {
      const task = this.table.get(id);
      const attempt = task?.currentAttempt;
      if (!task || !attempt) continue;
      const reason = `no progress for ${this.policy.staleTaskMinutes} min on worker ${attempt.workerId}`;
      const change = this.table.block(id, attempt.number, reason);
      if (change.ops.length === 0) continue;
      this.afterChange(change);
      merged.ops.push(...change.ops);
      merged.aborts.push(...change.aborts);
      this.emitSafely(() =>
        this.opts.events.emit('coord.task-blocked', {
          id,
          attempt: attempt.number,
          reason,
          workerId: attempt.workerId,
        }),
      );
    }
    if (merged.ops.length === 0) return;
    this.opts.logger.warn({ tasks: merged.aborts.length }, 'stale tasks blocked');
    this.commit(merged).catch((err) => this.opts.logger.error({ err }, 'could not store blocked tasks'));
  }

  /** Final cost of an attempt: what usage reports did not count yet goes to limits and budgets. */
  private attemptEnded(workerId: string, taskId: string, attempt: number, cost: Cost | undefined): void {
    const seen = this.reportedUsage.get(taskId);
    const already = seen?.attempt === attempt ? seen : undefined;
    this.reportedUsage.delete(taskId);
    if (!cost) return;
    const rest = {
      usd: Math.max(0, cost.usd - (already?.usd ?? 0)),
      inputTokens: Math.max(0, cost.inputTokens - (already?.inputTokens ?? 0)),
      outputTokens: Math.max(0, cost.outputTokens - (already?.outputTokens ?? 0)),
    };
    if (rest.usd > 0 || rest.inputTokens > 0 || rest.outputTokens > 0) this.spend(workerId, rest);
  }

  private spend(workerId: string, cost: Cost): void {
    const tokens = cost.inputTokens + cost.outputTokens;
    if (tokens > 0) this.limiter.recordTokens(tokens);
    if (cost.usd > 0 || tokens > 0) this.onBudgetSignals(this.budgets.record(workerId, cost));
  }

  private onBudgetSignals(signals: BudgetSignal[]): void {
    for (const signal of signals) {
      const data = {
        scope: signal.scope,
        ...(signal.workerId === undefined ? {} : { workerId: signal.workerId }),
        spentUsd: signal.spentUsd,
        budgetUsd: signal.budgetUsd,
        percent: signal.percent,
      };
      if (signal.kind === 'warning')
        this.emitSafely(() => this.opts.events.emit('coord.budget-warning', data));
      if (signal.kind === 'exceeded')
        this.emitSafely(() => this.opts.events.emit('coord.budget-exceeded', data));
      if (signal.scope !== 'global') continue;
      const lifecycle =
        signal.kind === 'exceeded'
          ? this.lifecycle.drain('system', 'global budget exceeded', undefined, 'budget')
          : signal.kind === 'cleared'
            ? this.lifecycle.budgetCleared()
            : [];
      const before = this.lifecycle.state;
      void this.lifecycleChanged(lifecycle, signal.kind === 'exceeded' ? 'drained' : 'resumed', before).catch(
        (err) => this.opts.logger.error({ err }, 'could not store the lifecycle'),
      );
    }
  }

  private onCircuit(transition: CircuitTransition | undefined): void {
    if (!transition) return;
    this.opts.logger.warn(transition, 'worker circuit changed');
    if (transition.to === 'open') {
      this.emitSafely(() =>
        this.opts.events.emit('coord.circuit-opened', {
          workerId: transition.workerId,
          consecutiveFailures: transition.consecutiveFailures,
          retryAt: new Date(transition.retryAt ?? Date.now()).toISOString(),
        }),
      );
    } else if (transition.to === 'closed') {
      this.emitSafely(() => this.opts.events.emit('coord.circuit-closed', { workerId: transition.workerId }));
    }
  }

  private onRateAdjusted(adjustment: RateAdjustment | undefined): void {
    if (!adjustment) return;
    this.opts.logger.warn(adjustment, 'rate limits adjusted');
    this.emitSafely(() =>
      this.opts.events.emit('coord.rate-adjusted', {
        from: adjustment.from,
        to: adjustment.to,
        level: adjustment.level,
        reason: adjustment.reason,
      }),
    );
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
  private emitEvents(parts: ResentPart[]): void {
    if (parts.length === 0) return;
    const forEvents: PartForEvents[] = parts.map((part) => ({
      seq: part.seq,
      ops: part.ops,
      body: part.body,
      ...(part.fromIndex ? { fromIndex: part.fromIndex } : {}),
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
      const announced = await this.opts.store.lastAnnouncedEvent().catch(() => undefined);
      const outOfWindow =
        this.recentCommits.filter((c) => Date.now() - c.at > REPUBLISH_WINDOW_MS).pop()?.seq ?? 0;
      const purgeTo = Math.min(seq, Math.max(announced === undefined ? 0 : announced.seq - 1, outOfWindow));
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

function pickPolicy(settings: PolicySettings): PolicySettings {
  return Object.fromEntries(POLICY_SETTING_KEYS.map((k) => [k, settings[k]])) as unknown as PolicySettings;
}
const rateLimitsOf = (p: PolicySettings) => ({
  requestsPerMinute: p.coordMaxRequestsPerMinute,
  tokensPerMinute: p.coordMaxTokensPerMinute,
});
const budgetLimitsOf = (p: PolicySettings) => ({
  globalUsd: p.coordGlobalBudgetUsd,
  perWorkerUsd: p.coordPerWorkerBudgetUsd,
});
