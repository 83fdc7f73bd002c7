import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '@jousting/contracts';
import type { CliIo } from '../src/context.js';
import { run } from '../src/main.js';

/** A JSON response as the gateway sends it. */
export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** Runs `jousting` in-process with captured stdout/stderr, the given env and an optional fetch stand-in. */
export function cli(env: NodeJS.ProcessEnv, fetchFn?: typeof fetch) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    env,
    cwd: mkdtempSync(join(tmpdir(), 'jousting-cli-cwd-')),
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    ...(fetchFn ? { fetch: fetchFn } : {}),
  };
  return async (...argv: string[]) => {
    out.stdout = '';
    out.stderr = '';
    const code = await run(argv, io);
    return { code, ...out };
  };
}

/** The time every fixture was made at. */
export const T0 = '2026-01-02T03:04:05.000Z';

/** A gateway error answer: `{ error: { code, message, details? } }`. */
export const errorResponse = (
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
) => jsonResponse(status, { error: { code, message, ...(details ? { details } : {}) } });

/** A queued exec task with nothing set, but `fields`. */
export const taskOf = (fields: Partial<Task> & { id: string }): Task => ({
  title: `task ${fields.id}`,
  description: '',
  kind: 'exec',
  payload: {},
  priority: 0,
  labels: [],
  deps: [],
  status: 'queued',
  attempts: [],
  cost: { usd: 0, inputTokens: 0, outputTokens: 0 },
  createdAt: T0,
  updatedAt: T0,
  traceId: 'trace-1',
  source: 'test',
  ...fields,
});

/** What a gateway stand-in was asked, as its routes read it. */
export interface StandInRequest {
  method: string;
  url: URL;
  /** The path's segments, decoded: `/api/tasks/a%20b` is `['api', 'tasks', 'a b']`. */
  parts: string[];
  /** The JSON body as sent; the stand-in's routes trust it, the CLI is what is under test. */
  body: ReturnType<typeof JSON.parse>;
  headers: Headers;
}

/** What a gateway stand-in records of each request; `also` adds to it (e.g. a header). */
export type Recorded<Also> = {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
} & Also;

/**
 * A fetch stand-in for the gateway: `route` answers each request, and `requests` records them
 * (method, path, query, body and what `also` picks) for the tests to check.
 */
export function gatewayStandIn<Also extends object = Record<never, never>>(
  route: (req: StandInRequest) => Response | Promise<Response>,
  also?: (req: StandInRequest) => Also,
) {
  const requests: Recorded<Also>[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const req: StandInRequest = { method, url, parts, body, headers: new Headers(init?.headers) };
    const recorded = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), body };
    requests.push({ ...recorded, ...(also?.(req) as Also) });
    return route(req);
  }) as typeof fetch;
  return { fetch: fetchFn, requests };
}
