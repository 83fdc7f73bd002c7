import { createLogger, endpoint, type HandlerContext, serveCommands } from '@jousting/bus';
import {
  type ClaimedTask,
  type ErrorClass,
  JoustingError,
  type TaskCost,
  WORKER_TOKEN_HEADER,
  type WorkerAbort,
  type WorkerReport,
  workerAbortSubject,
  workerCommands,
  workerPolicyCommands,
} from '@jousting/contracts';
import type { NatsConnection } from '@nats-io/transport-node';

/** A task as the fake coordinator keeps it. */
export interface FakeTask {
  id: string;
  kind: string;
  title: string;
  payload: Record<string, unknown>;
  status: 'queued' | 'assigned' | 'running' | 'complete' | 'failed';
  attempt: number;
  workerId?: string;
  leaseUntil: number;
  result?: unknown;
  error?: { class: ErrorClass; message: string };
  cost?: TaskCost;
  output: { stream: string; line: string; attempt: number }[];
  progress?: number;
  released: number;
}

interface ClaimWaiter {
  workerId: string;
  max: number;
  resolve: (tasks: ClaimedTask[]) => void;
  timer: NodeJS.Timeout;
}

/**
 * A test double of the coordinator's worker protocol, in memory, served on a real NATS server
 * with the same endpoints as the real one: hello, long-poll claim, per-item report results,
 * leases taken back when they run out, bye with release, abort on `worker.<id>.abort`.
 */
export class FakeCoordinator {
  readonly tasks = new Map<string, FakeTask>();
  readonly workers = new Map<string, { capacity: number; kinds: string[]; hellos: number }>();
  readonly reports: (WorkerReport & { workerId: string; refused?: string })[] = [];
  readonly byes: { workerId: string; release: boolean }[] = [];
  /** Token header of every worker request, by subject. */
  readonly tokens: { subject: string; token: string | undefined }[] = [];
  counts = { hello: 0, claim: 0, report: 0 };
  /** Grants refused before one is given (each answered with a 30 ms wait). */
  refuseGrants = 0;
  readonly grants: { workerId: string; taskId?: string; granted: boolean }[] = [];
  readonly usage: {
    workerId: string;
    taskId: string;
    usd: number;
    inputTokens: number;
    outputTokens: number;
  }[] = [];
  private ready: string[] = [];
  private readyHead = 0;
  /** Tasks on a worker, the only ones whose lease can run out. */
  private readonly active = new Set<FakeTask>();
  private waiters: ClaimWaiter[] = [];
  private service: Awaited<ReturnType<typeof serveCommands>> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(
    private readonly nc: NatsConnection,
    readonly opts: { leaseMs?: number; heartbeatMs?: number; token?: string } = {},
  ) {}

  get leaseMs() {
    return this.opts.leaseMs ?? 30_000;
  }

  async start(): Promise<void> {
    const logger = createLogger('fake-coordinator', { level: 'silent' });
    this.service = await serveCommands(this.nc, { name: 'coordinator', version: '0.0.0', logger }, [
      endpoint(workerCommands.hello, async (req, ctx) => {
        this.checkToken(workerCommands.hello.subject, ctx);
        this.counts.hello++;
        const known = this.workers.get(req.workerId);
        this.workers.set(req.workerId, {
          capacity: req.capacity,
          kinds: req.kinds,
          hellos: (known?.hellos ?? 0) + 1,
        });
        return { heartbeatMs: this.opts.heartbeatMs ?? Math.round(this.leaseMs / 3), leaseMs: this.leaseMs };
      }),
      endpoint(workerCommands.claim, async (req, ctx) => {
        this.checkToken(workerCommands.claim.subject, ctx);
        this.counts.claim++;
        this.knownWorker(req.workerId);
        const tasks = this.assign(req.workerId, req.max);
        if (tasks.length > 0 || req.waitMs === 0) return { tasks };
        return {
          tasks: await new Promise<ClaimedTask[]>((resolve) => {
            const waiter: ClaimWaiter = {
              workerId: req.workerId,
              max: req.max,
              resolve,
              timer: setTimeout(() => {
                this.waiters = this.waiters.filter((w) => w !== waiter);
                resolve([]);
              }, req.waitMs),
            };
            this.waiters.push(waiter);
          }),
        };
      }),
      endpoint(workerCommands.report, async (req, ctx) => {
        this.checkToken(workerCommands.report.subject, ctx);
        this.counts.report++;
        this.knownWorker(req.workerId);
        return { results: req.reports.map((report) => this.apply(req.workerId, report)) };
      }),
      endpoint(workerPolicyCommands.grant, async (req, ctx) => {
        this.checkToken(workerPolicyCommands.grant.subject, ctx);
        const granted = this.refuseGrants <= 0;
        if (!granted) this.refuseGrants--;
        this.grants.push({ workerId: req.workerId, ...(req.taskId ? { taskId: req.taskId } : {}), granted });
        return granted
          ? { granted: true as const }
          : { granted: false as const, waitMs: 30, reason: 'rate limit' };
      }),
      endpoint(workerPolicyCommands.usage, async (req, ctx) => {
        this.checkToken(workerPolicyCommands.usage.subject, ctx);
        this.usage.push({
          workerId: req.workerId,
          taskId: req.taskId,
          usd: req.usd,
          inputTokens: req.inputTokens,
          outputTokens: req.outputTokens,
        });
        return { ok: true as const };
      }),
      endpoint(workerCommands.bye, async (req, ctx) => {
        this.checkToken(workerCommands.bye.subject, ctx);
        this.byes.push(req);
        this.workers.delete(req.workerId);
        for (const w of this.waiters.filter((w) => w.workerId === req.workerId)) {
          clearTimeout(w.timer);
          w.resolve([]);
        }
        this.waiters = this.waiters.filter((w) => w.workerId !== req.workerId);
        const released: string[] = [];
        if (req.release) {
          for (const task of this.tasks.values()) {
            if (task.workerId === req.workerId && (task.status === 'assigned' || task.status === 'running')) {
              this.requeue(task);
              released.push(task.id);
            }
          }
        }
        return { released };
      }),
    ]);
    this.leaseTimer = setInterval(() => this.expireLeases(), 20);
  }

