import { z } from 'zod';
import { type Command, command } from './commands.js';
import { COORD_POLICY_EVENT_DATA } from './coord-policies.js';
import { Actor } from './settings.js';
import {
  ErrorClass,
  Label,
  NewTask,
  Page,
  Priority,
  Progress,
  Task,
  TaskCost,
  TaskDetail,
  TaskFilter,
  TaskGraph,
  TaskId,
  TaskKind,
  TaskPatch,
  TaskStatus,
  TaskSummary,
} from './tasks.js';

/** Header carrying the worker token on every worker request. */
export const WORKER_TOKEN_HEADER = 'Jst-Worker-Token';
/** Core NATS subject on which the coordinator tells one worker to abort an attempt. */
export const workerAbortSubject = (workerId: string) => `worker.${workerId}.abort`;

export const WorkerId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" or "-", at most 64');

const actorFields = { actor: Actor, traceId: z.string().optional() };

export const CreatedTask = z.object({
  task: Task,
  created: z.boolean().describe('false when the idempotency key was seen before'),
});
export const CreatedTasks = z.object({ tasks: z.array(Task), created: z.boolean() });
export const CreatedIds = z
  .object({ ids: z.array(TaskId).describe('In the order of the request'), created: z.boolean() })
  .meta({ id: 'CreatedIds' });
const CreateBatchRequest = z
  .object({
    tasks: z.array(NewTask).min(1).max(1000),
    idempotencyKey: z.string().min(1).max(200).optional(),
    ...actorFields,
  })
  .strict();
/** At most this many cascaded cancels are listed in a reply; `cascadedTotal` counts them all. */
export const MAX_LISTED_CASCADE = 1000;
export const CanceledTask = z.object({
  task: Task,
  cascaded: z
    .array(z.object({ id: TaskId, reason: z.string() }))
    .describe(`Dependents canceled because of this (the first ${MAX_LISTED_CASCADE})`),
  cascadedTotal: z.number().int().min(0).describe('How many dependents were canceled in all'),
});

export const WorkerInfo = z
  .object({
    id: WorkerId,
    name: z.string(),
    kinds: z.array(TaskKind),
    labels: z.array(Label),
    capacity: z.number().int(),
    running: z.array(TaskId).describe('Tasks assigned to or running on it'),
    status: z.enum(['online', 'offline']),
    version: z.string(),
    connectedAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
  })
  .meta({ id: 'WorkerInfo' });
export type WorkerInfo = z.infer<typeof WorkerInfo>;

/** Dead letters kept at most; when full, dismissed ones go first, then the oldest. */
export const MAX_DEAD_LETTERS = 10_000;

export const DeadLetterStatus = z.enum(['open', 'dismissed']);
export type DeadLetterStatus = z.infer<typeof DeadLetterStatus>;

/** A task that failed for good: fatal, or out of retries. Its id is the task id. */
export const DeadLetter = z
  .object({
    id: TaskId.describe('Dead-letter id: the id of the task'),
    taskId: TaskId,
    kind: TaskKind,
    title: z.string(),
    attempts: z.number().int().min(1).describe('Attempts the task had when it was dead-lettered'),
    lastError: z.object({ class: ErrorClass, message: z.string() }),
    status: DeadLetterStatus,
    dismissReason: z.string().optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'DeadLetter' });
export type DeadLetter = z.infer<typeof DeadLetter>;

