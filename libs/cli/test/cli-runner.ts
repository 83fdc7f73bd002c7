import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
