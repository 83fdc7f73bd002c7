import { z } from 'zod';
import { ApiToken, Role, TokenInfo, TokenName } from './auth.js';
import { SettingsChangeResult } from './commands.js';
import {
  CanceledTask,
  CreatedTask,
  CreatedTasks,
  DeadLetter,
  DeadLetterStatus,
  WorkerInfo,
} from './coordinator.js';
import { COORD_POLICY_ROUTES } from './http-coord.js';
import { NOTIFY_ROUTES } from './http-notify.js';
import { AUTH_ERRORS, type HttpRoute, ok } from './http-route.js';
import { SECRET_ROUTES } from './http-secrets.js';
import { SettingKey, Settings, SettingsPatch } from './settings.js';
import {
  Label,
  NewTask,
  Page,
  Priority,
  Progress,
  Task,
  TaskDetail,
  TaskGraph,
  TaskId,
  TaskPatch,
  TaskStatus,
  TaskSummary,
} from './tasks.js';

export const Readiness = z
  .object({
    ready: z.boolean(),
    nats: z.object({ connected: z.boolean(), server: z.string().optional(), rttMs: z.number().optional() }),
    services: z.record(
      z.string(),
      z.object({ ok: z.boolean(), instances: z.number().int(), error: z.string().optional() }),
    ),
    missing: z.array(z.string()).describe('What is not answering; empty when ready'),
  })
  .meta({ id: 'Readiness' });
export type Readiness = z.infer<typeof Readiness>;

export const Session = z
  .object({
    name: z.string(),
    role: Role,
    via: z.enum(['bearer', 'session']),
    csrfToken: z.string().optional(),
  })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof Session>;

export const LoginBody = z.object({ token: ApiToken }).strict();
export const CreateTokenBody = z.object({ name: TokenName, role: Role }).strict();
export const CreatedToken = TokenInfo.extend({
  token: ApiToken.describe('Shown once; only its hash is kept'),
});
export const ResetSettingsBody = z.object({ keys: z.array(SettingKey).min(1).optional() }).strict();
export const EventsQuery = z
  .object({
    patterns: z
      .string()
      .optional()
      .describe('Comma-separated NATS subject patterns over event types; default ">"'),
    afterSeq: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Replay from after this stream sequence (same as Last-Event-ID)'),
  })
  .strict();