export const DeadLetterFilter = z
  .object({
    status: DeadLetterStatus.optional(),
    kind: z.string().optional(),
    limit: z.number().int().min(1).max(100).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type DeadLetterFilter = z.input<typeof DeadLetterFilter>;

/** Operator-facing commands of the coordinator (`api.coordinator.*`). */
export const coordCommands = {
  create: command(
    'coordinator',
    'create',
    z
      .object({ task: NewTask, idempotencyKey: z.string().min(1).max(200).optional(), ...actorFields })
      .strict(),
    CreatedTask,
    'Create one task; a repeated idempotency key returns the original task.',
  ),
  createBatch: command(
    'coordinator',
    'create-batch',
    CreateBatchRequest,
    CreatedTasks,
    'Create up to 1000 tasks at once, all or nothing; members may depend on each other by id.',
  ),
  createBatchIds: command(
    'coordinator',
    'create-batch-ids',
    CreateBatchRequest,
    CreatedIds,
    'Like create-batch, answering with the ids only: for producers that do not need the records back (a full record is ~350 bytes to send and to decode per task).',
  ),
  get: command(
    'coordinator',
    'get',
    z.object({ id: TaskId }).strict(),
    TaskDetail,
    'One task with attempts, deps, dependents and recent output.',
  ),
  list: command(
    'coordinator',
    'list',
    TaskFilter,
    Page(TaskSummary),
    'Tasks matching a filter, newest first.',
  ),
  update: command(
    'coordinator',
    'update',
    z.object({ id: TaskId, patch: TaskPatch, ...actorFields }).strict(),
    Task,
    'Change title, description, priority, payload or labels of a task that has not started.',
  ),
  cancel: command(
    'coordinator',
    'cancel',
    z.object({ id: TaskId, reason: z.string().max(500).optional(), ...actorFields }).strict(),
    CanceledTask,
    'Cancel a task and every dependent that can no longer run; a running task is aborted on its worker.',
  ),
  retry: command(
    'coordinator',
    'retry',
    z.object({ id: TaskId, ...actorFields }).strict(),
    Task,
    'Start a new attempt of a failed or canceled task.',
  ),
  addDep: command(
    'coordinator',
    'add-dep',
    z.object({ id: TaskId, depId: TaskId, ...actorFields }).strict(),
    Task,
    'Make a task wait for another; refused for a cycle (the error shows it) or a task that started.',
  ),
  removeDep: command(
    'coordinator',
    'remove-dep',
    z.object({ id: TaskId, depId: TaskId, ...actorFields }).strict(),
    Task,
    'Stop a task waiting for another; removing a missing dependency is a no-op.',
  ),
  graph: command(
    'coordinator',
    'graph',
    z.object({}).strict(),
    TaskGraph,
    'Nodes, edges, parallel levels and progress.',
  ),
  progress: command('coordinator', 'progress', z.object({}).strict(), Progress, 'Task counts per status.'),
  workers: command(
    'coordinator',
    'workers',
    z.object({}).strict(),
    z.object({ items: z.array(WorkerInfo) }),
    'Known workers.',
  ),
  deadLetters: command(
    'coordinator',
    'dead-letters',
    DeadLetterFilter,
    Page(DeadLetter),
    'Dead letters matching a filter, newest first.',
  ),
  deadLetterRetry: command(
    'coordinator',
    'dead-letter-retry',
    z
      .object({
        id: TaskId,
        priority: Priority.optional(),
        labels: z.array(Label).max(32).optional(),
        ...actorFields,
      })
      .strict(),
    Task,
    'Give a dead-lettered task a new attempt (queued, or pending while dependencies are not complete); the dead letter is removed.',
  ),
  deadLetterDismiss: command(
    'coordinator',
    'dead-letter-dismiss',
    z.object({ id: TaskId, reason: z.string().min(1).max(500), ...actorFields }).strict(),
    DeadLetter,
    'Mark a dead letter as looked at; the task stays failed.',
  ),
} satisfies Record<string, Command>;

/** A task handed to a worker by a claim. */
export const ClaimedTask = z
  .object({
    taskId: TaskId,
    attempt: z.number().int().min(1),
    kind: TaskKind,
    title: z.string(),
    payload: z.record(z.string(), z.unknown()),
    traceId: z.string(),
    leaseMs: z
      .number()
      .int()
      .describe('Report (any report counts as a heartbeat) within this or the task is taken back'),
  })
  .meta({ id: 'ClaimedTask' });
export type ClaimedTask = z.infer<typeof ClaimedTask>;

const attemptRef = { taskId: TaskId, attempt: z.number().int().min(1) };
export const OutputLine = z.object({
  stream: z.enum(['stdout', 'stderr', 'log']),
  line: z.string().max(16_384),
});

export const WorkerReport = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), ...attemptRef }).strict(),
  z
    .object({
      type: z.literal('heartbeat'),
      ...attemptRef,
      progress: z.number().min(0).max(1).optional(),
      output: z.array(OutputLine).max(1000).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('completed'),
      ...attemptRef,
      result: z.unknown().optional(),
      cost: TaskCost.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('failed'),
      ...attemptRef,
      errorClass: ErrorClass,
      message: z.string().max(4000),
      cost: TaskCost.optional(),
    })
    .strict(),
  z.object({ type: z.literal('released'), ...attemptRef, reason: z.string().max(500) }).strict(),
]);
export type WorkerReport = z.infer<typeof WorkerReport>;

