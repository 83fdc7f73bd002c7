import { type CallOptions, callCommand, type NatsConnection } from '@jousting/bus';
import { secretCommands } from '@jousting/contracts';
import { actorOf } from './auth.js';
import type { RouteHandlers } from './catalog-routes.js';

type SecretRouteId = 'listSecrets' | 'putSecret' | 'revealSecret' | 'deleteSecret';

/**
 * The secrets vault routes: each is one settings-service command (`api.settings.secret-*`) with
 * the caller as actor. Roles come from the catalog (list: operator; put, reveal, delete: admin);
 * request bodies are never logged, so a value passes through the gateway without a trace.
 */
export function secretRouteHandlers(
  nc: NatsConnection,
  call: (traceId: string) => CallOptions,
): Pick<RouteHandlers, SecretRouteId> {
  return {
    listSecrets: ({ c }) => callCommand(nc, secretCommands.list, {}, call(c.get('traceId'))),
    putSecret: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        secretCommands.put,
        {
          name: params.name,
          value: body.value,
          ...(body.description === undefined ? {} : { description: body.description }),
          actor: actorOf(principal),
          traceId: c.get('traceId'),
        },
        call(c.get('traceId')),
      ),
    revealSecret: ({ c, params, principal }) => {
      // The answer holds the value: no browser or proxy cache may keep it.
      c.header('cache-control', 'no-store');
      return callCommand(
        nc,
        secretCommands.reveal,
        { name: params.name, actor: actorOf(principal), traceId: c.get('traceId') },
        call(c.get('traceId')),
      );
    },
    deleteSecret: ({ c, params, principal }) =>
      callCommand(
        nc,
        secretCommands.delete,
        { name: params.name, actor: actorOf(principal), traceId: c.get('traceId') },
        call(c.get('traceId')),
      ),
  };
}
