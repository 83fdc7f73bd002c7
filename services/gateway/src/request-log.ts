import { type Logger, newTraceId } from '@jousting/bus';
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from './http-env.js';

const TRACEPARENT_RE = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACE_ID_RE = /^[A-Za-z0-9-]{8,64}$/;
/** Probes hit these every few seconds; logging each at info would bury everything else. */
const QUIET_PATHS = /^\/api\/health(?:\/|$)/;

/** The trace id of a request: from `traceparent`, else `x-trace-id`, else a new one. */
export function traceIdOf(traceparent: string | undefined, xTraceId: string | undefined): string {
  const fromParent = traceparent ? TRACEPARENT_RE.exec(traceparent.trim())?.[1] : undefined;
  if (fromParent) return fromParent;
  // Checked so a header cannot put arbitrary text into every log line.
  if (xTraceId && TRACE_ID_RE.test(xTraceId)) return xTraceId;
  return newTraceId();
}

/**
 * Gives each request a trace id (echoed as `x-trace-id`) and a child logger, and logs one line per
 * request with status and duration. Only method and path are logged: never headers, cookies or query.
 */
export function requestLogger(logger: Logger): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const started = performance.now();
    const traceId = traceIdOf(c.req.header('traceparent'), c.req.header('x-trace-id'));
    c.set('traceId', traceId);
    c.set('log', logger.child({ traceId, method: c.req.method, path: c.req.path }));
    c.set('principal', undefined);
    c.header('x-trace-id', traceId);
    await next();
    const status = c.res.status;
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const level = status >= 500 ? 'error' : QUIET_PATHS.test(c.req.path) ? 'debug' : 'info';
    c.get('log')[level]({ status, durationMs }, 'request');
  };
}
