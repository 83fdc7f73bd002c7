import { z } from 'zod';
import { type Command, command } from './commands.js';
import { Actor } from './settings.js';
import { Label, Priority, Task, TaskFilter, TaskId, TaskKind } from './tasks.js';

const actorFields = { actor: Actor, traceId: z.string().optional() };
const workerIdField = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" or "-", at most 64');

/** Task kinds whose dispatch takes from the rate limits: they call a model provider. */
export const METERED_KINDS: readonly string[] = ['agent'];

/**
 * `running` dispatches; `draining` dispatches nothing new and waits for running tasks, then
 * becomes `paused`; `paused` dispatches nothing until resumed.
 */
export const CoordLifecycle = z.enum(['running', 'draining', 'paused']);
export type CoordLifecycle = z.infer<typeof CoordLifecycle>;

export const RateLimits = z.object({
  requestsPerMinute: z.number(),
  tokensPerMinute: z.number(),
});
export type RateLimits = z.infer<typeof RateLimits>;

export const RateState = z
  .object({
    configured: RateLimits,
    effective: RateLimits.describe('Configured limits halved per level after rate-limit errors'),
    level: z.number().int().min(0).max(4).describe('0 = configured limits; each level halves them'),
    requestsAvailable: z.number(),
    tokensAvailable: z.number(),
    limitErrorsInWindow: z.number().int().describe('`limit` errors within the last 60 s'),
    lastAdjustedAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'RateState' });
export type RateState = z.infer<typeof RateState>;

export const BudgetStatus = z.enum(['ok', 'warning', 'exceeded']);
export const BudgetGauge = z.object({
  spentUsd: z.number(),
  budgetUsd: z.number().describe('0 means unlimited'),
  percent: z.number(),
  status: BudgetStatus,
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
});
export const BudgetState = z
  .object({
    global: BudgetGauge,
    workers: z.array(BudgetGauge.extend({ workerId: z.string() })),
  })
  .meta({ id: 'BudgetState' });
export type BudgetState = z.infer<typeof BudgetState>;

export const CircuitStateName = z.enum(['closed', 'open', 'half-open']);
export const CircuitState = z
  .object({
    workerId: z.string(),
    state: CircuitStateName,
    consecutiveFailures: z.number().int(),
    openedAt: z.iso.datetime().optional(),
    retryAt: z.iso.datetime().optional().describe('When an open circuit lets one trial task through'),
  })
  .meta({ id: 'CircuitState' });
export type CircuitState = z.infer<typeof CircuitState>;

/** Everything the coordination panel shows. */
/** Processes of a single-writer service: the one holding the leader lease, and those standing by. */
export const Replicas = z
  .object({
    leader: z.string().describe('Instance id of the process that answers (holds the leader lease)'),
    standbys: z
      .array(z.object({ instance: z.string(), since: z.iso.datetime().describe('Standing by since') }))
      .describe('Processes waiting to take over, seen within the last three leases'),
  })
  .meta({ id: 'Replicas' });
export type Replicas = z.infer<typeof Replicas>;

export const CoordState = z
  .object({
    state: CoordLifecycle,
    reason: z.string().optional().describe('Why it is draining or paused, e.g. "global budget exceeded"'),
    since: z.iso.datetime(),
    drainDeadline: z.iso.datetime().optional(),
    rate: RateState,
    budgets: BudgetState,
    circuits: z.array(CircuitState),
    settings: z.object({
      maxTaskRetries: z.number().int(),
      staleTaskMinutes: z.number().int(),
    }),
    counts: z.object({
      queued: z.number().int(),
      running: z.number().int().describe('assigned or running'),
      blocked: z.number().int(),
    }),
    meteredKinds: z.array(z.string()).describe('Kinds whose dispatch takes from the rate limits'),
    replicas: Replicas.optional(),
  })
  .meta({ id: 'CoordState' });
export type CoordState = z.infer<typeof CoordState>;

export const DrainRequest = z
  .object({
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional()
      .describe('Abort and requeue what still runs after this; without it, wait for every running task'),
    reason: z.string().max(500).optional(),
  })
  .strict();

/** Bulk actions select tasks by explicit ids or by a filter (not both). */
export const BulkSelection = z
  .object({
    ids: z.array(TaskId).min(1).max(10_000).optional(),
    filter: TaskFilter.omit({ limit: true, offset: true }).optional(),
  })
  .strict()
  .refine((s) => (s.ids === undefined) !== (s.filter === undefined), {
    message: 'give either ids or filter',
    path: ['ids'],
  });
export type BulkSelection = z.infer<typeof BulkSelection>;

export const BulkResult = z
  .object({
    done: z.array(TaskId),
    refused: z.array(z.object({ id: TaskId, code: z.string(), message: z.string() })),
    matched: z.number().int().describe('Tasks the selection named or matched'),
  })
  .meta({ id: 'BulkResult' });
