import { type AuditWriter, callCommand, type Logger, type NatsConnection } from '@jousting/bus';
import { buildOpenApi, JoustingError, settingsCommands, settingsJsonSchema } from '@jousting/contracts';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type Auth, actorOf, sessionOf } from './auth.js';
import { mountCatalogRoutes, type RouteHandlers } from './catalog-routes.js';
import { coordRouteHandlers } from './coord-routes.js';
import { deadLetterRouteHandlers } from './dead-letter-routes.js';
import { renderDocsPage } from './docs-page.js';
import { errorResponse, notFoundResponse, withPlainFieldNames } from './errors.js';
import type { GatewayEnv } from './http-env.js';
import { notifyRouteHandlers } from './notify-routes.js';
import { checkReadiness, type ReadinessOptions } from './readiness.js';
import { requestLogger } from './request-log.js';
import { secretRouteHandlers } from './secret-routes.js';
import type { SseFeed } from './sse.js';
import { serveUi } from './static-ui.js';
import { taskRouteHandlers } from './task-routes.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** Everything the HTTP app needs; the service wires the real ones, tests may build their own. */
export interface GatewayDeps {
  version: string;
  logger: Logger;
  nc: NatsConnection;
  audit: AuditWriter;
  auth: Auth;
  sse: SseFeed;
  /** The `GET /ws` upgrade handler (WsFeed.handler). */
  ws: MiddlewareHandler<GatewayEnv>;
  uiDir: string;
  readiness?: ReadinessOptions;
  /** Timeout of requests to other services. */
  commandTimeoutMs?: number;
}

export function createApp(deps: GatewayDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.use('*', requestLogger(deps.logger));
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw JoustingError.validation([
          { field: '(body)', message: `is larger than ${MAX_BODY_BYTES} bytes` },
        ]);
      },
    }),
  );
  mountCatalogRoutes(app, deps.auth, routeHandlers(deps));
  app.get('/ws', deps.auth.requireRole('viewer'), sameOriginForCookies, deps.ws, () => {
    throw new JoustingError('validation_failed', 'GET /ws expects a WebSocket upgrade request');
  });
  app.get('*', serveUi(deps.uiDir));
  app.onError(errorResponse);
  app.notFound(notFoundResponse);
  return app;
}

function routeHandlers(deps: GatewayDeps): RouteHandlers {
  const { auth, nc } = deps;
  const openApi = buildOpenApi({ version: deps.version });
  let docsPage: string | undefined;
  const call = (traceId: string) => ({ traceId, timeoutMs: deps.commandTimeoutMs ?? 5000 });

  return {
    health: () => ({ status: 'ok', time: new Date().toISOString() }),
    ready: async ({ c }) => {
      const readiness = await checkReadiness(nc, deps.readiness);
      return c.json(readiness, readiness.ready ? 200 : 503);
    },

    login: ({ c, body }) => auth.login(c, body.token),
    logout: async ({ c, principal }) => {
      await auth.logout(c, principal);
      return { ok: true };
    },
    me: ({ principal }) => sessionOf(principal),

    listTokens: async () => ({ items: await auth.tokens.list() }),
    createToken: async ({ c, body, principal }) => {
      const created = await auth.tokens.create(body.name, body.role);
      await deps.audit.record({
        actor: actorOf(principal),
        domain: 'gateway',
        action: 'token-created',
        target: `token:${created.id}`,
        after: { name: created.name, role: created.role },
        traceid: c.get('traceId'),
      });
      return c.json(created, 201);
    },
    deleteToken: async ({ c, params, principal }) => {
      const revoked = await auth.tokens.revoke(params.id);
      await deps.audit.record({
        actor: actorOf(principal),
        domain: 'gateway',
        action: 'token-revoked',
        target: `token:${revoked.id}`,
        before: { name: revoked.name, role: revoked.role },
        traceid: c.get('traceId'),
      });
      return { ok: true };
    },

    getSettings: ({ c }) => callCommand(nc, settingsCommands.get, {}, call(c.get('traceId'))),
    getSettingsSchema: () => settingsJsonSchema(),
    patchSettings: ({ c, body, principal }) =>
      callCommand(
        nc,
        settingsCommands.patch,
        { changes: body, actor: actorOf(principal), traceId: c.get('traceId') },
        call(c.get('traceId')),
      ).catch(withPlainFieldNames('changes.')),
    resetSettings: ({ c, body, principal }) =>
      callCommand(
        nc,
        settingsCommands.reset,
        { ...(body.keys ? { keys: body.keys } : {}), actor: actorOf(principal), traceId: c.get('traceId') },
        call(c.get('traceId')),
      ),

    ...taskRouteHandlers(nc, call),
    ...deadLetterRouteHandlers(nc, call),
    ...secretRouteHandlers(nc, call),
    ...coordRouteHandlers(nc, call),
    ...notifyRouteHandlers(nc, call),

    events: ({ c, query }) => deps.sse.respond(c, query),

    openapi: () => openApi,
    apiDocs: ({ c }) => {
      docsPage ??= renderDocsPage(openApi);
      return c.html(docsPage);
    },
  };
}

/** Browsers send cookies on cross-site WebSocket handshakes; only the page's own origin may use them. */
const sameOriginForCookies: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const origin = c.req.header('origin');
  if (c.get('principal')?.via === 'session' && origin !== undefined) {
    const host = c.req.header('host');
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {}
    if (!host || originHost !== host) {
      throw new JoustingError(
        'forbidden',
        'a cookie-authenticated WebSocket must come from the gateway\u2019s own origin',
      );
    }
  }
  await next();
};
