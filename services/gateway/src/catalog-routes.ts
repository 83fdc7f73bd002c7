import {
  HTTP_ROUTES,
  type HttpRoute,
  type HttpRouteId,
  issuesFromZod,
  JoustingError,
  parseOrThrow,
} from '@jousting/contracts';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Auth } from './auth.js';
import type { GatewayEnv, Principal } from './http-env.js';

type CatalogRoute = (typeof HTTP_ROUTES)[number];
type RouteOf<Id extends HttpRouteId> = Extract<CatalogRoute, { id: Id }>;
type Parsed<R, K extends string> = R extends { [P in K]: infer S extends z.ZodType } ? z.infer<S> : undefined;

/** What a route handler gets: the request's validated parts and, unless public, the caller. */
export interface RouteInput<Id extends HttpRouteId> {
  c: Context<GatewayEnv>;
  params: Parsed<RouteOf<Id>, 'params'>;
  query: Parsed<RouteOf<Id>, 'query'>;
  body: Parsed<RouteOf<Id>, 'body'>;
  principal: RouteOf<Id>['role'] extends 'public' ? undefined : Principal;
}

/** A handler returns the response data (checked against the route's schema) or a finished Response. */
export type RouteHandler<Id extends HttpRouteId> = (
  input: RouteInput<Id>,
) => Promise<z.input<RouteOf<Id>['response']> | Response> | z.input<RouteOf<Id>['response']> | Response;

/** One handler per catalogued route: a route missing here is a type error. */
export type RouteHandlers = { [Id in HttpRouteId]: RouteHandler<Id> };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:\s*;|$)/i;

/**
 * Mounts every route of HTTP_ROUTES: the catalog decides method, path, required role and the
 * schemas of params, query and body, so the served API and the OpenAPI document cannot drift.
 */
export function mountCatalogRoutes(app: Hono<GatewayEnv>, auth: Auth, handlers: RouteHandlers): void {
  for (const route of byStaticPathsFirst(HTTP_ROUTES)) {
    const handler = handlers[route.id as HttpRouteId] as RouteHandler<HttpRouteId>;
    app.on(route.method.toUpperCase(), toHonoPath(route.path), async (c) => {
      const principal = route.role === 'public' ? undefined : await auth.authorize(c, route.role);
      const input = {
        c,
        principal,
        params: route.params ? parseOrThrow(route.params, c.req.param()) : undefined,
        query: route.query ? parseOrThrow(route.query, c.req.query()) : undefined,
        body: route.body ? parseOrThrow(route.body, await readJsonBody(c)) : undefined,
      } as RouteInput<HttpRouteId>;
      const result = await handler(input);
      if (result instanceof Response) return result;
      const checked = route.response.safeParse(result);
      if (!checked.success) {
        c.get('log').error(
          { route: route.id, issues: issuesFromZod(checked.error) },
          'reply breaks its contract',
        );
        throw new JoustingError('internal', 'the gateway produced an invalid reply');
      }
      return c.json(checked.data as object, (route.status ?? 200) as ContentfulStatusCode);
    });
  }
}

/**
 * Hono runs the first registered route that matches, so `/api/tasks/graph` must be registered
 * before `/api/tasks/{id}` or "graph" would be taken for an id: fewer path parameters first,
 * catalog order otherwise.
 */
export function byStaticPathsFirst(routes: readonly HttpRoute[]): HttpRoute[] {
  const params = (route: HttpRoute) => route.path.split('{').length - 1;
  return [...routes].sort((a, b) => params(a) - params(b));
}

/** `/api/tokens/{id}` → `/api/tokens/:id` */
export const toHonoPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');

/** The JSON body; an empty body counts as `{}` so "all defaults" requests need none. */
async function readJsonBody(c: Context<GatewayEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  // Requiring JSON also keeps plain HTML forms (which cannot send it) from posting here.
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw JoustingError.validation([
      { field: '(body)', message: 'must be JSON sent as Content-Type: application/json' },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw JoustingError.validation([{ field: '(body)', message: 'is not valid JSON' }]);
  }
}
