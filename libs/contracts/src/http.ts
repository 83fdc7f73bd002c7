import { z } from 'zod';
import { ApiToken, Role, TokenInfo, TokenName } from './auth.js';
import { SettingsChangeResult } from './commands.js';
import { SettingKey, Settings, SettingsPatch } from './settings.js';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** One HTTP endpoint of the gateway. The gateway validates with these and OpenAPI is built from them. */
export interface HttpRoute {
  id: string;
  method: HttpMethod;
  /** OpenAPI-style path, e.g. `/api/tokens/{id}`. */
  path: string;
  summary: string;
  tag: string;
  /** `public` needs no token. */
  role: Role | 'public';
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  /** Media type of a non-JSON success response (SSE, HTML). */
  responseMediaType?: string;
  status?: number;
  errors: number[];
  /** Error statuses whose body is not the usual `{error}`, e.g. readiness answers 503 with its report. */
  errorBodies?: Record<number, z.ZodType>;
}

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

const ok = z.object({ ok: z.literal(true) });
const AUTH_ERRORS = [401, 403];

export const HTTP_ROUTES = [
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

export type HttpRouteId = (typeof HTTP_ROUTES)[number]['id'];
export function httpRoute(id: HttpRouteId): HttpRoute {
  const route = HTTP_ROUTES.find((r) => r.id === id);
  if (!route) throw new Error(`unknown route ${id}`);
  return route;
}
