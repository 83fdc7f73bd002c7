import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connectBus, createLogger, type Logger } from '@jousting/bus';
import {
  type ClaimedTask,
  type Command,
  JoustingError,
  type TaskCost,
  WorkerAbort,
  WorkerId,
  type WorkerReport,
  workerAbortSubject,
  workerCommands,
  workerPolicyCommands,
} from '@jousting/contracts';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { requestCoordinator } from './coordinator-client.js';
import { TaskAbortedError, WorkerError } from './errors.js';
import {
  type BatchRoom,
  type QueuedReport,
  queuedReport,
  type ReportBatch,
  ReportQueue,
} from './report-queue.js';

export const SDK_VERSION = '0.1.0';

export type OutputStream = 'stdout' | 'stderr' | 'log';

/** What a handler gets besides the task: identity, cancellation, and ways to report while running. */
export interface TaskContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly kind: string;
  readonly title: string;
  readonly payload: Record<string, unknown>;
  readonly traceId: string;
  /** Aborted when the coordinator aborts this attempt (cancel, lease lost) or stop() gives up on it. */
  readonly signal: AbortSignal;
  /** One line of output (a string with newlines becomes several lines); sent batched. */
  output(line: string, stream?: OutputStream): void;
  /** Progress from 0 to 1; the newest value goes out with the next batch. */
  progress(fraction: number): void;
  /** Adds to the attempt's cost; the total goes with the completed or failed report. */
  reportCost(cost: Partial<TaskCost>): void;
  /**
   * Waits until the coordinator's rate limits allow one provider request (call it before each
   * model call); rejects with an AbortError when the attempt is aborted.
   */
  waitForGrant(): Promise<void>;
  /**
   * Tokens and cost of one provider call, counted by the coordinator's limits and budgets at once
   * (and added to the attempt's cost, like reportCost).
   */
  reportUsage(usage: Partial<TaskCost>): Promise<void>;
  /** Child logger carrying taskId, attempt and traceId. */
  readonly logger: Logger;
}

/** Runs one task; the return value (JSON) is the result, a throw fails the attempt. */
export type TaskHandler = (task: ClaimedTask, ctx: TaskContext) => unknown;

export interface WorkerOptions {
  /** NATS servers, comma separated; the worker then owns (and drains) its connection. */
  servers?: string;
  /** Or an existing connection, left open by stop(). */
  nc?: NatsConnection;
  /** The worker token (JOUSTING_WORKER_TOKEN, or the coordinator's $JOUSTING_DATA_DIR/worker-token). */
  token: string;
  /** Stable id; default `<hostname>-<random>`. Letters, digits, `_`, `-`, at most 64. */
  workerId?: string;
  /** Display name; default the hostname. */
  name?: string;
  version?: string;
  /** Task kinds to claim; default the keys of `handlers`. */
  kinds?: string[];
  labels?: string[];
  /** Tasks run at once; default 4. */
  concurrency?: number;
  /**
   * Tasks claimed ahead and held (assigned, heartbeated) until a slot frees; default 0. For short
   * tasks it hides the claim round trip; for long ones it keeps work from idle workers.
   */
  prefetch?: number;
  handlers: Record<string, TaskHandler>;
  logger?: Logger;
  /** Long-poll of a claim; default 5000. */
  claimWaitMs?: number;
  /** Claims in flight at once (a second one only for a quarter of the slots or more); default 2. */
  maxClaimsInFlight?: number;
  /** Delay before sending started/completed/failed reports, to batch them; default 5. */
  reportIntervalMs?: number;
  /** Delay before sending output and progress; default 200. */
  outputIntervalMs?: number;
  /** Reports per request; default 500 (a request is sent at once when this many wait). */
  maxReportBatch?: number;
  /** Report requests in flight at once; default 2. */
  maxReportsInFlight?: number;
  /** Bytes of JSON per report request; default 512 KiB (NATS refuses messages over 1 MiB by default). */
  maxReportBytes?: number;
  /** Claiming pauses while more reports than this wait to be sent; default 5000. */
  maxPendingReports?: number;
  /** Output lines kept per attempt between two sends; more are dropped with a note. Default 999. */
  maxBufferedLines?: number;
  /** Output bytes kept per attempt between two sends; default 256 KiB. */
  maxBufferedBytes?: number;
  /** A result whose JSON is larger fails the attempt (fatal); default 256 KiB. */
  maxResultBytes?: number;
  /** Timeout of hello, report and bye requests; default 10000. */
  requestTimeoutMs?: number;
  /** How long stop() waits for aborted handlers to return; default 6000. */
  abortWaitMs?: number;
}

