import { endpoint, type HandlerContext, serveCommands } from '@jousting/bus';
import {
  coordCommands,
  type DeadLetter,
  FINAL_STATUSES,
  healthCommand,
  JoustingError,
  NOT_STARTED_STATUSES,
  type ParsedNewTask,
  type Progress,
  type Task,
  type TaskStatus,
  TaskStatus as TaskStatusSchema,
  type TaskSummary,
  type WorkerInfo,
} from '@jousting/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger } from './harness.js';

export interface CoordinatorCall {
  op: string;
  request: Record<string, unknown>;
  traceId: string;
}

/**
 * A stand-in coordinator on the real NATS server: the operator commands over tasks held in
 * memory, with the error replies the real one gives (not_found, conflict for a task that started
 * or is final, validation_failed with the cycle path). The real service is services/coordinator;
 * this one exists so the gateway is tested alone. Every call is recorded.
 */
export async function startCoordinatorResponder(nc: NatsConnection, opts: { workers?: WorkerInfo[] } = {}) {
  const tasks = new Map<string, Task>();
  const keys = new Map<string, string[]>();
  const calls: CoordinatorCall[] = [];
  /** Dead letters by task id, oldest first. */
  const deadLetters = new Map<string, DeadLetter>();
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let counter = 0;
  const now = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };

  const record = (op: string) => (request: object, ctx: HandlerContext) => {
    calls.push({ op, request: request as Record<string, unknown>, traceId: ctx.traceId });
  };
  const mustGet = (id: string) => {
    const task = tasks.get(id);
    if (!task) throw new JoustingError('not_found', `task ${id} does not exist`);
    return task;
  };
  const dependentsOf = (id: string) =>
    [...tasks.values()].filter((t) => t.deps.includes(id)).map((t) => t.id);
  const readyStatus = (deps: string[]): TaskStatus =>
    deps.every((d) => tasks.get(d)?.status === 'complete') ? 'queued' : 'pending';

  function build(input: ParsedNewTask, traceId: string): Task {
    const time = now();
    return {
      id: input.id ?? `t${String(++counter).padStart(4, '0')}`,
      title: input.title,
      description: input.description,
      kind: input.kind,
      payload: input.payload,
      priority: input.priority,
      labels: input.labels,
      deps: input.deps,
      status: 'pending',
      attempts: [],
      cost: { usd: 0, inputTokens: 0, outputTokens: 0 },
      createdAt: time,
      updatedAt: time,
      traceId,
      source: input.source ?? 'test',
    };
  }

  /** Adds new tasks all or nothing; deps may name existing tasks or other members. */
  function insert(inputs: ParsedNewTask[], traceId: string, field: (i: number) => string): Task[] {
    const built = inputs.map((input) => build(input, traceId));
    const ids = new Set(built.map((t) => t.id));
    built.forEach((task, i) => {
      if (tasks.has(task.id)) {
        const issue = { field: `${field(i)}id`, message: `task "${task.id}" already exists` };
        throw new JoustingError('conflict', `${issue.field}: ${issue.message}`, { fields: [issue] });
      }
      task.deps.forEach((dep, j) => {
        if (!tasks.has(dep) && !ids.has(dep)) {
          throw JoustingError.validation([
            { field: `${field(i)}deps.${j}`, message: `unknown task "${dep}"` },
          ]);
        }
      });
    });
    for (const task of built) tasks.set(task.id, task);
    for (const task of built) task.status = readyStatus(task.deps);
    return built;
  }

  function summary(task: Task): TaskSummary {
    const { id, title, kind, priority, labels, deps, status, statusReason, workerId, createdAt, updatedAt } =
      task;
    return {
      id,
      title,
      kind,
      priority,
      labels,
      deps,
      status,
      ...(statusReason ? { statusReason } : {}),
      ...(workerId ? { workerId } : {}),
      createdAt,
      updatedAt,
      attemptCount: task.attempts.length,
    };
  }

  function progress(): Progress {
    const byStatus = Object.fromEntries(TaskStatusSchema.options.map((s) => [s, 0])) as Record<
      TaskStatus,
      number
    >;
    for (const task of tasks.values()) byStatus[task.status]++;
    const total = tasks.size;
    return { total, byStatus, percentDone: total === 0 ? 0 : (byStatus.complete / total) * 100 };
  }

  /** The deps path from `from` to `to`, if there is one. */
  function pathBetween(from: string, to: string, seen = new Set<string>()): string[] | undefined {
    if (from === to) return [to];
    if (seen.has(from)) return undefined;
    seen.add(from);
    for (const dep of tasks.get(from)?.deps ?? []) {
      const rest = pathBetween(dep, to, seen);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  const service = await serveCommands(
    nc,
    { name: 'coordinator', version: '0.0.0-test', logger: silentLogger },
    [
      endpoint(coordCommands.create, async (req, ctx) => {
        record('create')(req, ctx);
        const known = req.idempotencyKey ? keys.get(req.idempotencyKey) : undefined;
        if (known) return { task: mustGet(known[0]!), created: false };
        const [task] = insert([req.task], ctx.traceId, () => 'task.');
        if (req.idempotencyKey) keys.set(req.idempotencyKey, [task!.id]);
        return { task: task!, created: true };
      }),
      endpoint(coordCommands.createBatch, async (req, ctx) => {
        record('create-batch')(req, ctx);
        const known = req.idempotencyKey ? keys.get(req.idempotencyKey) : undefined;
        if (known) return { tasks: known.map(mustGet), created: false };
        const created = insert(req.tasks, ctx.traceId, (i) => `tasks.${i}.`);
        if (req.idempotencyKey)
          keys.set(
            req.idempotencyKey,
            created.map((t) => t.id),
          );
        return { tasks: created, created: true };
      }),
      endpoint(coordCommands.get, async (req, ctx) => {
        record('get')(req, ctx);
        return { ...mustGet(req.id), dependents: dependentsOf(req.id), output: [] };
      }),
      endpoint(coordCommands.list, async (req, ctx) => {
        record('list')(req, ctx);
        const matching = [...tasks.values()]
          .filter((t) => !req.status || req.status.includes(t.status))
          .filter((t) => !req.label || t.labels.includes(req.label))
          .filter((t) => !req.kind || t.kind === req.kind)
          .filter((t) => !req.q || `${t.id} ${t.title} ${t.description}`.includes(req.q))
          .reverse();
        const items = matching.slice(req.offset, req.offset + req.limit).map(summary);
        return {
          items,
          total: matching.length,
          limit: req.limit,
          offset: req.offset,
          hasMore: req.offset + items.length < matching.length,
        };
      }),
      endpoint(coordCommands.update, async (req, ctx) => {
        record('update')(req, ctx);
        const task = mustGet(req.id);
        if (!NOT_STARTED_STATUSES.includes(task.status)) {
          throw new JoustingError(
            'conflict',
            `task ${task.id} is ${task.status}; only a task that has not started can be changed`,
          );
        }
        Object.assign(task, req.patch, { updatedAt: now() });
        return task;
      }),
      endpoint(coordCommands.cancel, async (req, ctx) => {
        record('cancel')(req, ctx);
        const task = mustGet(req.id);
        if (FINAL_STATUSES.includes(task.status)) {
          throw new JoustingError('conflict', `task ${task.id} is ${task.status} and cannot be canceled`);
        }
        Object.assign(task, { status: 'canceled', statusReason: req.reason ?? 'canceled', updatedAt: now() });
        const cascaded: { id: string; reason: string }[] = [];
        const queue = [task.id];
        while (queue.length > 0) {
          const id = queue.shift()!;
          for (const depId of dependentsOf(id)) {
            const dependent = tasks.get(depId)!;
            if (FINAL_STATUSES.includes(dependent.status)) continue;
            const reason = `dependency ${id} was canceled`;
            Object.assign(dependent, { status: 'canceled', statusReason: reason, updatedAt: now() });
            cascaded.push({ id: depId, reason });
            queue.push(depId);
          }
        }
        return { task, cascaded, cascadedTotal: cascaded.length };
      }),
      endpoint(coordCommands.retry, async (req, ctx) => {
        record('retry')(req, ctx);
        const task = mustGet(req.id);
        if (task.status !== 'failed' && task.status !== 'canceled') {
          throw new JoustingError(
            'conflict',
            `task ${task.id} is ${task.status}; only a failed or canceled task can be retried`,
          );
        }
        Object.assign(task, { status: readyStatus(task.deps), statusReason: undefined, updatedAt: now() });
        return task;
      }),
      endpoint(coordCommands.addDep, async (req, ctx) => {
        record('add-dep')(req, ctx);
        const task = mustGet(req.id);
        if (!tasks.has(req.depId)) {
          throw JoustingError.validation([{ field: 'depId', message: `unknown task "${req.depId}"` }]);
        }
        if (!NOT_STARTED_STATUSES.includes(task.status)) {
          throw new JoustingError(
            'conflict',
            `task ${task.id} is ${task.status}; its dependencies can no longer change`,
          );
        }
        const back = pathBetween(req.depId, req.id);
        if (back) {
          const cycle = [req.id, ...back];
          throw new JoustingError('validation_failed', `that would close a cycle: ${cycle.join(' → ')}`, {
            fields: [{ field: 'depId', message: `${req.depId} already depends on ${req.id}` }],
            cycle,
          });
        }
        if (!task.deps.includes(req.depId)) task.deps.push(req.depId);
        task.status = readyStatus(task.deps);
        return task;
      }),
      endpoint(coordCommands.removeDep, async (req, ctx) => {
        record('remove-dep')(req, ctx);
        const task = mustGet(req.id);
        task.deps = task.deps.filter((d) => d !== req.depId);
        return task;
      }),
      endpoint(coordCommands.graph, async (req, ctx) => {
        record('graph')(req, ctx);
        const levels: string[][] = [];
        const placed = new Set<string>();
        while (placed.size < tasks.size) {
          const level = [...tasks.values()]
            .filter((t) => !placed.has(t.id) && t.deps.every((d) => placed.has(d)))
            .map((t) => t.id);
          if (level.length === 0) break;
          for (const id of level) placed.add(id);
          levels.push(level);
        }
        return {
          nodes: [...tasks.values()].map(summary),
          edges: [...tasks.values()].flatMap((t) => t.deps.map((d) => ({ from: d, to: t.id }))),
          levels,
          progress: progress(),
        };
      }),
      endpoint(coordCommands.progress, async (req, ctx) => {
        record('progress')(req, ctx);
        return progress();
      }),
      endpoint(coordCommands.workers, async (req, ctx) => {
        record('workers')(req, ctx);
        return { items: opts.workers ?? [] };
      }),
      endpoint(coordCommands.deadLetters, async (req, ctx) => {
        record('dead-letters')(req, ctx);
        const matching = [...deadLetters.values()]
          .filter((d) => !req.status || d.status === req.status)
          .filter((d) => !req.kind || d.kind === req.kind)
          .reverse();
        const items = matching.slice(req.offset, req.offset + req.limit);
        return {
          items,
          total: matching.length,
          limit: req.limit,
          offset: req.offset,
          hasMore: req.offset + items.length < matching.length,
        };
      }),
      endpoint(coordCommands.deadLetterRetry, async (req, ctx) => {
        record('dead-letter-retry')(req, ctx);
        if (!deadLetters.has(req.id)) throw new JoustingError('not_found', `dead letter ${req.id} not found`);
        const task = mustGet(req.id);
        if (task.status !== 'failed') {
          throw new JoustingError(
            'conflict',
            `task ${task.id} is ${task.status}; only a failed task can be retried`,
          );
        }
        deadLetters.delete(req.id);
        Object.assign(task, {
          status: readyStatus(task.deps),
          statusReason: undefined,
          updatedAt: now(),
          ...(req.priority === undefined ? {} : { priority: req.priority }),
          ...(req.labels === undefined ? {} : { labels: req.labels }),
        });
        return task;
      }),
      endpoint(coordCommands.deadLetterDismiss, async (req, ctx) => {
        record('dead-letter-dismiss')(req, ctx);
        const letter = deadLetters.get(req.id);
        if (!letter) throw new JoustingError('not_found', `dead letter ${req.id} not found`);
        Object.assign(letter, { status: 'dismissed', dismissReason: req.reason, updatedAt: now() });
        return letter;
      }),
      endpoint(healthCommand('coordinator'), async () => ({
        service: 'coordinator',
        instance: 'coordinator-test',
        version: '0.0.0-test',
        uptimeSeconds: 0,
        status: 'ok' as const,
      })),
    ],
  );

  let stopped: Promise<void> | undefined;
  return {
    calls,
    tasks,
    /** Sets a task's status as if a worker had moved it (e.g. to `running` or `failed`). */
    setStatus(id: string, status: TaskStatus) {
      mustGet(id).status = status;
    },
    /** Fails a task for good, as the real coordinator does after a fatal error or its last retry. */
    deadLetter(id: string, attempts = 1, message = 'boom') {
      const task = mustGet(id);
      task.status = 'failed';
      task.error = { class: 'fatal', message };
      const time = now();
      deadLetters.set(id, {
        id,
        taskId: id,
        kind: task.kind,
        title: task.title,
        attempts,
        lastError: { class: 'fatal', message },
        status: 'open',
        createdAt: time,
        updatedAt: time,
      });
    },
    deadLetters,
    stop: () => {
      stopped ??= service.stop().then(
        () => undefined,
        () => undefined,
      );
      return stopped;
    },
  };
}