export const ReportResult = z.object({
  taskId: TaskId,
  attempt: z.number().int(),
  ok: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** The worker protocol (`api.coordinator.worker-hello|claim|report|worker-bye`); every request carries WORKER_TOKEN_HEADER. */
export const workerCommands = {
  hello: command(
    'coordinator',
    'worker-hello',
    z
      .object({
        workerId: WorkerId,
        name: z.string().min(1).max(200),
        kinds: z.array(TaskKind).min(1).max(64),
        labels: z.array(Label).max(64).default([]),
        capacity: z.number().int().min(1).max(10_000),
        version: z.string().max(100).default('unknown'),
      })
      .strict(),
    z.object({ heartbeatMs: z.number().int(), leaseMs: z.number().int() }),
    'Announce a worker: what kinds it runs, its labels and capacity.',
  ),
  claim: command(
    'coordinator',
    'claim',
    z
      .object({
        workerId: WorkerId,
        max: z.number().int().min(1).max(1000),
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(30_000)
          .default(0)
          .describe('Long-poll: answer as soon as work is ready, at the latest after this'),
      })
      .strict(),
    z.object({ tasks: z.array(ClaimedTask) }),
    'Claim up to max ready tasks that match the worker; they become assigned to it.',
  ),
  report: command(
    'coordinator',
    'report',
    z.object({ workerId: WorkerId, reports: z.array(WorkerReport).max(5000) }).strict(),
    z.object({ results: z.array(ReportResult) }),
    'Report progress and outcomes, batched; also the worker heartbeat. A stale attempt is refused per item.',
  ),
  bye: command(
    'coordinator',
    'worker-bye',
    z.object({ workerId: WorkerId, release: z.boolean().default(true) }).strict(),
    z.object({ released: z.array(TaskId) }),
    'A worker leaves; with release its unfinished tasks go back to the queue at once.',
  ),
} satisfies Record<string, Command>;

export const WorkerAbort = z.object({ taskId: TaskId, attempt: z.number().int(), reason: z.string() });
export type WorkerAbort = z.infer<typeof WorkerAbort>;

/** Event data of the coordinator's events. */
export const COORD_EVENT_DATA = {
  'coord.task-created': z.object({ task: TaskSummary }).meta({ id: 'TaskCreatedData' }),
  'coord.task-updated': z
    .object({
      id: TaskId,
      from: TaskStatus,
      to: TaskStatus,
      reason: z.string().optional(),
      workerId: z.string().optional(),
      attempt: z.number().int().optional(),
      changed: z.array(z.string()).optional().describe('Edited fields when from = to'),
    })
    .meta({
      id: 'TaskUpdatedData',
      description:
        'A status change (from → to), or an edit of a task that has not started (from = to, changed lists the fields).',
    }),
  'coord.dep-added': z.object({ id: TaskId, depId: TaskId }).meta({ id: 'DepAddedData' }),
  'coord.dep-removed': z.object({ id: TaskId, depId: TaskId }).meta({ id: 'DepRemovedData' }),
  'coord.task-output': z
    .object({
      id: TaskId,
      attempt: z.number().int(),
      lines: z.array(OutputLine.extend({ at: z.iso.datetime() })),
    })
    .meta({ id: 'TaskOutputData' }),
  'coord.all-complete': z
    .object({
      total: z.number().int(),
      complete: z.number().int(),
      failed: z.number().int(),
      canceled: z.number().int(),
    })
    .meta({ id: 'AllCompleteData', description: 'No task is left to run.' }),
  'coord.worker-joined': z.object({ worker: WorkerInfo }).meta({ id: 'WorkerJoinedData' }),
  'coord.task-retrying': z
    .object({
      id: TaskId,
      attempt: z.number().int().describe('The attempt that failed'),
      errorClass: ErrorClass,
      message: z.string(),
      retryAt: z.iso.datetime().describe('The task is not handed out before this'),
      retriesLeft: z.number().int().min(0),
    })
    .meta({ id: 'TaskRetryingData', description: 'A failed attempt will be retried after a backoff.' }),
  'coord.dead-lettered': z
    .object({ deadLetter: DeadLetter })
    .meta({ id: 'DeadLetteredData', description: 'A task failed for good (fatal, or out of retries).' }),
  'coord.dead-letter-retried': z
    .object({ id: TaskId, actor: Actor })
    .meta({ id: 'DeadLetterRetriedData', description: 'A dead letter was retried and removed.' }),
  'coord.dead-letter-dismissed': z
    .object({ id: TaskId, reason: z.string(), actor: Actor })
    .meta({ id: 'DeadLetterDismissedData' }),
  'coord.reconfigured': z
    .object({
      applied: z.object({
        maxTaskRetries: z.number().int().optional(),
        staleTaskMinutes: z.number().int().optional(),
        coordMaxRequestsPerMinute: z.number().optional(),
        coordMaxTokensPerMinute: z.number().optional(),
        coordGlobalBudgetUsd: z.number().optional(),
        coordPerWorkerBudgetUsd: z.number().optional(),
      }),
      actor: Actor,
    })
    .meta({ id: 'CoordReconfiguredData', description: 'The coordinator applied changed settings.' }),
  ...COORD_POLICY_EVENT_DATA,
  'coord.worker-left': z
    .object({ id: WorkerId, reason: z.enum(['bye', 'timeout']) })
    .meta({ id: 'WorkerLeftData' }),
} as const;
