import { z } from 'zod';
import type { Role } from './auth.js';

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

export const ok = z.object({ ok: z.literal(true) });
/** Every authenticated route can answer these. */
export const AUTH_ERRORS = [401, 403];
