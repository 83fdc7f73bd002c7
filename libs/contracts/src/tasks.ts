import { z } from 'zod';

/**
 * Task lifecycle. `pending` waits on dependencies, `queued` is ready, `assigned` is claimed by a
 * worker that has not started it, `running` is being worked on; `complete`, `failed` and
 * `canceled` are final until an explicit retry; `blocked` needs an operator.
 */
export const TaskStatus = z.enum([
  'pending',
  'queued',
  'assigned',
  'running',
  'complete',
  'failed',
  'canceled',
  'blocked',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** The only allowed status changes. Anything else is refused naming both states. */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['queued', 'canceled', 'blocked'],
  queued: ['pending', 'assigned', 'canceled', 'blocked'],
  // Back to queued/pending: the lease expired, the worker released it, or a dependency was added.
  assigned: ['running', 'queued', 'pending', 'failed', 'canceled'],
  // Back to queued: the worker died or the attempt failed with a retry left.
  running: ['complete', 'failed', 'queued', 'canceled', 'blocked'],
  complete: [],
  // Only through an explicit retry, which starts a new attempt.
  failed: ['queued', 'pending'],
  canceled: ['queued', 'pending'],
  blocked: ['queued', 'pending', 'canceled'],
};

export const FINAL_STATUSES: readonly TaskStatus[] = ['complete', 'failed', 'canceled'];
/** Statuses in which a task's definition and dependencies may still change. */
export const NOT_STARTED_STATUSES: readonly TaskStatus[] = ['pending', 'queued', 'assigned', 'blocked'];

export const canTransition = (from: TaskStatus, to: TaskStatus) => TASK_TRANSITIONS[from].includes(to);

export const TaskId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    'letters, digits, "_", ".", ":" or "-", at most 128, starting with a letter or digit',
  );
export const TaskKind = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'lowercase letters, digits and "-", e.g. "exec"');
export const Label = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$/, 'a label like "gpu" or "region=eu"');
export const Priority = z.number().int().min(-1000).max(1000);

/** `exec` tasks run a command on the worker. */
export const ExecPayload = z
  .object({
    command: z.string().min(1).max(4096),
    args: z.array(z.string().max(4096)).max(256).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(32_768)).optional(),
    cwd: z.string().max(4096).optional(),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .strict()
  .meta({ id: 'ExecPayload' });
export type ExecPayload = z.infer<typeof ExecPayload>;

/** `agent` tasks run an AI-agent session that may continue through handoffs. */
export const AgentPayload = z
  .object({
    prompt: z.string().min(1).max(100_000),
    repo: z.string().max(2048).optional(),
    model: z.enum(['haiku', 'sonnet', 'opus']).optional(),
    maxTurns: z.number().int().min(1).max(200).optional(),
  })
  .strict()
  .meta({ id: 'AgentPayload' });

/** Payload schemas of the built-in kinds; custom kinds take any JSON object. */
export const PAYLOAD_BY_KIND: Record<string, z.ZodType> = { exec: ExecPayload, agent: AgentPayload };
export const AnyPayload = z.record(z.string(), z.unknown());
const MAX_PAYLOAD_BYTES = 64 * 1024;

export const TaskCost = z
  .object({
    usd: z.number().min(0).default(0),
    inputTokens: z.number().int().min(0).default(0),
    outputTokens: z.number().int().min(0).default(0),
  })
  .meta({ id: 'TaskCost' });
export type TaskCost = z.infer<typeof TaskCost>;

export const ErrorClass = z.enum(['transient', 'fatal', 'limit']);
export type ErrorClass = z.infer<typeof ErrorClass>;

export const AttemptOutcome = z.enum([
  'assigned',
  'running',
  'complete',
  'failed',
  'lost',
  'released',
  'canceled',
  'blocked',
]);
export const Attempt = z
  .object({
    number: z.number().int().min(1),
    workerId: z.string(),
    assignedAt: z.iso.datetime(),
    startedAt: z.iso.datetime().optional(),
    endedAt: z.iso.datetime().optional(),
    outcome: AttemptOutcome,
    error: z.object({ class: ErrorClass, message: z.string() }).optional(),
    cost: TaskCost.optional(),
  })
  .meta({ id: 'Attempt' });
export type Attempt = z.infer<typeof Attempt>;

export const Task = z
  .object({
    id: TaskId,
    title: z.string(),
    description: z.string(),
    kind: TaskKind,
    payload: AnyPayload,
    priority: Priority,
    labels: z.array(Label),
    deps: z.array(TaskId),
    status: TaskStatus,
    statusReason: z
      .string()
      .optional()
      .describe('Why the task is in its status, e.g. "dependency X was canceled"'),
    workerId: z.string().optional(),
    attempts: z.array(Attempt),
    result: z.unknown().optional(),
    error: z.object({ class: ErrorClass, message: z.string() }).optional(),
    cost: TaskCost,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    traceId: z.string(),
    source: z.string(),
  })
  .meta({ id: 'Task' });
export type Task = z.infer<typeof Task>;

export const NewTask = z
  .object({
    id: TaskId.optional().describe('Your own unique id; the server makes a sortable one when omitted'),
    title: z.string().trim().min(1, 'must not be empty').max(200),
    description: z.string().max(10_000).default(''),
    kind: TaskKind.default('exec'),
    payload: AnyPayload.default({}),
    priority: Priority.default(0),
    labels: z.array(Label).max(32).default([]),
    deps: z.array(TaskId).max(1000).default([]),
    source: z.string().max(200).optional(),
  })
  .strict()
  .superRefine((task, ctx) => {
    const schema = PAYLOAD_BY_KIND[task.kind];
    if (schema) {
      const result = schema.safeParse(task.payload);
      if (!result.success) {
        for (const issue of result.error.issues) {
          ctx.addIssue({
            code: 'custom',
            path: ['payload', ...issue.path.map(String)],
            message: issue.message,
          });
        }
      }
    }
    if (JSON.stringify(task.payload).length > MAX_PAYLOAD_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['payload'],
        message: `must be at most ${MAX_PAYLOAD_BYTES} bytes as JSON`,
      });
    }
    if (task.id !== undefined && task.deps.includes(task.id)) {
      ctx.addIssue({ code: 'custom', path: ['deps'], message: 'a task cannot depend on itself' });
    }
  })
  .meta({ id: 'NewTask' });
