import { type CallOptions, callCommand, type NatsConnection } from '@jousting/bus';
import { notifierCommands } from '@jousting/contracts';
import type { Context } from 'hono';
import { actorOf } from './auth.js';
import type { RouteHandlers } from './catalog-routes.js';
import type { GatewayEnv } from './http-env.js';

type NotifyRouteId =
  | 'listWebhooks'
  | 'createWebhook'
  | 'getWebhook'
  | 'updateWebhook'
  | 'deleteWebhook'
  | 'testWebhook'
  | 'listWebhookDeliveries'
  | 'redeliverWebhookDelivery'
  | 'rotateWebhookSecret'
  | 'listNotifications'
  | 'readAllNotifications'
  | 'readNotification';

/** A test delivery waits for the endpoint (up to 15 s), longer than the usual command timeout. */
const TEST_DELIVERY_TIMEOUT_MS = 20_000;

/**
 * The webhook and notification routes: each is one notifier command (`api.notifier.*`) with the
 * caller as actor and the request's trace id.
 */
export function notifyRouteHandlers(
  nc: NatsConnection,
  call: (traceId: string) => CallOptions,
): Pick<RouteHandlers, NotifyRouteId> {
  const traceOf = (c: Context<GatewayEnv>) => c.get('traceId');
  const who = (c: Context<GatewayEnv>, principal: Parameters<typeof actorOf>[0]) => ({
    actor: actorOf(principal),
    traceId: traceOf(c),
  });

  return {
    listWebhooks: ({ c }) => callCommand(nc, notifierCommands.webhookList, {}, call(traceOf(c))),
    createWebhook: async ({ c, body, principal }) => {
      const created = await callCommand(
        nc,
        notifierCommands.webhookCreate,
        { ...body, ...who(c, principal) },
        call(traceOf(c)),
      );
      return c.json(created, 201);
    },
    getWebhook: ({ c, params }) =>
      callCommand(nc, notifierCommands.webhookGet, { id: params.id }, call(traceOf(c))),
    updateWebhook: ({ c, params, body, principal }) =>
      callCommand(
        nc,
        notifierCommands.webhookUpdate,
        { ...body, id: params.id, ...who(c, principal) },
        call(traceOf(c)),
      ),
    deleteWebhook: async ({ c, params, principal }) => {
      await callCommand(
        nc,
        notifierCommands.webhookDelete,
        { id: params.id, ...who(c, principal) },
        call(traceOf(c)),
      );
      return { ok: true };
    },
    testWebhook: ({ c, params, principal }) =>
      callCommand(
        nc,
        notifierCommands.webhookTest,
        { id: params.id, ...who(c, principal) },
        { ...call(traceOf(c)), timeoutMs: TEST_DELIVERY_TIMEOUT_MS },
      ),
    listWebhookDeliveries: ({ c, params, query }) =>
      callCommand(
        nc,
        notifierCommands.webhookDeliveries,
        {
          id: params.id,
          ...(query.status ? { status: query.status } : {}),
          limit: query.limit,
          offset: query.offset,
        },
        call(traceOf(c)),
      ),
    redeliverWebhookDelivery: ({ c, params, principal }) =>
      callCommand(
        nc,
        notifierCommands.webhookRedeliver,
        { id: params.id, deliveryId: params.deliveryId, ...who(c, principal) },
        call(traceOf(c)),
      ),
    rotateWebhookSecret: ({ c, params, principal }) =>
      callCommand(
        nc,
        notifierCommands.webhookRotateSecret,
        { id: params.id, ...who(c, principal) },
        call(traceOf(c)),
      ),
    listNotifications: ({ c, query }) =>
      callCommand(
        nc,
        notifierCommands.notificationsList,
        {
          ...(query.unread === undefined ? {} : { unread: query.unread === 'true' }),
          limit: query.limit,
          offset: query.offset,
        },
        call(traceOf(c)),
      ),
    readAllNotifications: ({ c }) =>
      callCommand(nc, notifierCommands.notificationsMarkAllRead, {}, call(traceOf(c))),
    readNotification: ({ c, params }) =>
      callCommand(nc, notifierCommands.notificationsMarkRead, { id: params.id }, call(traceOf(c))),
  };
}