export const TaskListQuery = z
  .object({
    status: z
      .string()
      .optional()
      .describe(`Comma-separated statuses: ${TaskStatus.options.join(', ')}`),
    label: z.string().max(64).optional(),
    kind: z.string().max(64).optional(),
    q: z.string().max(200).optional().describe('Text found in the id, title or description'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export const TaskIdParams = z.object({ id: TaskId });
export const BatchBody = z.object({ tasks: z.array(NewTask).min(1).max(1000) }).strict();
export const CancelBody = z.object({ reason: z.string().max(500).optional() }).strict();
export const AddDepBody = z.object({ depId: TaskId }).strict();
export const DeadLetterListQuery = z
  .object({
    status: DeadLetterStatus.optional(),
    kind: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export const DeadLetterRetryBody = z
  .object({ priority: Priority.optional(), labels: z.array(Label).max(32).optional() })
  .strict();
export const DismissBody = z.object({ reason: z.string().min(1).max(500) }).strict();

const CORE_ROUTES = [
  {
    id: 'health',
    method: 'get',
    path: '/api/health',
    summary: 'Liveness of the gateway process',
    tag: 'health',
    role: 'public',
    response: z.object({ status: z.literal('ok'), time: z.iso.datetime() }),
    errors: [],
  },
  {
    id: 'ready',
    method: 'get',
    path: '/api/health/ready',
    summary: 'Readiness: 200 only when NATS and every service answer; 503 names what is missing',
    tag: 'health',
    role: 'public',
    response: Readiness,
    errors: [503],
    errorBodies: { 503: Readiness },
  },
  {
    id: 'login',
    method: 'post',
    path: '/api/auth/login',
    summary: 'Exchange a token for an HttpOnly session cookie (browser UI)',
    tag: 'auth',
    role: 'public',
    body: LoginBody,
    response: Session,
    errors: [400, 401],
  },
  {
    id: 'logout',
    method: 'post',
    path: '/api/auth/logout',
    summary: 'End the browser session',
    tag: 'auth',
    role: 'viewer',
    response: ok,
    errors: AUTH_ERRORS,
  },
  {
    id: 'me',
    method: 'get',
    path: '/api/auth/me',
    summary: 'Who the caller is',
    tag: 'auth',
    role: 'viewer',
    response: Session,
    errors: AUTH_ERRORS,
  },
  {
    id: 'listTokens',
    method: 'get',
    path: '/api/tokens',
    summary: 'List API tokens (names and roles; never the tokens)',
    tag: 'auth',
    role: 'admin',
    response: z.object({ items: z.array(TokenInfo) }),
    errors: AUTH_ERRORS,
  },
  {
    id: 'createToken',
    method: 'post',
    path: '/api/tokens',
    summary: 'Create an API token; the token is returned once',
    tag: 'auth',
    role: 'admin',
    body: CreateTokenBody,
    response: CreatedToken,
    status: 201,
    errors: [400, 409, ...AUTH_ERRORS],
  },
  {
    id: 'deleteToken',
    method: 'delete',
    path: '/api/tokens/{id}',
    summary: 'Revoke an API token',
    tag: 'auth',
    role: 'admin',
    params: z.object({ id: z.string() }),
    response: ok,
    errors: [404, ...AUTH_ERRORS],
  },
  {
    id: 'getSettings',
    method: 'get',
    path: '/api/settings',
    summary: 'Current value of every setting',
    tag: 'settings',
    role: 'viewer',
    response: z.object({ settings: Settings }),
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'getSettingsSchema',
    method: 'get',
    path: '/api/settings/schema',
    summary: 'JSON Schema of the settings: types, defaults, ranges, descriptions',
    tag: 'settings',
    role: 'viewer',
    response: z.record(z.string(), z.unknown()),
    errors: AUTH_ERRORS,
  },
  {
    id: 'patchSettings',
    method: 'patch',
    path: '/api/settings',
    summary: 'Change several settings at once; all are validated before any is written',
    tag: 'settings',
    role: 'operator',
    body: SettingsPatch,
    response: SettingsChangeResult,
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'resetSettings',
    method: 'post',
    path: '/api/settings/reset',
    summary: 'Reset the named settings (or all, with no keys) to their defaults',
    tag: 'settings',
    role: 'operator',
    body: ResetSettingsBody,
    response: SettingsChangeResult,
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'events',
    method: 'get',
    path: '/api/events',
    summary: 'Server-sent events: the live event feed, resumable with Last-Event-ID',
    tag: 'events',
    role: 'viewer',
    query: EventsQuery,
    response: z
      .string()
      .describe('text/event-stream; each event has id = stream sequence, event = type, data = CloudEvent'),
    responseMediaType: 'text/event-stream',
    errors: [400, ...AUTH_ERRORS],
  },
  {
    id: 'listTasks',
    method: 'get',
    path: '/api/tasks',
    summary: 'List tasks, newest first, filtered by status, label, kind or text',
    tag: 'tasks',
    role: 'viewer',
    query: TaskListQuery,
    response: Page(TaskSummary),
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'createTask',
    method: 'post',
    path: '/api/tasks',
    summary: 'Create a task; with an Idempotency-Key header a repeat returns the original (200)',
    tag: 'tasks',
    role: 'operator',
    body: NewTask,
    response: CreatedTask,
    status: 201,
    errors: [400, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'createTaskBatch',
    method: 'post',
    path: '/api/tasks/batch',
    summary: 'Create up to 1000 tasks, all or nothing; members may depend on each other',
    tag: 'tasks',
    role: 'operator',
    body: BatchBody,
    response: CreatedTasks,
    status: 201,
    errors: [400, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'taskGraph',
    method: 'get',
    path: '/api/tasks/graph',
    summary: 'The dependency graph: nodes, edges, parallel levels and progress',
    tag: 'tasks',
    role: 'viewer',
    response: TaskGraph,
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'taskProgress',
    method: 'get',
    path: '/api/tasks/progress',
    summary: 'Task counts per status and percent done',
    tag: 'tasks',
    role: 'viewer',
    response: Progress,
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'getTask',
    method: 'get',
    path: '/api/tasks/{id}',
    summary: 'One task with its attempts, deps, dependents and recent output',
    tag: 'tasks',
    role: 'viewer',
    params: TaskIdParams,
    response: TaskDetail,
    errors: [404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'patchTask',
    method: 'patch',
    path: '/api/tasks/{id}',
    summary: 'Change title, description, priority, payload or labels before the task starts',
    tag: 'tasks',
    role: 'operator',
    params: TaskIdParams,
    body: TaskPatch,
    response: Task,
    errors: [400, 404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'cancelTask',
    method: 'post',
    path: '/api/tasks/{id}/cancel',
    summary: 'Cancel a task and the dependents that can no longer run',
    tag: 'tasks',
    role: 'operator',
    params: TaskIdParams,
    body: CancelBody,
    response: CanceledTask,
    errors: [400, 404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'retryTask',
    method: 'post',
    path: '/api/tasks/{id}/retry',
    summary: 'Start a new attempt of a failed or canceled task',
    tag: 'tasks',
    role: 'operator',
    params: TaskIdParams,
    response: Task,
    errors: [404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'addTaskDep',
    method: 'post',
    path: '/api/tasks/{id}/deps',
    summary: 'Make the task wait for another; 400 with the cycle path if it would close a cycle',
    tag: 'tasks',
    role: 'operator',
    params: TaskIdParams,
    body: AddDepBody,
    response: Task,
    errors: [400, 404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'removeTaskDep',
    method: 'delete',
    path: '/api/tasks/{id}/deps/{depId}',
    summary: 'Stop the task waiting for another (a missing dependency is a no-op)',
    tag: 'tasks',
    role: 'operator',
    params: z.object({ id: TaskId, depId: TaskId }),
    response: Task,
    errors: [404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'listWorkers',
    method: 'get',
    path: '/api/workers',
    summary: 'Known workers: kinds, labels, capacity, what they run, online or not',
    tag: 'workers',
    role: 'viewer',
    response: z.object({ items: z.array(WorkerInfo) }),
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'listDeadLetters',
    method: 'get',
    path: '/api/dead-letters',
    summary: 'Tasks that failed for good (fatal, or out of retries), newest first',
    tag: 'dead-letters',
    role: 'viewer',
    query: DeadLetterListQuery,
    response: Page(DeadLetter),
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'retryDeadLetter',
    method: 'post',
    path: '/api/dead-letters/{id}/retry',
    summary:
      'Give a dead-lettered task a new attempt, optionally with a new priority or labels; the dead letter is removed',
    tag: 'dead-letters',
    role: 'operator',
    params: TaskIdParams,
    body: DeadLetterRetryBody,
    response: Task,
    errors: [400, 404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'dismissDeadLetter',
    method: 'post',
    path: '/api/dead-letters/{id}/dismiss',
    summary: 'Mark a dead letter as looked at; the task stays failed',
    tag: 'dead-letters',
    role: 'operator',
    params: TaskIdParams,
    body: DismissBody,
    response: DeadLetter,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'openapi',
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tag: 'docs',
    role: 'public',
    response: z.record(z.string(), z.unknown()),
    errors: [],
  },
  {
    id: 'apiDocs',
    method: 'get',
    path: '/api/docs',
    summary: 'Rendered API documentation',
    tag: 'docs',
    role: 'public',
    response: z.string(),
    responseMediaType: 'text/html',
    errors: [],
  },
] as const satisfies readonly HttpRoute[];

/** Every route the gateway serves: the core ones plus each domain's own catalog file. */
// Policy routes first: Hono runs the first registered match, and `/api/tasks/bulk/cancel` must not
// be taken for the cancel of a task named "bulk".
export const HTTP_ROUTES = [
  ...COORD_POLICY_ROUTES,
  ...CORE_ROUTES,
  ...SECRET_ROUTES,
  ...NOTIFY_ROUTES,
] as const satisfies readonly HttpRoute[];

export type { HttpMethod, HttpRoute } from './http-route.js';
export type HttpRouteId = (typeof HTTP_ROUTES)[number]['id'];
export function httpRoute(id: HttpRouteId): HttpRoute {
  const route = HTTP_ROUTES.find((r) => r.id === id);
  if (!route) throw new Error(`unknown route ${id}`);
  return route;
}