export type NewTask = z.input<typeof NewTask>;
export type ParsedNewTask = z.output<typeof NewTask>;

/** Fields an operator may change before the task starts. */
export const TaskPatch = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(200).optional(),
    description: z.string().max(10_000).optional(),
    priority: Priority.optional(),
    payload: AnyPayload.optional(),
    labels: z.array(Label).max(32).optional(),
  })
  .strict()
  .meta({ id: 'TaskPatch' });
export type TaskPatch = z.infer<typeof TaskPatch>;

export const TaskFilter = z
  .object({
    status: z.array(TaskStatus).optional(),
    label: z.string().optional(),
    kind: z.string().optional(),
    q: z.string().max(200).optional().describe('Text found in the id, title or description'),
    limit: z.number().int().min(1).max(100).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type TaskFilter = z.input<typeof TaskFilter>;

export const TaskSummary = Task.pick({
  id: true,
  title: true,
  kind: true,
  priority: true,
  labels: true,
  deps: true,
  status: true,
  statusReason: true,
  workerId: true,
  createdAt: true,
  updatedAt: true,
})
  .extend({ attemptCount: z.number().int() })
  .meta({ id: 'TaskSummary' });
export type TaskSummary = z.infer<typeof TaskSummary>;

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
    hasMore: z.boolean(),
  });

export const TaskDetail = Task.extend({
  dependents: z.array(TaskId),
  progress: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Progress (0–1) from the last heartbeat of the running attempt; absent when not reported'),
  output: z.array(
    z.object({ at: z.iso.datetime(), stream: z.enum(['stdout', 'stderr', 'log']), line: z.string() }),
  ),
}).meta({ id: 'TaskDetail' });
export type TaskDetail = z.infer<typeof TaskDetail>;

export const Progress = z
  .object({
    total: z.number().int(),
    byStatus: z.record(TaskStatus, z.number().int()),
    percentDone: z.number().describe('complete / total × 100, 0 when there are no tasks'),
  })
  .meta({ id: 'Progress' });
export type Progress = z.infer<typeof Progress>;

export const TaskGraph = z
  .object({
    nodes: z.array(TaskSummary),
    edges: z.array(
      z.object({ from: TaskId.describe('the dependency'), to: TaskId.describe('the dependent') }),
    ),
    levels: z.array(z.array(TaskId)).describe('Parallel layers: level n depends only on levels < n'),
    progress: Progress,
  })
  .meta({ id: 'TaskGraph' });
export type TaskGraph = z.infer<typeof TaskGraph>;
