import { type CallOptions, callCommand, type NatsConnection } from '@jousting/bus';
import { coordCommands, JoustingError, TaskStatus } from '@jousting/contracts';
import type { Context } from 'hono';
import { actorOf } from './auth.js';
import type { RouteHandlers } from './catalog-routes.js';
import { withPlainFieldNames } from './errors.js';
import type { GatewayEnv } from './http-env.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const MAX_IDEMPOTENCY_KEY = 200;

type TaskRouteId =
  | 'listTasks'
  | 'createTask'
  | 'createTaskBatch'
  | 'taskGraph'
  | 'taskProgress'
  | 'getTask'
  | 'patchTask'
  | 'cancelTask'
  | 'retryTask'
  | 'addTaskDep'
  | 'removeTaskDep'
  | 'listWorkers';

/**
 * The task and worker routes: each is one coordinator command (`api.coordinator.*`) with the
 * caller as actor and the request's trace id; error replies keep their code (404, 409, 400 with
 * the cycle path) and a coordinator that does not answer is a 503.
 */
export function taskRouteHandlers(
  nc: NatsConnection,
  call: (traceId: string) => CallOptions,
): Pick<RouteHandlers, TaskRouteId> {
  const traceOf = (c: Context<GatewayEnv>) => c.get('traceId');
  const who = (c: Context<GatewayEnv>, principal: Parameters<typeof actorOf>[0]) => ({
    actor: actorOf(principal),
    traceId: traceOf(c),
  });

  return {
    listTasks: ({ c, query }) => {
      const status = parseStatusList(query.status);
      return callCommand(
        nc,
        coordCommands.list,
        {
          ...(status ? { status } : {}),
          ...(query.label ? { label: query.label } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          ...(query.q ? { q: query.q } : {}),
          limit: query.limit,
          offset: query.offset,
        },
        call(traceOf(c)),
      );
    },
    createTask: async ({ c, body, principal }) => {
      const idempotencyKey = idempotencyKeyOf(c);
      const result = await callCommand(
        nc,
        coordCommands.create,
        { task: body, ...(idempotencyKey ? { idempotencyKey } : {}), ...who(c, principal) },
        call(traceOf(c)),
      ).catch(withPlainFieldNames('task.', { idempotencyKey: IDEMPOTENCY_HEADER }));
      c.header('Location', `/api/tasks/${encodeURIComponent(result.task.id)}`);
      // A replay of a known idempotency key created nothing: 200 with the original task.
      return c.json(result, result.created ? 201 : 200);
    },
    createTaskBatch: async ({ c, body, principal }) => {
      const idempotencyKey = idempotencyKeyOf(c);
      const result = await callCommand(
        nc,
        coordCommands.createBatch,
        { tasks: body.tasks, ...(idempotencyKey ? { idempotencyKey } : {}), ...who(c, principal) },
        call(traceOf(c)),
      ).catch(withPlainFieldNames('', { idempotencyKey: IDEMPOTENCY_HEADER }));
      return c.json(result, result.created ? 201 : 200);
    },
    taskGraph: ({ c }) => callCommand(nc, coordCommands.graph, {}, call(traceOf(c))),
    taskProgress: ({ c }) => callCommand(nc, coordCommands.progress, {}, call(traceOf(c))),
    getTask: ({ c, params }) => callCommand(nc, coordCommands.get, { id: params.id }, call(traceOf(c))),
    patchTask: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        coordCommands.update,
        { id: params.id, patch: body, ...who(c, principal) },
        call(traceOf(c)),
      ).catch(withPlainFieldNames('patch.')),
    cancelTask: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        coordCommands.cancel,
        {
          id: params.id,
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          ...who(c, principal),
        },
        call(traceOf(c)),
      ),
    retryTask: ({ c, params, principal }) =>
      callCommand(nc, coordCommands.retry, { id: params.id, ...who(c, principal) }, call(traceOf(c))),
    addTaskDep: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        coordCommands.addDep,
        { id: params.id, depId: body.depId, ...who(c, principal) },
        call(traceOf(c)),
      ),
    removeTaskDep: ({ c, params, principal }) =>
      callCommand(
        nc,
        coordCommands.removeDep,
        { id: params.id, depId: params.depId, ...who(c, principal) },
        call(traceOf(c)),
      ),
    listWorkers: ({ c }) => callCommand(nc, coordCommands.workers, {}, call(traceOf(c))),
  };
}

/** `?status=queued,failed` → ['queued', 'failed']; an unknown status is a 400 naming `status`. */
export function parseStatusList(raw: string | undefined): TaskStatus[] | undefined {
  const parts = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) return undefined;
  const unknown = parts.filter((s) => !TaskStatus.safeParse(s).success);
  if (unknown.length > 0) {
    throw JoustingError.validation([
      {
        field: 'status',
        message: `unknown status ${unknown.map((s) => `"${s}"`).join(', ')}; expected any of ${TaskStatus.options.join(', ')}`,
      },
    ]);
  }
  return [...new Set(parts)] as TaskStatus[];
}

/** The `Idempotency-Key` header: absent, or 1 to 200 characters (else a 400 naming the header). */
function idempotencyKeyOf(c: Context<GatewayEnv>): string | undefined {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
    throw JoustingError.validation([
      { field: IDEMPOTENCY_HEADER, message: `must be 1 to ${MAX_IDEMPOTENCY_KEY} characters` },
    ]);
  }
  return key;
}
