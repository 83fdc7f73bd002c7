import {
  type ErrorClass,
  FINAL_STATUSES,
  type FieldIssue,
  JoustingError,
  NOT_STARTED_STATUSES,
  PAYLOAD_BY_KIND,
  type ParsedNewTask,
  type TaskCost,
  type TaskPatch,
  type TaskStatus,
  TaskStatus as TaskStatusEnum,
} from '@jousting/contracts';
import { cycleIfAdded, dependencyOrder, findCycle, formatCycle, reachable } from './dag.js';
import { DeadLetterStore } from './dead-letters.js';
import { IdempotencyMap } from './idempotency.js';
import type { EditOp, NewTaskOp, Op, StatusOp } from './ops.js';
import { ReadyQueue, type WorkerMatch } from './ready-queue.js';
import type { FailureDecision } from './retry-policy.js';
import {
  AttemptRecord,
  EMPTY_LIST,
  EMPTY_PAYLOAD_JSON,
  Interner,
  type TaskError,
  TaskRecord,
} from './task-record.js';
import { checkTransition } from './transitions.js';

/** Tell a worker to stop an attempt (published on workerAbortSubject after the change is stored). */
export interface Abort {
  workerId: string;
  taskId: string;
  attempt: number;
  reason: string;
}

/** What a command did: the journal ops it applied, and the workers to tell to stop. */
export interface Change {
  ops: Op[];
  aborts: Abort[];
}

/**
 * What a failed attempt leads to: a retry after `waitMs` (the task waits in `queued`), or the
 * task becomes failed and is dead-lettered. `failures` counts this failure too.
 */
export type FailurePolicy = (task: TaskRecord, error: TaskError, failures: number) => FailureDecision;

export interface TaskTableOptions {
  now?: () => number;
  newId?: () => string;
  decideFailure?: FailurePolicy;
  /** Dead letters kept at most (default MAX_DEAD_LETTERS). */
  deadLetterCapacity?: number;
}

export interface CreateOptions {
  idempotencyKey?: string;
  traceId: string;
  /** Used as the task's source when the task names none. */
  actor: string;
  /** Field path of input i in error messages: `task` or `tasks.<i>`. */
  field: (index: number) => string;
}

const FINAL = new Set<TaskStatus>(FINAL_STATUSES);
const NOT_STARTED = new Set<TaskStatus>(NOT_STARTED_STATUSES);
const LIVE = new Set<TaskStatus>(['assigned', 'running']);
const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_RESULT_BYTES = 256 * 1024;

export const waitingOnFailed = (depId: string) => `waiting on failed dependency ${depId}`;
export const canceledBecause = (depId: string) => `dependency ${depId} was canceled`;

/**
 * The task table: every task, its dependencies, the ready queue and the counters, in memory.
 * Commands validate everything first (a refused command changes nothing) and then express their
 * effect as journal ops, each applied at once through `apply`, the only place state changes;
 * replaying the journal calls the same `apply`. No I/O here.
 */
export class TaskTable {
  readonly tasks = new Map<string, TaskRecord>();
  /** Tasks in creation order (`order` is the index). */
  readonly ordered: TaskRecord[] = [];
  readonly ready = new ReadyQueue<TaskRecord>();
  readonly idempotency = new IdempotencyMap();
  /** Queued tasks waiting for their retry time (not in `ready` until then). */
  readonly waiting = new Set<TaskRecord>();
  readonly deadLetters: DeadLetterStore;
  readonly counts = Object.fromEntries(TaskStatusEnum.options.map((s) => [s, 0])) as Record<
    TaskStatus,
    number
  >;
  /** Called with a task just before an op changes its stored fields (copy-on-write snapshots). */
  beforeChange: ((task: TaskRecord) => void) | undefined;
  /** True when all-complete should fire the next time no task is left to run. */
  armed = false;
  private readonly byWorker = new Map<string, Set<TaskRecord>>();
  private readonly intern = new Interner();
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly decideFailure: FailurePolicy;

  constructor(opts: TaskTableOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? (() => `t${this.ordered.length}`);
    this.decideFailure = opts.decideFailure ?? (() => ({ retry: false }));
    this.deadLetters = new DeadLetterStore(opts.deadLetterCapacity);
  }

  get size(): number {
    return this.ordered.length;
  }