export type BulkResult = z.infer<typeof BulkResult>;

/** At most this many tasks are acted on by one bulk request matched by filter. */
export const MAX_BULK = 10_000;

export const TemplateName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, "_" or "-", at most 64');
export const VariableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a name like "repo" or "branch_name"');

export const TemplateVariable = z
  .object({
    name: VariableName,
    description: z.string().max(500).optional(),
    default: z
      .string()
      .max(10_000)
      .optional()
      .describe('Used when no value is given; without it the variable is required'),
  })
  .strict();

/**
 * A task of a template: a NewTask whose strings may hold `{{variable}}`; `id` is local to the
 * template and names it in other members' deps (instances get fresh ids).
 */
export const TemplateTask = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'a short local id like "build"'),
    title: z.string().trim().min(1, 'must not be empty').max(200),
    description: z.string().max(10_000).default(''),
    kind: TaskKind.default('exec'),
    payload: z.record(z.string(), z.unknown()).default({}),
    priority: Priority.default(0),
    labels: z.array(z.string().max(200)).max(32).default([]),
    deps: z.array(z.string().max(128)).max(100).default([]),
  })
  .strict();
export type TemplateTask = z.infer<typeof TemplateTask>;

export const Template = z
  .object({
    name: TemplateName,
    description: z.string(),
    variables: z.array(TemplateVariable),
    tasks: z.array(TemplateTask),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    updatedBy: Actor,
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof Template>;

export const TemplateInput = z
  .object({
    name: TemplateName,
    description: z.string().max(2000).default(''),
    variables: z.array(TemplateVariable).max(50).default([]),
    tasks: z.array(TemplateTask).min(1).max(100).optional(),
    fromTasks: z
      .array(TaskId)
      .min(1)
      .max(100)
      .optional()
      .describe('Copy these existing tasks (and the deps among them) instead of giving tasks'),
  })
  .strict()
  .refine((t) => (t.tasks === undefined) !== (t.fromTasks === undefined), {
    message: 'give either tasks or fromTasks',
    path: ['tasks'],
  });
export type TemplateInput = z.input<typeof TemplateInput>;

export const InstantiateRequest = z
  .object({
    values: z.record(VariableName, z.string().max(10_000)).default({}),
    priority: Priority.optional().describe('Overrides every member’s priority'),
    labels: z.array(Label).max(32).optional().describe('Added to every member'),
  })
  .strict();

export const Instantiated = z
  .object({ template: TemplateName, tasks: z.array(Task) })
  .meta({ id: 'Instantiated' });

/** Coordinator commands for lifecycle, policies, bulk actions and templates (`api.coordinator.*`). */
export const coordPolicyCommands = {
  state: command(
    'coordinator',
    'state',
    z.object({}).strict(),
    CoordState,
    'Lifecycle, limits, budgets, circuits.',
  ),
  drain: command(
    'coordinator',
    'drain',
    DrainRequest.extend(actorFields).strict(),
    CoordState,
    'Stop dispatching; when nothing runs any more (or after the timeout) the coordinator is paused.',
  ),
  pause: command(
    'coordinator',
    'pause',
    z.object({ reason: z.string().max(500).optional(), ...actorFields }).strict(),
    CoordState,
    'Stop dispatching at once; running tasks go on.',
  ),
  resume: command(
    'coordinator',
    'resume',
    z.object(actorFields).strict(),
    CoordState,
    'Dispatch again (refused while the global budget is exceeded).',
  ),
  bulkCancel: command(
    'coordinator',
    'bulk-cancel',
    z.object({ selection: BulkSelection, reason: z.string().max(500).optional(), ...actorFields }).strict(),
    BulkResult,
    'Cancel many tasks; the reply lists what was canceled and what was refused and why.',
  ),
  bulkRetry: command(
    'coordinator',
    'bulk-retry',
    z.object({ selection: BulkSelection, ...actorFields }).strict(),
    BulkResult,
    'Retry many failed or canceled tasks.',
  ),
  bulkReprioritize: command(
    'coordinator',
    'bulk-reprioritize',
    z.object({ selection: BulkSelection, priority: Priority, ...actorFields }).strict(),
    BulkResult,
    'Give many not-yet-started tasks a new priority.',
  ),
  requeue: command(
    'coordinator',
    'requeue',
    z.object({ id: TaskId, ...actorFields }).strict(),
    Task,
    'Put a blocked task back in the queue (a new attempt).',
  ),
  templateSave: command(
    'coordinator',
    'template-save',
    z.object({ template: TemplateInput, ...actorFields }).strict(),
    Template,
    'Create or replace a template.',
  ),
  templateList: command(
    'coordinator',
    'template-list',
    z.object({}).strict(),
    z.object({ items: z.array(Template) }),
    'Every template, by name.',
  ),
  templateGet: command(
    'coordinator',
    'template-get',
    z.object({ name: TemplateName }).strict(),
    Template,
    'One template.',
  ),
  templateDelete: command(
    'coordinator',
    'template-delete',
    z.object({ name: TemplateName, ...actorFields }).strict(),
    z.object({ name: TemplateName, deleted: z.literal(true) }),
    'Delete a template.',
  ),
  templateInstantiate: command(
    'coordinator',
    'template-instantiate',
    z.object({ name: TemplateName, request: InstantiateRequest, ...actorFields }).strict(),
    Instantiated,
    'Create the template’s tasks with the given variable values, all or nothing.',
  ),
} satisfies Record<string, Command>;

export const GrantReply = z.discriminatedUnion('granted', [
  z.object({ granted: z.literal(true) }),
  z.object({ granted: z.literal(false), waitMs: z.number().int().min(1), reason: z.string() }),
]);
export type GrantReply = z.infer<typeof GrantReply>;

/** Worker-side policy commands: ask before each provider call; report what it used. */
export const workerPolicyCommands = {
  grant: command(
    'coordinator',
    'grant',
    z
      .object({
        workerId: workerIdField,
        taskId: TaskId.optional(),
        attempt: z.number().int().min(1).optional(),
      })
      .strict(),
    GrantReply,
    'Ask for one provider request within the rate limits: granted, or wait N ms.',
  ),
  usage: command(
    'coordinator',
    'usage',
    z
      .object({
        workerId: workerIdField,
        taskId: TaskId,
        attempt: z.number().int().min(1),
        inputTokens: z.number().int().min(0).default(0),
        outputTokens: z.number().int().min(0).default(0),
        usd: z.number().min(0).default(0),
      })
      .strict(),
    z.object({ ok: z.literal(true) }),
    'Tokens and cost one provider call used; they count against the limits and budgets at once.',
  ),
} satisfies Record<string, Command>;

const rateAdjusted = z
  .object({
    from: RateLimits,
    to: RateLimits,
    level: z.number().int(),
    reason: z.enum(['limit-errors', 'recovered', 'reconfigured']),
  })
  .meta({ id: 'RateAdjustedData', description: 'The effective rate limits changed.' });

const budgetSignal = z.object({
  scope: z.enum(['global', 'worker']),
  workerId: z.string().optional(),
  spentUsd: z.number(),
  budgetUsd: z.number(),
  percent: z.number(),
});

/** Event data of the policy events. */
export const COORD_POLICY_EVENT_DATA = {
  'coord.rate-adjusted': rateAdjusted,
  'coord.budget-warning': budgetSignal.meta({
    id: 'BudgetWarningData',
    description: 'Spend crossed 80 % of a budget (once until the budget is raised).',
  }),
  'coord.budget-exceeded': budgetSignal.meta({
    id: 'BudgetExceededData',
    description: 'Spend reached a budget: the worker gets no more tasks, or (global) the coordinator drains.',
  }),
  'coord.circuit-opened': z
    .object({ workerId: z.string(), consecutiveFailures: z.number().int(), retryAt: z.iso.datetime() })
    .meta({
      id: 'CircuitOpenedData',
      description: 'A worker failed its last attempts and is skipped for a cool-down.',
    }),
  'coord.circuit-closed': z
    .object({ workerId: z.string() })
    .meta({ id: 'CircuitClosedData', description: 'A worker succeeded again after its circuit opened.' }),
  'coord.task-blocked': z
    .object({ id: TaskId, attempt: z.number().int(), reason: z.string(), workerId: z.string().optional() })
    .meta({
      id: 'TaskBlockedData',
      description: 'A running task stopped making progress; an operator decides.',
    }),
  'coord.started': z
    .object({ state: CoordLifecycle, actor: Actor })
    .meta({ id: 'CoordStartedData', description: 'The coordinator dispatches (at start or on resume).' }),
  'coord.draining': z
    .object({
      reason: z.string(),
      actor: Actor,
      deadline: z.iso.datetime().optional(),
      running: z.number().int(),
    })
    .meta({ id: 'CoordDrainingData' }),
  'coord.paused': z
    .object({ reason: z.string(), actor: Actor })
    .meta({ id: 'CoordPausedData', description: 'The coordinator dispatches nothing until resumed.' }),
  'coord.template-saved': z.object({ name: TemplateName, actor: Actor }).meta({ id: 'TemplateSavedData' }),
  'coord.template-deleted': z
    .object({ name: TemplateName, actor: Actor })
    .meta({ id: 'TemplateDeletedData' }),
  'coord.bulk-applied': z
    .object({
      action: z.enum(['cancel', 'retry', 'reprioritize']),
      done: z.number().int(),
      refused: z.number().int(),
      actor: Actor,
    })
    .meta({ id: 'BulkAppliedData' }),
} as const;