  async stop(): Promise<void> {
    clearInterval(this.leaseTimer);
    for (const w of this.waiters) clearTimeout(w.timer);
    await this.service?.stop().catch(() => undefined);
  }

  /** Queues tasks; returns their ids. */
  add(n: number, kind = 'exec', payload: Record<string, unknown> = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `t${this.nextId++}`;
      this.tasks.set(id, {
        id,
        kind,
        title: `task ${id}`,
        payload,
        status: 'queued',
        attempt: 0,
        leaseUntil: 0,
        output: [],
        released: 0,
      });
      this.ready.push(id);
      ids.push(id);
    }
    this.wake();
    return ids;
  }

  task(id: string): FakeTask {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`no task ${id}`);
    return task;
  }

  /** Like a coordinator restart without persisted workers: every worker must say hello again. */
  forgetWorkers(): void {
    this.workers.clear();
  }

  /** Takes a task back as if its lease ran out: its attempt becomes stale. */
  expire(id: string): void {
    this.requeue(this.task(id));
  }

  /** Tells the worker running the task to abort it (as a cancel does). */
  abort(id: string, reason = 'canceled by test'): void {
    const task = this.task(id);
    if (!task.workerId) throw new Error(`${id} is not on a worker`);
    const abort: WorkerAbort = { taskId: id, attempt: task.attempt, reason };
    this.nc.publish(workerAbortSubject(task.workerId), JSON.stringify(abort));
  }

  reportsFor(id: string, attempt?: number) {
    return this.reports.filter((r) => r.taskId === id && (attempt === undefined || r.attempt === attempt));
  }

  private checkToken(subject: string, ctx: HandlerContext): void {
    const token = ctx.header(WORKER_TOKEN_HEADER);
    this.tokens.push({ subject, token });
    if (token !== (this.opts.token ?? 'test-worker-token')) {
      throw new JoustingError('unauthorized', 'missing or wrong worker token (header Jst-Worker-Token)');
    }
  }

  private knownWorker(workerId: string): void {
    if (!this.workers.has(workerId))
      throw new JoustingError('not_found', `unknown worker ${workerId}; say hello`);
  }

  /** Like the real one: no more than the worker's capacity minus what it holds. */
  private assign(workerId: string, max: number): ClaimedTask[] {
    const out: ClaimedTask[] = [];
    let held = 0;
    for (const task of this.active) if (task.workerId === workerId) held++;
    const n = Math.min(max, (this.workers.get(workerId)?.capacity ?? 0) - held);
    while (out.length < n && this.readyHead < this.ready.length) {
      const id = this.ready[this.readyHead++] as string;
      const task = this.task(id);
      if (task.status !== 'queued') continue;
      task.status = 'assigned';
      task.attempt++;
      task.workerId = workerId;
      task.leaseUntil = Date.now() + this.leaseMs;
      this.active.add(task);
      out.push({
        taskId: id,
        attempt: task.attempt,
        kind: task.kind,
        title: task.title,
        payload: task.payload,
        traceId: `trace-${id}`,
        leaseMs: this.leaseMs,
      });
    }
    return out;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.readyHead >= this.ready.length) return;
      const tasks = this.assign(waiter.workerId, waiter.max);
      if (tasks.length === 0) continue;
      this.waiters = this.waiters.filter((w) => w !== waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(tasks);
    }
  }

  private requeue(task: FakeTask): void {
    this.active.delete(task);
    task.status = 'queued';
    task.workerId = undefined;
    this.ready.push(task.id);
    this.wake();
  }

  private expireLeases(): void {
    const now = Date.now();
    for (const task of this.active) if (task.leaseUntil < now) this.requeue(task);
  }

  private apply(workerId: string, report: WorkerReport) {
    const ref = { taskId: report.taskId, attempt: report.attempt };
    const task = this.tasks.get(report.taskId);
    const live =
      task &&
      task.workerId === workerId &&
      task.attempt === report.attempt &&
      (task.status === 'assigned' || task.status === 'running');
    // Like the coordinator: a heartbeat keeps an assigned (prefetched) attempt too.
    const needsRunning = report.type === 'completed' || report.type === 'failed';
    if (!task || !live || (needsRunning && task.status !== 'running')) {
      const message = `attempt ${report.attempt} of ${report.taskId} is not current`;
      this.reports.push({ ...report, workerId, refused: message });
      return { ...ref, ok: false, error: { code: 'conflict', message } };
    }
    this.reports.push({ ...report, workerId });
    task.leaseUntil = Date.now() + this.leaseMs;
    switch (report.type) {
      case 'started':
        task.status = 'running';
        break;
      case 'heartbeat':
        if (report.progress !== undefined) task.progress = report.progress;
        for (const line of report.output ?? []) task.output.push({ ...line, attempt: report.attempt });
        break;
      case 'completed':
        this.active.delete(task);
        task.status = 'complete';
        task.result = report.result;
        task.cost = report.cost;
        this.wake();
        break;
      case 'failed':
        this.active.delete(task);
        task.status = 'failed';
        task.error = { class: report.errorClass, message: report.message };
        task.cost = report.cost;
        this.wake();
        break;
      case 'released':
        task.released++;
        this.requeue(task);
        break;
    }
    return { ...ref, ok: true };
  }
}