  get unfinished(): number {
    return this.ordered.length - this.counts.complete - this.counts.failed - this.counts.canceled;
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** Tasks assigned to or running on a worker. */
  tasksOf(workerId: string): ReadonlySet<TaskRecord> {
    return this.byWorker.get(workerId) ?? new Set();
  }

  // ---------------------------------------------------------------- operator commands

  create(
    inputs: ParsedNewTask[],
    opts: CreateOptions,
  ): { tasks: TaskRecord[]; created: boolean; change: Change } {
    const change = emptyChange();
    if (opts.idempotencyKey !== undefined) {
      const seen = this.idempotency.lookup(opts.idempotencyKey);
      if (seen) return { tasks: seen.ids.map((id) => this.mustGet(id)), created: false, change };
    }
    const ids = inputs.map((t) => t.id ?? this.newId());
    const issues: FieldIssue[] = [];
    const conflicts: FieldIssue[] = [];
    const indexById = new Map<string, number>();
    ids.forEach((id, i) => {
      const earlier = indexById.get(id);
      if (earlier !== undefined) {
        issues.push({
          field: `${opts.field(i)}.id`,
          message: `duplicate id "${id}" (also ${opts.field(earlier)})`,
        });
      } else indexById.set(id, i);
      if (this.tasks.has(id))
        conflicts.push({ field: `${opts.field(i)}.id`, message: `task "${id}" already exists` });
    });
    const depsOf = new Map<string, string[]>();
    inputs.forEach((input, i) => {
      const deps = [...new Set(input.deps)];
      depsOf.set(ids[i]!, deps);
      deps.forEach((dep) => {
        const field = `${opts.field(i)}.deps.${input.deps.indexOf(dep)}`;
        if (indexById.has(dep)) return;
        const existing = this.tasks.get(dep);
        if (!existing) issues.push({ field, message: `unknown task "${dep}"` });
        else if (existing.status === 'canceled') {
          conflicts.push({ field, message: `dependency "${dep}" is canceled` });
        }
      });
    });
    if (issues.length) throw JoustingError.validation(issues);
    const cycle = findCycle(ids, (id) => depsOf.get(id) ?? EMPTY_LIST);
    if (cycle) {
      const field = `${opts.field(indexById.get(cycle[0]!)!)}.deps`;
      const message = `dependency cycle ${formatCycle(cycle)}`;
      throw new JoustingError('validation_failed', `invalid input (${field}: ${message})`, {
        fields: [{ field, message }],
        cycle,
      });
    }
    if (conflicts.length) {
      throw new JoustingError('conflict', conflicts.map((c) => `${c.field}: ${c.message}`).join('; '), {
        fields: conflicts,
      });
    }

    const at = this.now();
    const traceId = this.intern.string(opts.traceId);
    for (const id of dependencyOrder(ids, (id) => depsOf.get(id) ?? EMPTY_LIST)) {
      const input = inputs[indexById.get(id)!]!;
      const deps = depsOf.get(id)!;
      let waiting = false;
      let failedDep: string | undefined;
      for (const dep of deps) {
        const existing = this.tasks.get(dep);
        if (existing?.status !== 'complete') waiting = true;
        if (existing?.status === 'failed' && failedDep === undefined) failedDep = dep;
      }
      const op: NewTaskOp = {
        o: 'new',
        at,
        id,
        title: input.title,
        kind: input.kind,
        payload: input.payload,
        prio: input.priority,
        trace: traceId,
        source: input.source ?? opts.actor,
        status: waiting ? 'pending' : 'queued',
      };
      if (input.description) op.desc = input.description;
      if (input.labels.length) op.labels = input.labels;
      if (deps.length) op.deps = deps;
      if (failedDep !== undefined) op.reason = waitingOnFailed(failedDep);
      this.emit(change, op);
    }
    if (opts.idempotencyKey !== undefined)
      this.emit(change, { o: 'idem', at, key: opts.idempotencyKey, ids });
    return { tasks: ids.map((id) => this.mustGet(id)), created: true, change };
  }

  update(id: string, patch: TaskPatch): { task: TaskRecord; change: Change } {
    const task = this.mustGet(id);
    const change = emptyChange();
    if (!NOT_STARTED.has(task.status)) {
      throw new JoustingError(
        'conflict',
        `task ${id} is ${task.status}; only a task that has not started (${NOT_STARTED_STATUSES.join(', ')}) can be changed`,
        { id, status: task.status },
      );
    }
    if (patch.payload !== undefined) validatePayload(task.kind, patch.payload, 'patch.payload');
    const set: EditOp['set'] = {};
    if (patch.title !== undefined && patch.title !== task.title) set.title = patch.title;
    if (patch.description !== undefined && patch.description !== task.description) {
      set.description = patch.description;
    }
    if (patch.priority !== undefined && patch.priority !== task.priority) set.priority = patch.priority;
    if (patch.payload !== undefined && JSON.stringify(patch.payload) !== task.payloadJson) {
      set.payload = patch.payload;
    }
    if (patch.labels !== undefined && !sameList(patch.labels, task.labels)) set.labels = patch.labels;
    if (Object.keys(set).length === 0) return { task, change };
    this.emit(change, { o: 'edit', at: this.now(), id, s: task.status, set });
    // The worker holding it was given the old payload or may lack the new labels.
    if (task.status === 'assigned' && (set.payload !== undefined || set.labels !== undefined)) {
      this.takeBack(change, task, 'queued', 'released', 'changed before it started');
    }
    return { task, change };
  }

  cancel(
    id: string,
    reason: string | undefined,
  ): { task: TaskRecord; cascaded: Array<{ id: string; reason: string }>; change: Change } {
    const task = this.mustGet(id);
    checkTransition(task, 'canceled');
    const change = emptyChange();
    this.cancelOne(change, task, reason);
    const cascaded: Array<{ id: string; reason: string }> = [];
    const doomed = reachable(
      id,
      (n) => this.tasks.get(n)?.dependents ?? EMPTY_LIST,
      (n) => !FINAL.has(this.mustGet(n).status),
    );
    for (const { id: dependent, via } of doomed) {
      const why = canceledBecause(via);
      this.cancelOne(change, this.mustGet(dependent), why);
      cascaded.push({ id: dependent, reason: why });
    }
    this.checkAllComplete(change);
    return { task, cascaded, change };
  }

  retry(id: string, actor = 'operator'): { task: TaskRecord; change: Change } {
    const task = this.mustGet(id);
    if (task.status !== 'failed' && task.status !== 'canceled') {
      throw new JoustingError(
        'conflict',
        `task ${id} is ${task.status}; only a failed or canceled task can be retried (${task.status} → queued is not allowed)`,
        { id, from: task.status, to: 'queued' },
      );
    }
    const canceledDep = task.deps.find((d) => this.tasks.get(d)?.status === 'canceled');
    if (canceledDep !== undefined) {
      throw new JoustingError(
        'conflict',
        `dependency ${canceledDep} of task ${id} is canceled; retry it first`,
        {
          id,
          depId: canceledDep,
        },
      );
    }
    const change = emptyChange();
    const wasFailed = task.status === 'failed';
    const to = task.unmet === 0 ? 'queued' : 'pending';
    const op: StatusOp = { o: 'st', at: this.now(), id, from: task.status, to, retry: 1 };
    const reason = this.pendingReason(task);
    if (to === 'pending' && reason !== undefined) op.reason = reason;
    this.emit(change, op);
    if (this.deadLetters.get(id)) this.emit(change, { o: 'dl-', at: this.now(), id, actor });
    if (wasFailed) {
      for (const dependentId of task.dependents) {
        const dependent = this.mustGet(dependentId);
        if (dependent.statusReason === waitingOnFailed(id)) this.refreshReason(change, dependent);
      }
    }
    return { task, change };
  }

  /** A new attempt for a dead-lettered task, with a new priority or labels if given. */
  retryDeadLetter(
    id: string,
    patch: { priority?: number; labels?: string[] },
    actor: string,
  ): { task: TaskRecord; change: Change } {
    this.mustGetDeadLetter(id);
    const task = this.mustGet(id);
    if (task.status !== 'failed') {
      throw new JoustingError('conflict', `task ${id} is ${task.status}; only a failed task can be retried`, {
        id,
        from: task.status,
        to: 'queued',
      });
    }
    const { change } = this.retry(id, actor);
    const edit = this.update(id, patch);
    change.ops.push(...edit.change.ops);
    change.aborts.push(...edit.change.aborts);
    return { task, change };
  }

  dismissDeadLetter(id: string, reason: string, actor: string): Change {
    this.mustGetDeadLetter(id);
    const change = emptyChange();
    this.emit(change, { o: 'dl~', at: this.now(), id, reason, actor });
    return change;
  }

  /** Moves waiting retries whose time has come into the ready queue; returns how many. */
  releaseDue(now: number): number {
    let released = 0;
    for (const task of this.waiting) {
      if (task.notBefore > now) continue;
      this.waiting.delete(task);
      this.ready.add(task);
      released++;
    }
    return released;
  }

  /** The earliest retry time of a waiting task, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const task of this.waiting) if (next === undefined || task.notBefore < next) next = task.notBefore;
    return next;
  }

  addDep(id: string, depId: string): { task: TaskRecord; change: Change } {
    const task = this.mustGet(id);
    const change = emptyChange();
    if (id === depId) {
      throw new JoustingError(
        'validation_failed',
        `invalid input (depId: a task cannot depend on itself: ${formatCycle([id, id])})`,
        { fields: [{ field: 'depId', message: 'a task cannot depend on itself' }], cycle: [id, id] },
      );
    }
    const dep = this.tasks.get(depId);
    if (!dep) throw JoustingError.validation([{ field: 'depId', message: `unknown task "${depId}"` }]);
    this.assertDepsEditable(task);
    if (task.deps.includes(depId)) return { task, change };
    if (dep.status === 'canceled') {
      throw new JoustingError('conflict', `dependency ${depId} is canceled; ${id} could never run`, {
        id,
        depId,
      });
    }
    const cycle = cycleIfAdded(id, depId, (n) => this.tasks.get(n)?.deps ?? EMPTY_LIST);
    if (cycle) {
      // A request that can never be valid against this graph: 400, with the path to show.
      const message = `${depId} already depends on ${id}: ${formatCycle(cycle)}`;
      throw new JoustingError('validation_failed', `invalid input (depId: ${message})`, {
        fields: [{ field: 'depId', message }],
        cycle,
      });
    }
    this.emit(change, { o: 'dep+', at: this.now(), id, dep: depId });
    if (dep.status !== 'complete') {
      const reason = dep.status === 'failed' ? waitingOnFailed(depId) : undefined;
      if (task.status === 'queued') {
        const op: StatusOp = { o: 'st', at: this.now(), id, from: 'queued', to: 'pending' };
        if (reason !== undefined) op.reason = reason;
        this.emit(change, op);
      } else if (task.status === 'assigned') {
        this.takeBack(change, task, 'pending', 'released', `dependency ${depId} was added`);
        if (reason !== undefined) this.emit(change, { o: 'why', at: this.now(), id, s: 'pending', reason });
      } else if (task.status === 'pending' && reason !== undefined && task.statusReason === undefined) {
        this.emit(change, { o: 'why', at: this.now(), id, s: 'pending', reason });
      }
    }
    return { task, change };
  }

  removeDep(id: string, depId: string): { task: TaskRecord; change: Change } {
    const task = this.mustGet(id);
    const change = emptyChange();
    this.assertDepsEditable(task);
    if (!task.deps.includes(depId)) return { task, change };
    this.emit(change, { o: 'dep-', at: this.now(), id, dep: depId });
    if (task.status === 'pending' && task.unmet === 0) {
      this.emit(change, { o: 'st', at: this.now(), id, from: 'pending', to: 'queued' });
    } else if (task.status === 'pending' && task.statusReason === waitingOnFailed(depId)) {
      this.refreshReason(change, task);
    }
    return { task, change };
  }

  // ---------------------------------------------------------------- worker protocol

  /** Assigns up to `max` ready tasks the worker can run, best first. */
  /**
   * Assigns up to `max` ready tasks to a worker, best first. `admit` may refuse a task (a rate
   * limit): its kind is then skipped for the rest of this claim, so other kinds still go.
   */
  claim(
    worker: WorkerMatch & { id: string },
    max: number,
    admit?: (task: TaskRecord) => boolean,
  ): { tasks: TaskRecord[]; change: Change } {
    const change = emptyChange();
    const tasks: TaskRecord[] = [];
    const at = this.now();
    let match: WorkerMatch = worker;
    while (tasks.length < max) {
      const task = this.ready.peekFor(match);
      if (!task) break;
      if (admit && !admit(task)) {
        const kinds = match.kinds.filter((k) => k !== task.kind);
        if (kinds.length === 0) break;
        match = { kinds, labels: match.labels };
        continue;
      }
      const number = (task.attempts?.length ?? 0) + 1;
      this.emit(change, {
        o: 'st',
        at,
        id: task.id,
        from: 'queued',
        to: 'assigned',
        w: worker.id,
        a: number,
      });
      tasks.push(task);
    }
    return { tasks, change };
  }

  /** The live attempt a worker reports on, or a refusal: not_found for an unknown task, conflict when stale. */
  liveAttempt(workerId: string, taskId: string, attempt: number): TaskRecord {
    const task = this.tasks.get(taskId);
    if (!task) throw new JoustingError('not_found', `task ${taskId} not found`);
    const current = task.currentAttempt;
    if (!LIVE.has(task.status) || task.workerId !== workerId || current?.number !== attempt) {
      const where = LIVE.has(task.status)
        ? `${task.status} as attempt ${current?.number} on worker ${task.workerId}`
        : task.status;
      throw new JoustingError(
        'conflict',
        `attempt ${attempt} of task ${taskId} on worker ${workerId} is stale: the task is ${where}`,
        { id: taskId, attempt, status: task.status },
      );
    }
    return task;
  }

  started(workerId: string, taskId: string, attempt: number): Change {
    const task = this.liveAttempt(workerId, taskId, attempt);
    const change = emptyChange();
    if (task.status === 'assigned') {
      this.emit(change, {
        o: 'st',
        at: this.now(),
        id: taskId,
        from: 'assigned',
        to: 'running',
        w: workerId,
        a: attempt,
      });
    }
    return change;
  }

  completed(workerId: string, taskId: string, attempt: number, result: unknown, cost?: TaskCost): Change {
    const task = this.liveAttempt(workerId, taskId, attempt);
    if (result !== undefined && JSON.stringify(result).length > MAX_RESULT_BYTES) {
      throw JoustingError.validation([
        { field: 'result', message: `must be at most ${MAX_RESULT_BYTES} bytes as JSON` },
      ]);
    }
    const change = this.started(workerId, taskId, attempt);
    const op: StatusOp = {
      o: 'st',
      at: this.now(),
      id: taskId,
      from: 'running',
      to: 'complete',
      w: workerId,
      a: attempt,
    };
    if (result !== undefined) op.res = result;
    if (cost) op.cost = cost;
    this.emit(change, op);
    for (const dependentId of task.dependents) {
      const dependent = this.mustGet(dependentId);
      if (dependent.status === 'pending' && dependent.unmet === 0) {
        this.emit(change, { o: 'st', at: this.now(), id: dependentId, from: 'pending', to: 'queued' });
      }
    }
    this.checkAllComplete(change);
    return change;
  }

  failed(
    workerId: string,
    taskId: string,
    attempt: number,
    errorClass: ErrorClass,
    message: string,
    cost?: TaskCost,
  ): Change {
    const task = this.liveAttempt(workerId, taskId, attempt);
    const change = emptyChange();
    const err = { class: errorClass, message };
    const decision = this.decideFailure(task, err, task.failures + 1);
    const at = this.now();
    const op: StatusOp = {
      o: 'st',
      at,
      id: taskId,
      from: task.status,
      to: decision.retry ? 'queued' : 'failed',
      w: workerId,
      a: attempt,
      out: 'failed',
      err,
    };
    if (decision.retry) op.reason = `retrying after: ${message}`;
    if (cost) op.cost = cost;
    this.emit(change, op);
    if (decision.retry) {
      this.emit(change, {
        o: 'wait',
        at,
        id: taskId,
        a: attempt,
        until: at + decision.waitMs,
        err,
        left: decision.retriesLeft,
      });
    } else {
      this.emit(change, {
        o: 'dl',
        at,
        id: taskId,
        kind: task.kind,
        title: task.title,
        attempts: task.attempts?.length ?? attempt,
        err,
      });
      for (const dependentId of task.dependents) {
        const dependent = this.mustGet(dependentId);
        if (dependent.status === 'pending' && dependent.statusReason === undefined) {
          this.emit(change, {
            o: 'why',
            at: this.now(),
            id: dependentId,
            s: 'pending',
            reason: waitingOnFailed(taskId),
          });
        }
      }
      this.checkAllComplete(change);
    }
    return change;
  }

  released(workerId: string, taskId: string, attempt: number, reason: string): Change {
    const task = this.liveAttempt(workerId, taskId, attempt);
    const change = emptyChange();
    this.takeBack(change, task, 'queued', 'released', `released by worker ${workerId}: ${reason}`, false);
    return change;
  }

  /**
   * A running task made no progress for too long: it is blocked for an operator (requeue or
   * cancel) and its worker is told to stop the attempt.
   */
  block(taskId: string, attempt: number, reason: string): Change {
    const change = emptyChange();
    const task = this.tasks.get(taskId);
    if (task?.status !== 'running' || task.currentAttempt?.number !== attempt) return change;
    const workerId = task.currentAttempt.workerId;
    change.aborts.push({ workerId, taskId, attempt, reason });
    this.emit(change, {
      o: 'st',
      at: this.now(),
      id: taskId,
      from: 'running',
      to: 'blocked',
      w: workerId,
      a: attempt,
      out: 'blocked',
      reason,
    });
    return change;
  }

  /** An operator puts a blocked task back: queued (or pending) for a new attempt. */
  requeue(id: string): { task: TaskRecord; change: Change } {
    const task = this.mustGet(id);
    if (task.status !== 'blocked') {
      throw new JoustingError(
        'conflict',
        `task ${id} is ${task.status}; only a blocked task can be requeued (${task.status} → queued is not allowed)`,
        { id, from: task.status, to: 'queued' },
      );
    }
    const change = emptyChange();
    const to = task.unmet === 0 ? 'queued' : 'pending';
    const op: StatusOp = {
      o: 'st',
      at: this.now(),
      id,
      from: 'blocked',
      to,
      reason: 'requeued by an operator',
    };
    this.emit(change, op);
    return { task, change };
  }

  /** The lease of an attempt ran out: the task goes back to the queue and the attempt is lost. */
  expireLease(taskId: string, attempt: number, workerId: string): Change {
    const change = emptyChange();
    const task = this.tasks.get(taskId);
    if (
      !task ||
      !LIVE.has(task.status) ||
      task.workerId !== workerId ||
      task.currentAttempt?.number !== attempt
    ) {
      return change;
    }
    this.takeBack(change, task, 'queued', 'lost', `lease expired: worker ${workerId} stopped reporting`);
    return change;
  }

  /** Every assigned or running task goes back to the queue and its worker is told to stop it. */
  releaseLive(reason: string): { ids: string[]; change: Change } {
    const change = emptyChange();
    const ids: string[] = [];
    for (const workerId of [...this.byWorker.keys()]) {
      for (const task of [...this.tasksOf(workerId)]) {
        this.takeBack(change, task, 'queued', 'released', reason);
        ids.push(task.id);
      }
    }
    return { ids, change };
  }

  /** A leaving worker gives back everything it holds. */
  releaseWorker(workerId: string, reason: string): { ids: string[]; change: Change } {
    const change = emptyChange();
    const ids: string[] = [];
    for (const task of [...this.tasksOf(workerId)]) {
      this.takeBack(change, task, 'queued', 'released', reason, false);
      ids.push(task.id);
    }
    return { ids, change };
  }

  // ---------------------------------------------------------------- applying ops

  /** Applies one journal op; the only code that changes tasks. Throws on an impossible op (a bug). */
  apply(op: Op): void {
    switch (op.o) {
      case 'new':
        this.applyNew(op);
        return;
      case 'st':
        this.applyStatus(op);
        return;
      case 'edit': {
        const task = this.mustGet(op.id);
        this.beforeChange?.(task);
        const requeue =
          task.readyIndex >= 0 && (op.set.priority !== undefined || op.set.labels !== undefined);
        if (requeue) this.ready.remove(task);
        if (op.set.title !== undefined) task.title = op.set.title;
        if (op.set.description !== undefined) task.description = op.set.description;
        if (op.set.priority !== undefined) task.priority = op.set.priority;
        if (op.set.payload !== undefined) task.payloadJson = payloadJson(op.set.payload);
        if (op.set.labels !== undefined) task.labels = this.intern.list(op.set.labels);
        if (requeue) this.ready.add(task);
        task.updatedAt = op.at;
        return;
      }
      case 'why': {
        const task = this.mustGet(op.id);
        this.beforeChange?.(task);
        task.statusReason = op.reason;
        task.updatedAt = op.at;
        return;
      }
      case 'dep+': {
        const task = this.mustGet(op.id);
        const dep = this.mustGet(op.dep);
        this.beforeChange?.(task);
        task.deps = [...task.deps, op.dep];
        addDependent(dep, task.id);
        if (dep.status !== 'complete') task.unmet++;
        task.updatedAt = op.at;
        return;
      }
      case 'dep-': {
        const task = this.mustGet(op.id);
        const dep = this.mustGet(op.dep);
        this.beforeChange?.(task);
        task.deps = task.deps.filter((d) => d !== op.dep);
        removeDependent(dep, task.id);
        if (dep.status !== 'complete') task.unmet--;
        task.updatedAt = op.at;
        return;
      }
      case 'idem':
        this.idempotency.remember(op.key, op.ids, op.at);
        return;
      case 'all':
        this.armed = false;
        return;
      case 'wait': {
        const task = this.mustGet(op.id);
        if (task.status !== 'queued') throw new Error(`retry wait for ${op.id}, which is ${task.status}`);
        this.beforeChange?.(task);
        task.notBefore = op.until;
        this.holdIfEarly(task);
        return;
      }
      case 'dl':
        this.deadLetters.put({
          id: op.id,
          kind: op.kind,
          title: op.title,
          attempts: op.attempts,
          lastError: { ...op.err },
          status: 'open',
          createdAt: op.at,
          updatedAt: op.at,
        });
        return;
      case 'dl~':
        this.deadLetters.dismiss(op.id, op.reason, op.at);
        return;
      case 'dl-':
        this.deadLetters.remove(op.id);
        return;
    }
  }

  /** A queued task whose retry time has not come waits outside the ready queue. */
  private holdIfEarly(task: TaskRecord): void {
    if (task.notBefore > this.now()) {
      this.ready.remove(task);
      this.waiting.add(task);
    }
  }

  /** Rebuilds a stored task (snapshot load): derived fields are recomputed by `linkAll`. */
  restore(task: TaskRecord): void {
    if (task.order !== this.ordered.length) throw new Error(`snapshot order broken at task ${task.id}`);
    task.kind = this.intern.string(task.kind);
    task.labels = this.intern.list(task.labels);
    this.tasks.set(task.id, task);
    this.ordered.push(task);
    this.counts[task.status]++;
  }

  /** After restoring tasks: reverse edges, unmet counters, ready queue and the worker index. */
  linkAll(): void {
    for (const task of this.ordered) {
      for (const depId of task.deps) {
        const dep = this.mustGet(depId);
        addDependent(dep, task.id);
        if (dep.status !== 'complete') task.unmet++;
      }
    }
    for (const task of this.ordered) {
      if (task.status === 'queued') {
        this.ready.add(task);
        this.holdIfEarly(task);
      }
      if (LIVE.has(task.status) && task.workerId !== undefined) this.indexWorker(task, task.workerId);
    }
  }

  // ---------------------------------------------------------------- internals

  private emit(change: Change, op: Op): void {
    this.apply(op);
    change.ops.push(op);
  }

  private applyNew(op: NewTaskOp): void {
    if (this.tasks.has(op.id)) throw new Error(`task ${op.id} exists already`);
    const task = new TaskRecord(
      this.ordered.length,
      op.id,
      op.title,
      this.intern.string(op.kind),
      payloadJson(op.payload),
      op.prio,
      op.at,
      this.intern.string(op.trace),
      this.intern.string(op.source),
    );
    if (op.desc) task.description = op.desc;
    task.labels = this.intern.list(op.labels);
    if (op.deps?.length) {
      task.deps = op.deps;
      for (const depId of op.deps) {
        const dep = this.mustGet(depId);
        addDependent(dep, task.id);
        if (dep.status !== 'complete') task.unmet++;
      }
    }
    task.status = op.status;
    task.statusReason = op.reason;
    this.tasks.set(task.id, task);
    this.ordered.push(task);
    this.counts[task.status]++;
    this.armed = true;
    if (task.status === 'queued') {
      if (task.unmet > 0) throw new Error(`task ${task.id} queued with ${task.unmet} unmet dependencies`);
      this.ready.add(task);
    }
  }

  private applyStatus(op: StatusOp): void {
    const task = this.mustGet(op.id);
    if (task.status !== op.from)
      throw new Error(`op for ${op.id} expects ${op.from}, task is ${task.status}`);
    checkTransition(task, op.to);
    if (op.to === 'queued' && task.unmet > 0) throw new Error(`task ${op.id} queued with unmet dependencies`);
    this.beforeChange?.(task);
    const from = task.status;
    if (from === 'queued') this.ready.remove(task);
    if (task.notBefore) {
      this.waiting.delete(task);
      task.notBefore = 0;
    }
    if (op.to === 'assigned') {
      const attempt = new AttemptRecord(op.a ?? (task.attempts?.length ?? 0) + 1, op.w ?? '', op.at);
      if (task.attempts) task.attempts.push(attempt);
      else task.attempts = [attempt];
      task.workerId = attempt.workerId;
      this.indexWorker(task, attempt.workerId);
    } else if (op.to === 'running') {
      const attempt = task.currentAttempt!;
      attempt.startedAt = op.at;
      attempt.outcome = 'running';
    } else if (LIVE.has(from)) {
      const attempt = task.currentAttempt!;
      attempt.endedAt = op.at;
      attempt.outcome = op.out ?? defaultOutcome(op.to);
      if (attempt.outcome === 'failed') task.failures++;
      if (op.err) attempt.error = op.err;
      if (op.cost) attempt.cost = op.cost;
      this.unindexWorker(task);
      task.workerId = undefined;
    }
    if (op.cost) task.cost = addCost(task.cost, op.cost);
    if (op.err) task.error = op.err;
    if (op.retry) {
      task.failures = 0;
      task.error = undefined;
      task.resultJson = undefined;
    }
    if (op.to === 'complete') {
      task.resultJson = op.res === undefined ? undefined : JSON.stringify(op.res);
      for (const dependentId of task.dependents) this.mustGet(dependentId).unmet--;
    }
    task.statusReason = op.reason;
    task.status = op.to;
    task.updatedAt = op.at;
    this.counts[from]--;
    this.counts[op.to]++;
    if (FINAL.has(from) && !FINAL.has(op.to)) this.armed = true;
    if (op.to === 'queued') this.ready.add(task);
  }

  private cancelOne(change: Change, task: TaskRecord, reason: string | undefined): void {
    const op: StatusOp = { o: 'st', at: this.now(), id: task.id, from: task.status, to: 'canceled' };
    if (reason !== undefined) op.reason = reason;
    if (LIVE.has(task.status)) {
      const attempt = task.currentAttempt!;
      op.out = 'canceled';
      op.w = attempt.workerId;
      op.a = attempt.number;
      change.aborts.push({
        workerId: attempt.workerId,
        taskId: task.id,
        attempt: attempt.number,
        reason: reason ?? 'canceled',
      });
    }
    this.emit(change, op);
  }

  /** Ends the live attempt of an assigned or running task and puts the task back. */
  private takeBack(
    change: Change,
    task: TaskRecord,
    to: 'queued' | 'pending',
    outcome: 'lost' | 'released',
    reason: string,
    abort = true,
  ): void {
    const attempt = task.currentAttempt!;
    const op: StatusOp = {
      o: 'st',
      at: this.now(),
      id: task.id,
      from: task.status,
      to: to === 'queued' && task.unmet > 0 ? 'pending' : to,
      w: attempt.workerId,
      a: attempt.number,
      out: outcome,
      reason,
    };
    if (abort)
      change.aborts.push({ workerId: attempt.workerId, taskId: task.id, attempt: attempt.number, reason });
    this.emit(change, op);
  }

  private checkAllComplete(change: Change): void {
    if (!this.armed || this.unfinished > 0 || this.ordered.length === 0) return;
    this.emit(change, {
      o: 'all',
      at: this.now(),
      total: this.ordered.length,
      complete: this.counts.complete,
      failed: this.counts.failed,
      canceled: this.counts.canceled,
    });
  }

  /** The reason a pending task waits: its first failed dependency, if any. */
  private pendingReason(task: TaskRecord): string | undefined {
    const failed = task.deps.find((d) => this.tasks.get(d)?.status === 'failed');
    return failed === undefined ? undefined : waitingOnFailed(failed);
  }

  private refreshReason(change: Change, task: TaskRecord): void {
    if (task.status !== 'pending') return;
    const reason = this.pendingReason(task);
    if (reason === task.statusReason) return;
    this.emit(change, { o: 'why', at: this.now(), id: task.id, s: 'pending', ...(reason ? { reason } : {}) });
  }

  private assertDepsEditable(task: TaskRecord): void {
    if (!NOT_STARTED.has(task.status)) {
      throw new JoustingError(
        'conflict',
        `task ${task.id} is ${task.status}; dependencies can change only before it starts`,
        { id: task.id, status: task.status },
      );
    }
  }

  private indexWorker(task: TaskRecord, workerId: string): void {
    let set = this.byWorker.get(workerId);
    if (!set) {
      set = new Set();
      this.byWorker.set(workerId, set);
    }
    set.add(task);
  }

  private unindexWorker(task: TaskRecord): void {
    if (task.workerId === undefined) return;
    const set = this.byWorker.get(task.workerId);
    set?.delete(task);
    if (set?.size === 0) this.byWorker.delete(task.workerId);
  }

  private mustGetDeadLetter(id: string) {
    const record = this.deadLetters.get(id);
    if (!record) throw new JoustingError('not_found', `dead letter ${id} not found`, { id });
    return record;
  }

  mustGet(id: string): TaskRecord {
    const task = this.tasks.get(id);
    if (!task) throw new JoustingError('not_found', `task ${id} not found`, { id });
    return task;
  }
}

function emptyChange(): Change {
  return { ops: [], aborts: [] };
}

function defaultOutcome(to: TaskStatus): AttemptRecord['outcome'] {
  if (to === 'complete') return 'complete';
  if (to === 'failed') return 'failed';
  if (to === 'canceled') return 'canceled';
  return 'lost';
}

function payloadJson(payload: Record<string, unknown>): string {
  const json = JSON.stringify(payload);
  return json === EMPTY_PAYLOAD_JSON ? EMPTY_PAYLOAD_JSON : json;
}

function addCost(a: TaskCost | undefined, b: TaskCost): TaskCost {
  if (!a) return { usd: b.usd, inputTokens: b.inputTokens, outputTokens: b.outputTokens };
  return {
    usd: a.usd + b.usd,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  };
}

function addDependent(dep: TaskRecord, id: string): void {
  if (dep.dependents === EMPTY_LIST) dep.dependents = [id];
  else (dep.dependents as string[]).push(id);
}

function removeDependent(dep: TaskRecord, id: string): void {
  const list = dep.dependents as string[];
  const index = list.indexOf(id);
  if (index >= 0) list.splice(index, 1);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Checks a payload against the schema of its kind (built-in kinds only) and the size limit. */
export function validatePayload(kind: string, payload: Record<string, unknown>, field: string): void {
  const issues: FieldIssue[] = [];
  const schema = PAYLOAD_BY_KIND[kind];
  const result = schema?.safeParse(payload);
  if (result && !result.success) {
    for (const issue of result.error.issues) {
      const path = [field, ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') path.push(issue.keys.join(','));
      issues.push({
        field: path.join('.'),
        message: issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message,
      });
    }
  }
  if (JSON.stringify(payload).length > MAX_PAYLOAD_BYTES) {
    issues.push({ field, message: `must be at most ${MAX_PAYLOAD_BYTES} bytes as JSON` });
  }
  if (issues.length) throw JoustingError.validation(issues);
}