export interface StopOptions {
  /** Let running handlers finish for up to this long; default 0. */
  graceMs?: number;
  /** Report what is still running after the grace as `released`, so it is queued again at once; default true. */
  release?: boolean;
}

export interface WorkerStats {
  /** The coordinator answered our hello and has not forgotten us since. */
  registered: boolean;
  running: number;
  /** Claimed ahead, waiting for a slot (see `prefetch`). */
  prefetched: number;
  claimed: number;
  completed: number;
  failed: number;
  released: number;
  aborted: number;
  /** Report items the coordinator refused (stale attempt, unknown task). */
  refused: number;
  claimRequests: number;
  reportRequests: number;
  droppedOutputLines: number;
}

export interface Worker {
  readonly id: string;
  /** Connects (unless given `nc`), says hello and starts claiming. Throws when the token or hello is refused. */
  start(): Promise<void>;
  /** Stops claiming, lets handlers finish for graceMs, aborts and releases the rest, says bye. */
  stop(opts?: StopOptions): Promise<void>;
  stats(): WorkerStats;
}

export function createWorker(opts: WorkerOptions): Worker {
  return new SdkWorker(opts);
}

const MAX_LINE = 16_384;
const MAX_MESSAGE = 4000;
const MAX_REASON = 500;

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** 100 ms, 200 ms, … up to 5 s. */
const backoffMs = (failures: number) => Math.min(5000, 100 * 2 ** Math.min(failures, 6));

function defaultWorkerId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 50);
  return `${host || 'worker'}-${randomBytes(4).toString('hex')}`;
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/** One claimed attempt on this worker; it is also the handler's context. */
class RunningAttempt implements TaskContext {
  readonly key: string;
  readonly controller = new AbortController();
  lines: { stream: OutputStream; line: string }[] = [];
  lineBytes = 0;
  dropped = 0;
  progressValue: number | undefined;
  cost: TaskCost | undefined;
  aborted = false;
  finished = false;
  settled: Promise<void> = Promise.resolve();
  private childLogger: Logger | undefined;

  constructor(
    readonly task: ClaimedTask,
    key: string,
    private readonly worker: SdkWorker,
  ) {
    this.key = key;
  }

  get taskId() {
    return this.task.taskId;
  }
  get attempt() {
    return this.task.attempt;
  }
  get kind() {
    return this.task.kind;
  }
  get title() {
    return this.task.title;
  }
  get payload() {
    return this.task.payload;
  }
  get traceId() {
    return this.task.traceId;
  }
  get signal() {
    return this.controller.signal;
  }
  get logger(): Logger {
    this.childLogger ??= this.worker.logger.child({
      taskId: this.task.taskId,
      attempt: this.task.attempt,
      traceId: this.task.traceId,
    });
    return this.childLogger;
  }

  output = (line: string, stream: OutputStream = 'stdout') =>
    this.worker.addOutput(this, String(line), stream);

  progress = (fraction: number) => {
    if (typeof fraction !== 'number' || Number.isNaN(fraction))
      throw new TypeError('progress must be a number');
    this.progressValue = Math.min(1, Math.max(0, fraction));
    this.worker.markDirty(this);
  };

  reportCost = (cost: Partial<TaskCost>) => {
    const add = {
      usd: cost.usd ?? 0,
      inputTokens: cost.inputTokens ?? 0,
      outputTokens: cost.outputTokens ?? 0,
    };
    for (const [field, value] of Object.entries(add)) {
      if (!Number.isFinite(value) || value < 0) throw new TypeError(`cost.${field} must be a number ≥ 0`);
    }
    const sum = this.cost ?? { usd: 0, inputTokens: 0, outputTokens: 0 };
    this.cost = {
      usd: sum.usd + add.usd,
      inputTokens: sum.inputTokens + Math.round(add.inputTokens),
      outputTokens: sum.outputTokens + Math.round(add.outputTokens),
    };
  };

  waitForGrant = async (): Promise<void> => {
    for (;;) {
      this.controller.signal.throwIfAborted();
      const reply = await this.worker.call(workerPolicyCommands.grant, {
        workerId: this.worker.id,
        taskId: this.task.taskId,
        attempt: this.task.attempt,
      });
      if (reply.granted) return;
      await abortableSleep(reply.waitMs, this.controller.signal);
    }
  };

