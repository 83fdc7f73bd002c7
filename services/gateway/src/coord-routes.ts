import { type CallOptions, callCommand, type NatsConnection } from '@jousting/bus';
import { coordPolicyCommands } from '@jousting/contracts';
import type { Context } from 'hono';
import { actorOf } from './auth.js';
import type { RouteHandlers } from './catalog-routes.js';
import { withPlainFieldNames } from './errors.js';
import type { GatewayEnv } from './http-env.js';

type CoordRouteId =
  | 'getCoordState'
  | 'drainCoord'
  | 'pauseCoord'
  | 'resumeCoord'
  | 'requeueTask'
  | 'bulkCancel'
  | 'bulkRetry'
  | 'bulkReprioritize'
  | 'listTemplates'
  | 'saveTemplate'
  | 'getTemplate'
  | 'deleteTemplate'
  | 'instantiateTemplate';

/**
 * Coordinator lifecycle, bulk actions and templates: each route is one `api.coordinator.*`
 * command with the caller as actor, like the task routes.
 */
export function coordRouteHandlers(
  nc: NatsConnection,
  call: (traceId: string) => CallOptions,
): Pick<RouteHandlers, CoordRouteId> {
  const traceOf = (c: Context<GatewayEnv>) => c.get('traceId');
  const who = (c: Context<GatewayEnv>, principal: Parameters<typeof actorOf>[0]) => ({
    actor: actorOf(principal),
    traceId: traceOf(c),
  });
  const cmd = coordPolicyCommands;

  return {
    getCoordState: ({ c }) => callCommand(nc, cmd.state, {}, call(traceOf(c))),
    drainCoord: ({ c, body, principal }) =>
      callCommand(nc, cmd.drain, { ...body, ...who(c, principal) }, call(traceOf(c))),
    pauseCoord: ({ c, body, principal }) =>
      callCommand(nc, cmd.pause, { ...body, ...who(c, principal) }, call(traceOf(c))),
    resumeCoord: ({ c, principal }) => callCommand(nc, cmd.resume, who(c, principal), call(traceOf(c))),
    requeueTask: ({ c, params, principal }) =>
      callCommand(nc, cmd.requeue, { id: params.id, ...who(c, principal) }, call(traceOf(c))),
    bulkCancel: ({ c, body, principal }) =>
      callCommand(nc, cmd.bulkCancel, { ...body, ...who(c, principal) }, call(traceOf(c))),
    bulkRetry: ({ c, body, principal }) =>
      callCommand(nc, cmd.bulkRetry, { ...body, ...who(c, principal) }, call(traceOf(c))),
    bulkReprioritize: ({ c, body, principal }) =>
      callCommand(nc, cmd.bulkReprioritize, { ...body, ...who(c, principal) }, call(traceOf(c))),
    listTemplates: ({ c }) => callCommand(nc, cmd.templateList, {}, call(traceOf(c))),
    saveTemplate: ({ c, body, principal }) =>
      callCommand(nc, cmd.templateSave, { template: body, ...who(c, principal) }, call(traceOf(c))).catch(
        withPlainFieldNames('template.'),
      ),
    getTemplate: ({ c, params }) => callCommand(nc, cmd.templateGet, { name: params.name }, call(traceOf(c))),
    deleteTemplate: ({ c, params, principal }) =>
      callCommand(nc, cmd.templateDelete, { name: params.name, ...who(c, principal) }, call(traceOf(c))),
    instantiateTemplate: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        cmd.templateInstantiate,
        { name: params.name, request: body, ...who(c, principal) },
        call(traceOf(c)),
      ).catch(withPlainFieldNames('request.')),
  };
}
