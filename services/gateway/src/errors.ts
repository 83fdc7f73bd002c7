import { type ErrorCode, HTTP_STATUS_BY_CODE, JoustingError } from '@jousting/contracts';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GatewayEnv } from './http-env.js';

/** Any thrown value as the one error type; unknown errors become `internal` and keep their text out of replies. */
export function toJoustingError(err: unknown): JoustingError {
  if (err instanceof JoustingError) return err;
  if (err instanceof HTTPException) {
    const code = (Object.entries(HTTP_STATUS_BY_CODE).find(([, status]) => status === err.status)?.[0] ??
      (err.status >= 500 ? 'internal' : 'validation_failed')) as ErrorCode;
    return new JoustingError(code, err.message || `HTTP ${err.status}`);
  }
  return new JoustingError('internal', 'internal error; see the gateway log');
}

/** The one place errors become HTTP: `{error: {code, message, details}}` with the code's status. */
export function errorResponse(err: unknown, c: Context<GatewayEnv>): Response {
  const error = toJoustingError(err);
  const log = c.get('log');
  if (error.code === 'internal') log.error({ err }, 'request failed');
  else log.debug({ code: error.code, message: error.message }, 'request refused');
  if (error.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="jousting"');
  return c.json({ error: error.toBody() }, error.httpStatus as ContentfulStatusCode);
}

export function notFoundResponse(c: Context<GatewayEnv>): Response {
  return errorResponse(new JoustingError('not_found', `no route for ${c.req.method} ${c.req.path}`), c);
}

/**
 * Services name fields inside their request (`changes.maxTurns`, `task.title`); HTTP callers sent
 * the inner object itself, so the gateway names them as sent (`maxTurns`, `title`), in
 * `details.fields` and where the message quotes them (`title: …`). `renames` maps whole field
 * names that travel elsewhere over HTTP (a header, say). Other details (a cycle path) are kept.
 */
export function withPlainFieldNames(prefix: string, renames: Record<string, string> = {}) {
  const rename = (field: string) =>
    renames[field] ?? (prefix && field.startsWith(prefix) ? field.slice(prefix.length) : field);
  return (err: unknown): never => {
    if (!(err instanceof JoustingError) || !err.details?.fields) throw err;
    let message = err.message;
    const fields = err.details.fields.map((f) => {
      const field = rename(f.field);
      message = message.replaceAll(`${f.field}:`, `${field}:`);
      return { ...f, field };
    });
    throw new JoustingError(err.code, message, { ...err.details, fields });
  };
}
