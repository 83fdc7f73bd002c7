import { type CallOptions, callCommand, type NatsConnection } from '@jousting/bus';
import { coordCommands } from '@jousting/contracts';
import type { Context } from 'hono';
import { actorOf } from './auth.js';
import type { RouteHandlers } from './catalog-routes.js';
import type { GatewayEnv } from './http-env.js';

type DeadLetterRouteId = 'listDeadLetters' | 'retryDeadLetter' | 'dismissDeadLetter';

/**
 * The dead-letter routes: each is one coordinator command (`api.coordinator.dead-letter*`) with
 * the caller as actor and the request's trace id, like the task routes.
 */
export function deadLetterRouteHandlers(
  nc: NatsConnection,
  call: (traceId: string) => CallOptions,
): Pick<RouteHandlers, DeadLetterRouteId> {
  const traceOf = (c: Context<GatewayEnv>) => c.get('traceId');
  const who = (c: Context<GatewayEnv>, principal: Parameters<typeof actorOf>[0]) => ({
    actor: actorOf(principal),
    traceId: traceOf(c),
  });

  return {
    listDeadLetters: ({ c, query }) =>
      callCommand(
        nc,
        coordCommands.deadLetters,
        {
          ...(query.status ? { status: query.status } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          limit: query.limit,
          offset: query.offset,
        },
        call(traceOf(c)),
      ),
    retryDeadLetter: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        coordCommands.deadLetterRetry,
        {
          id: params.id,
          ...(body.priority === undefined ? {} : { priority: body.priority }),
          ...(body.labels === undefined ? {} : { labels: body.labels }),
          ...who(c, principal),
        },
        call(traceOf(c)),
      ),
    dismissDeadLetter: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        coordCommands.deadLetterDismiss,
        { id: params.id, reason: body.reason, ...who(c, principal) },
        call(traceOf(c)),
      ),
  };
}