  reportUsage = async (usage: Partial<TaskCost>): Promise<void> => {
    this.reportCost(usage);
    await this.worker.call(workerPolicyCommands.usage, {
      workerId: this.worker.id,
      taskId: this.task.taskId,
      attempt: this.task.attempt,
      usd: usage.usd ?? 0,
      inputTokens: Math.round(usage.inputTokens ?? 0),
      outputTokens: Math.round(usage.outputTokens ?? 0),
    });
  };

  hasOutput(): boolean {
    return this.lines.length > 0 || this.dropped > 0 || this.progressValue !== undefined;
  }

  /** A heartbeat carrying the buffered output and progress, which it takes. */
  takeHeartbeat(): WorkerReport {
    const report: WorkerReport = { type: 'heartbeat', taskId: this.task.taskId, attempt: this.task.attempt };
    if (this.progressValue !== undefined) report.progress = this.progressValue;
    const output = this.lines;
    if (this.dropped > 0) {
      output.push({
        stream: 'log',
        line: `[worker] ${this.dropped} output lines dropped: the task wrote faster than they could be sent`,
      });
    }
    if (output.length > 0) report.output = output;
    this.lines = [];
    this.lineBytes = 0;
    this.dropped = 0;
    this.progressValue = undefined;
    return report;
  }

  dropOutput(): void {
    this.lines = [];
    this.lineBytes = 0;
    this.dropped = 0;
    this.progressValue = undefined;
  }
}

class SdkWorker implements Worker {
  readonly id: string;
  readonly logger: Logger;
  private readonly opts: WorkerOptions;
  private readonly name: string;
  private readonly kinds: string[];
  private readonly concurrency: number;
  private readonly prefetch: number;
  private readonly claimWaitMs: number;
  private readonly maxClaimsInFlight: number;
  private readonly reportIntervalMs: number;
  private readonly outputIntervalMs: number;
  private readonly maxReportBatch: number;
  private readonly maxReportsInFlight: number;
  private readonly maxReportBytes: number;
  private readonly maxPendingReports: number;
  private readonly maxBufferedLines: number;
  private readonly maxBufferedBytes: number;
  private readonly maxResultBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly abortWaitMs: number;

  private nc: NatsConnection | undefined;
  private abortSub: Subscription | undefined;
  private started = false;
  /** Hello answered; claims and reports may go. */
  private ready = false;
  private stopping = false;
  private releaseOnStop = true;
  private closed = false;
  private stopPromise: Promise<void> | undefined;
  private helloPromise: Promise<void> | undefined;
  private pauseEnd: (() => void) | undefined;

  private readonly running = new Map<string, RunningAttempt>();
  /** Prefetched attempts in claim order; their handlers start as slots free. */
  private readonly waiting = new Map<string, RunningAttempt>();
  /** Attempts with output, progress or a heartbeat to send. */
  private readonly dirty = new Set<RunningAttempt>();
  /** Attempts aborted before their claim reply arrived are not started. */
  private readonly recentlyAborted = new Set<string>();
  private readonly queue = new ReportQueue();

  private claimsInFlight = 0;
  /** Slots promised to claims in flight. */
  private reservedSlots = 0;
  private claimFailures = 0;
  private claimRetryTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;

  private reportsInFlight = 0;
  private reportFailures = 0;
  private reportRetryTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushAt = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatMs = 0;

  private readonly counters: Omit<WorkerStats, 'running' | 'prefetched' | 'registered'> = {
    claimed: 0,
    completed: 0,
    failed: 0,
    released: 0,
    aborted: 0,
    refused: 0,
    claimRequests: 0,
    reportRequests: 0,
    droppedOutputLines: 0,
  };

  constructor(opts: WorkerOptions) {
    if (!opts.nc && !opts.servers) throw new TypeError('createWorker needs `servers` or `nc`');
    if (!opts.token) throw new TypeError('createWorker needs the worker `token`');
    this.opts = opts;
    this.id = opts.workerId ?? defaultWorkerId();
    const idCheck = WorkerId.safeParse(this.id);
    if (!idCheck.success) throw new TypeError(`workerId "${this.id}": ${idCheck.error.issues[0]?.message}`);
    this.name = opts.name ?? hostname();
    this.kinds = opts.kinds ?? Object.keys(opts.handlers);
    if (this.kinds.length === 0) throw new TypeError('createWorker needs at least one kind with a handler');
    for (const kind of this.kinds) {
      if (typeof opts.handlers[kind] !== 'function') throw new TypeError(`no handler for kind "${kind}"`);
    }
    this.concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 10_000) {
      throw new TypeError('concurrency must be an integer from 1 to 10000');
    }
    this.prefetch = opts.prefetch ?? 0;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0 || this.prefetch > 10_000) {
      throw new TypeError('prefetch must be an integer from 0 to 10000');
    }
    this.claimWaitMs = opts.claimWaitMs ?? 5000;
    this.maxClaimsInFlight = Math.max(1, opts.maxClaimsInFlight ?? 2);
    this.reportIntervalMs = opts.reportIntervalMs ?? 5;
    this.outputIntervalMs = opts.outputIntervalMs ?? 200;
    this.maxReportBatch = Math.min(5000, opts.maxReportBatch ?? 500);
    this.maxReportsInFlight = Math.max(1, opts.maxReportsInFlight ?? 2);
    this.maxReportBytes = opts.maxReportBytes ?? 512 * 1024;
    this.maxPendingReports = opts.maxPendingReports ?? 5000;
    this.maxBufferedLines = Math.min(999, opts.maxBufferedLines ?? 999);
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
    this.maxResultBytes = opts.maxResultBytes ?? 256 * 1024;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.abortWaitMs = opts.abortWaitMs ?? 6000;
    this.logger = (opts.logger ?? createLogger('jousting-worker')).child({ workerId: this.id });
  }

  stats(): WorkerStats {
    return {
      registered: this.ready,
      running: this.running.size,
      prefetched: this.waiting.size,
      ...this.counters,
    };
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the worker was already started');
    this.started = true;
    const nc =
      this.opts.nc ??
      (await connectBus({
        servers: this.opts.servers ?? '',
        name: `worker-${this.id}`,
        logger: this.logger,
      }));
    this.nc = nc;
    this.abortSub = nc.subscribe(workerAbortSubject(this.id), { callback: (_err, msg) => this.onAbort(msg) });
    await nc.flush();
    try {
      await this.hello();
    } catch (err) {
      const code = err instanceof JoustingError ? err.code : 'internal';
      if (code === 'unauthorized' || code === 'forbidden' || code === 'validation_failed') {
        await this.close();
        throw err;
      }
      this.logger.warn(
        { err: (err as Error).message },
        'coordinator not reachable yet; retrying in the background',
      );
      void this.rehello();
    }
  }

  stop(opts: StopOptions = {}): Promise<void> {
    this.stopPromise ??= this.shutdown(opts.graceMs ?? 0, opts.release ?? true);
    return this.stopPromise;
  }

  // ---- hello -------------------------------------------------------------------------------

  private async hello(): Promise<void> {
    const reply = await this.request(workerCommands.hello, {
      workerId: this.id,
      name: this.name,
      kinds: this.kinds,
      labels: this.opts.labels ?? [],
      // The coordinator counts what we hold, running or prefetched.
      capacity: this.concurrency + this.prefetch,
      version: this.opts.version ?? `@jousting/worker-sdk ${SDK_VERSION}`,
    });
    if (this.closed) return;
    if (reply.heartbeatMs !== this.heartbeatMs || !this.heartbeatTimer) {
      this.heartbeatMs = Math.max(100, reply.heartbeatMs);
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => this.onHeartbeatTick(), this.heartbeatMs);
    }
    this.ready = true;
    this.logger.info(
      {
        heartbeatMs: reply.heartbeatMs,
        leaseMs: reply.leaseMs,
        kinds: this.kinds,
        concurrency: this.concurrency,
      },
      'registered with the coordinator',
    );
    this.requestFlush(0);
    this.schedulePump();
  }

  /** Says hello again until it is answered (the coordinator restarted or forgot us); one at a time. */
  private rehello(): Promise<void> {
    this.ready = false;
    this.helloPromise ??= (async () => {
      for (let failures = 0; !this.closed; failures++) {
        try {
          await this.hello();
          return;
        } catch (err) {
          if (this.closed) return;
          this.logger.warn({ err: (err as Error).message }, 'hello failed; retrying');
          await this.pause(this.backoff(failures));
        }
      }
    })().finally(() => {
      this.helloPromise = undefined;
    });
    return this.helloPromise;
  }

  // ---- claiming ----------------------------------------------------------------------------

  /** Coalesces the many "a slot is free" moments of one turn of the event loop into one claim. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpClaims();
    });
  }

  private pumpClaims(): void {
    while (this.ready && !this.stopping && !this.claimRetryTimer) {
      const window = this.concurrency + this.prefetch;
      const free = window - this.running.size - this.waiting.size - this.reservedSlots;
      if (free <= 0 || this.claimsInFlight >= this.maxClaimsInFlight) return;
      // A second claim in flight is worth it only for a good share of the slots.
      if (this.claimsInFlight > 0 && free < Math.ceil(window / 4)) return;
      // Back-pressure: do not take work faster than its outcomes can be reported.
      if (this.queue.size >= this.maxPendingReports) return;
      // Completions go out first: the coordinator counts our slots from what it was told.
      if (this.queue.size > 0) this.flush();
      void this.claim(free);
    }
  }

  private async claim(max: number): Promise<void> {
    this.claimsInFlight++;
    this.reservedSlots += max;
    this.counters.claimRequests++;
    let tasks: ClaimedTask[] = [];
    try {
      const reply = await this.request(
        workerCommands.claim,
        { workerId: this.id, max, waitMs: this.claimWaitMs },
        this.claimWaitMs + this.requestTimeoutMs,
      );
      tasks = reply.tasks;
      this.claimFailures = 0;
    } catch (err) {
      if (!this.closed && this.onRequestError('claim', err) === 'retry' && !this.claimRetryTimer) {
        this.claimRetryTimer = setTimeout(
          () => {
            this.claimRetryTimer = undefined;
            this.schedulePump();
          },
          this.backoff(this.claimFailures++),
        );
      }
    } finally {
      this.claimsInFlight--;
      this.reservedSlots -= max;
    }
    for (const task of tasks) this.startAttempt(task);
    this.schedulePump();
  }

  // ---- running -----------------------------------------------------------------------------

  private startAttempt(task: ClaimedTask): void {
    const key = `${task.taskId}#${task.attempt}`;
    if (this.running.has(key) || this.waiting.has(key) || this.recentlyAborted.has(key)) return;
    this.counters.claimed++;
    if (this.stopping || this.closed) {
      // Claimed while stopping: hand it straight back.
      if (this.releaseOnStop && !this.closed)
        this.pushReleased(task.taskId, task.attempt, 'the worker is stopping');
      return;
    }
    const attempt = new RunningAttempt(task, key, this);
    if (this.running.size >= this.concurrency) this.waiting.set(key, attempt);
    else this.run(attempt);
  }

  private run(attempt: RunningAttempt): void {
    const { task, key } = attempt;
    this.running.set(key, attempt);
    this.enqueue(queuedReport({ type: 'started', taskId: task.taskId, attempt: task.attempt }));
    attempt.settled = this.runAttempt(attempt);
  }

  private async runAttempt(attempt: RunningAttempt): Promise<void> {
    let outcome: Outcome;
    try {
      const handler = this.opts.handlers[attempt.task.kind];
      if (!handler)
        throw new WorkerError(`this worker has no handler for kind "${attempt.task.kind}"`, 'fatal');
      outcome = { ok: true, result: await handler(attempt.task, attempt) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.finishAttempt(attempt, outcome);
  }

  private finishAttempt(attempt: RunningAttempt, outcome: Outcome): void {
    attempt.finished = true;
    this.running.delete(attempt.key);
    this.dirty.delete(attempt);
    this.startWaiting();
    this.schedulePump();
    if (attempt.aborted) return;
    if (attempt.hasOutput()) this.queue.push(queuedReport(attempt.takeHeartbeat()));
    const { taskId, attempt: number } = attempt.task;
    const cost = attempt.cost;
    let report: QueuedReport | undefined;
    if (outcome.ok) {
      try {
        report = queuedReport({ type: 'completed', taskId, attempt: number, result: outcome.result, cost });
      } catch (err) {
        outcome = {
          ok: false,
          error: new WorkerError(`the handler's result is not JSON: ${(err as Error).message}`, 'fatal'),
        };
      }
      if (report && report.json.length > this.maxResultBytes + 500) {
        report = undefined;
        outcome = {
          ok: false,
          error: new WorkerError(
            `the handler's result is too large (at most ${this.maxResultBytes} bytes of JSON)`,
            'fatal',
          ),
        };
      }
    }
    if (report) {
      this.counters.completed++;
    } else {
      const error = outcome.ok ? undefined : outcome.error;
      const errorClass = error instanceof WorkerError ? error.errorClass : 'transient';
      const message = error instanceof Error ? error.message : String(error);
      report = queuedReport({
        type: 'failed',
        taskId,
        attempt: number,
        errorClass,
        message: truncate(message || 'failed', MAX_MESSAGE),
        cost,
      });
      this.counters.failed++;
    }
    this.enqueue(report);
  }

  /** Starts prefetched attempts while slots are free (not once stopping: they are released). */
  private startWaiting(): void {
    for (const [key, attempt] of this.waiting) {
      if (this.running.size >= this.concurrency || this.stopping || this.closed) return;
      this.waiting.delete(key);
      this.run(attempt);
    }
  }

  /** Hands every prefetched attempt back (or, without release, leaves it to its lease). */
  private releaseWaiting(release: boolean): void {
    for (const attempt of [...this.waiting.values()]) {
      this.dropPrefetched(attempt.key);
      if (release) this.pushReleased(attempt.task.taskId, attempt.task.attempt, 'the worker is stopping');
    }
  }

  /** Forgets a prefetched attempt that never started; its slot is free for the next claim. */
  private dropPrefetched(key: string): boolean {
    const attempt = this.waiting.get(key);
    if (!attempt) return false;
    this.waiting.delete(key);
    this.dirty.delete(attempt);
    this.schedulePump();
    return true;
  }

  /** Stops an attempt here: its signal fires and it reports nothing more. */
  private abortAttempt(attempt: RunningAttempt, reason: string): void {
    if (attempt.aborted || attempt.finished) return;
    attempt.aborted = true;
    this.counters.aborted++;
    this.dirty.delete(attempt);
    attempt.dropOutput();
    this.queue.dropAttempt(attempt.key);
    attempt.controller.abort(new TaskAbortedError(reason));
  }

  private onAbort(msg: Msg): void {
    const parsed = WorkerAbort.safeParse(safeJson(msg));
    if (!parsed.success) {
      this.logger.warn({ subject: msg.subject }, 'ignoring an abort message that breaks the contract');
      return;
    }
    const { taskId, attempt, reason } = parsed.data;
    const key = `${taskId}#${attempt}`;
    this.recentlyAborted.add(key);
    if (this.recentlyAborted.size > 1000) {
      const oldest = this.recentlyAborted.values().next().value;
      if (oldest !== undefined) this.recentlyAborted.delete(oldest);
    }
    if (this.dropPrefetched(key)) {
      // Never started: nothing to stop; the coordinator has already taken it back.
      this.counters.aborted++;
      this.logger.info({ taskId, attempt, reason }, 'prefetched attempt aborted by the coordinator');
      return;
    }
    const running = this.running.get(key);
    if (!running) {
      this.logger.debug({ taskId, attempt }, 'abort for an attempt not running here');
      return;
    }
    this.logger.info({ taskId, attempt, reason }, 'attempt aborted by the coordinator');
    this.abortAttempt(running, reason);
  }

  // ---- output and heartbeats ---------------------------------------------------------------

  addOutput(attempt: RunningAttempt, text: string, stream: OutputStream): void {
    if (attempt.aborted || attempt.finished) return;
    const lines = text.includes('\n') ? text.replace(/\r?\n$/, '').split(/\r?\n/) : [text];
    for (const raw of lines) {
      const line = truncate(raw, MAX_LINE);
      if (
        attempt.lines.length >= this.maxBufferedLines ||
        attempt.lineBytes + line.length > this.maxBufferedBytes
      ) {
        attempt.dropped++;
        this.counters.droppedOutputLines++;
      } else {
        attempt.lines.push({ stream, line });
        attempt.lineBytes += line.length + 32;
      }
    }
    this.markDirty(attempt);
  }

  markDirty(attempt: RunningAttempt): void {
    if (attempt.aborted || attempt.finished) return;
    this.dirty.add(attempt);
    this.requestFlush(this.outputIntervalMs);
  }

  private onHeartbeatTick(): void {
    if (!this.ready || this.closed) return;
    for (const attempt of this.waiting.values()) this.dirty.add(attempt);
    if (this.running.size === 0 && this.waiting.size === 0) {
      // Idle: an empty report still tells the coordinator we are alive (and finds out if it forgot us).
      if (this.queue.size === 0 && this.reportsInFlight === 0)
        void this.sendReports({ reports: [], bytes: 0 });
      return;
    }
    for (const attempt of this.running.values()) if (!attempt.aborted) this.dirty.add(attempt);
    this.requestFlush(0);
  }

  /** Heartbeats for dirty attempts, to go last in a batch. */
  private collectHeartbeats(room: BatchRoom): QueuedReport[] {
    const out: QueuedReport[] = [];
    let bytes = 0;
    for (const attempt of this.dirty) {
      if (out.length >= room.items) break;
      if (!room.isFree(attempt.key)) continue;
      if (out.length > 0 && bytes + attempt.lineBytes + 200 > room.bytes) continue;
      const report = queuedReport(attempt.takeHeartbeat());
      bytes += report.json.length + 1;
      out.push(report);
      this.dirty.delete(attempt);
    }
    return out;
  }

  // ---- reporting ---------------------------------------------------------------------------

  private enqueue(report: QueuedReport): void {
    this.queue.push(report);
    if (this.queue.size >= this.maxReportBatch) this.flush();
    else this.requestFlush(this.reportIntervalMs);
  }

  private pushReleased(taskId: string, attempt: number, reason: string): void {
    this.queue.push(
      queuedReport({ type: 'released', taskId, attempt, reason: truncate(reason, MAX_REASON) }),
    );
    this.counters.released++;
    this.requestFlush(0);
  }

  /** Flushes within `delayMs`, keeping an earlier flush if one is due sooner. */
  private requestFlush(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.flushTimer) {
      if (this.flushAt <= at) return;
      clearTimeout(this.flushTimer);
    }
    this.flushAt = at;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (!this.ready || this.reportRetryTimer || !this.nc) return;
    while (this.reportsInFlight < this.maxReportsInFlight) {
      const batch = this.queue.take(this.maxReportBatch, this.maxReportBytes, (room) =>
        this.collectHeartbeats(room),
      );
      if (!batch) return;
      void this.sendReports(batch);
    }
  }

  private async sendReports(batch: ReportBatch): Promise<void> {
    this.reportsInFlight++;
    this.counters.reportRequests++;
    try {
      const body = `{"workerId":${JSON.stringify(this.id)},"reports":[${batch.reports.map((r) => r.json).join(',')}]}`;
      const reply = await this.request(workerCommands.report, body);
      this.queue.settle(batch);
      this.reportFailures = 0;
      for (const result of reply.results) {
        if (!result.ok) this.onRefused(result.taskId, result.attempt, result.error);
      }
    } catch (err) {
      const verdict = this.closed ? 'drop' : this.onRequestError('report', err);
      if (verdict === 'drop') {
        this.queue.settle(batch);
        if (!this.closed) {
          this.logger.error(
            { err: (err as Error).message, reports: batch.reports.length },
            'reports dropped',
          );
        }
      } else {
        this.queue.requeue(batch);
        if (verdict === 'retry' && !this.reportRetryTimer) {
          this.reportRetryTimer = setTimeout(
            () => {
              this.reportRetryTimer = undefined;
              this.flush();
            },
            this.backoff(this.reportFailures++),
          );
        }
      }
    } finally {
      this.reportsInFlight--;
    }
    if (this.queue.size >= this.maxReportBatch) this.flush();
    else if (this.queue.size > 0) this.requestFlush(this.reportIntervalMs);
    this.schedulePump();
  }

  private onRefused(
    taskId: string,
    attempt: number,
    error: { code: string; message: string } | undefined,
  ): void {
    this.counters.refused++;
    const key = `${taskId}#${attempt}`;
    const running = this.running.get(key);
    const detail = { taskId, attempt, code: error?.code, message: error?.message };
    if (this.dropPrefetched(key)) {
      this.logger.warn(detail, 'report refused for a prefetched attempt; dropping it');
      return;
    }
    if (running && !running.aborted) {
      // The coordinator no longer gives us this attempt (lease lost, canceled): stop working on it.
      this.logger.warn(detail, 'report refused for a running attempt; aborting it');
      this.abortAttempt(running, `the coordinator refused a report: ${error?.message ?? 'stale attempt'}`);
    } else {
      this.logger.warn(detail, 'report refused');
    }
  }

  /** What to do after a failed request: 'retry' later, 'rehello' (already started), or 'drop'. */
  private onRequestError(what: string, err: unknown): 'retry' | 'rehello' | 'drop' {
    const code = err instanceof JoustingError ? err.code : 'internal';
    if (code === 'not_found') {
      this.logger.info({ request: what }, 'the coordinator does not know this worker; saying hello again');
      void this.rehello();
      return 'rehello';
    }
    if (code === 'unavailable' || code === 'rate_limited' || code === 'unauthorized') {
      this.logger.warn({ request: what, code, err: (err as Error).message }, 'request failed; retrying');
      return 'retry';
    }
    this.logger.error({ request: what, code, err: (err as Error).message }, 'request refused');
    return what === 'report' ? 'drop' : 'retry';
  }

  /** One worker-protocol request on behalf of a running attempt (grants, usage). */
  call<C extends Command>(command: C, body: z.input<C['request']>): Promise<z.infer<C['response']>> {
    return this.request(command, body);
  }

  private request<C extends Command>(
    command: C,
    body: z.input<C['request']> | string,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<z.infer<C['response']>> {
    if (!this.nc) throw new JoustingError('unavailable', 'the worker is not started');
    const json = typeof body === 'string' ? body : JSON.stringify(body);
    return requestCoordinator(this.nc, command, json, { token: this.opts.token, timeoutMs });
  }

  // ---- stopping ----------------------------------------------------------------------------

  private async shutdown(graceMs: number, release: boolean): Promise<void> {
    this.stopping = true;
    this.releaseOnStop = release;
    if (this.claimRetryTimer) clearTimeout(this.claimRetryTimer);
    this.claimRetryTimer = undefined;
    if (!this.nc || this.closed) {
      this.closed = true;
      return;
    }
    this.logger.info(
      { running: this.running.size, prefetched: this.waiting.size, graceMs, release },
      'stopping',
    );
    // A prefetched task released while our claim waits would come straight back to it.
    if (this.claimsInFlight === 0) this.releaseWaiting(release);
    await this.waitUntil(() => this.running.size === 0, graceMs);
    if (release && this.running.size > 0 && this.claimsInFlight > 0) {
      // A task released now would go straight back to our own waiting claim: let the claim end
      // first (within its long-poll), while the handlers keep running and heartbeating.
      await this.waitUntil(
        () => this.claimsInFlight === 0 || this.running.size === 0,
        this.claimWaitMs + 1000,
      );
    }
    this.releaseWaiting(release);
    const left = [...this.running.values()];
    for (const attempt of left) {
      this.abortAttempt(attempt, 'the worker is stopping');
      if (release) this.pushReleased(attempt.taskId, attempt.attempt, 'the worker is stopping');
    }
    if (left.length > 0) {
      this.logger.info({ aborted: left.length, released: release }, 'aborted what was still running');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(left.map((a) => a.settled)),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.abortWaitMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.flush();
    await this.waitUntil(
      () => this.queue.size === 0 && this.reportsInFlight === 0 && this.dirty.size === 0,
      this.requestTimeoutMs,
    );
    if (this.ready) {
      try {
        await this.request(workerCommands.bye, { workerId: this.id, release });
      } catch (err) {
        this.logger.warn(
          { err: (err as Error).message },
          'bye failed; the coordinator will notice by the lease',
        );
      }
    }
    await this.close();
    this.logger.info(this.stats(), 'stopped');
  }

  /** Retry delay; never longer than a heartbeat, so a short outage costs no lease. */
  private backoff(failures: number): number {
    return Math.min(backoffMs(failures), this.heartbeatMs || 5000);
  }

  /** A sleep that close() cuts short, so a stopped worker does not keep the process alive. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pauseEnd = undefined;
        resolve();
      }, ms);
      this.pauseEnd = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async close(): Promise<void> {
    this.closed = true;
    this.pauseEnd?.();
    this.ready = false;
    for (const timer of [this.claimRetryTimer, this.reportRetryTimer, this.flushTimer]) clearTimeout(timer);
    clearInterval(this.heartbeatTimer);
    this.claimRetryTimer = this.reportRetryTimer = this.flushTimer = this.heartbeatTimer = undefined;
    this.abortSub?.unsubscribe();
    if (this.nc && !this.opts.nc) await this.nc.drain().catch(() => undefined);
  }

  private async waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(10, Math.max(1, deadline - Date.now())));
    }
    return true;
  }
}

function safeJson(msg: Msg): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
