import { type FieldIssue, issuesFromZod, NewTask, TaskStatus } from '@jousting/contracts';
import { UsageError } from './errors.js';
import type { TaskQuery } from './http-client.js';

type Options = Record<string, unknown>;

const str = (options: Options, name: string): string | undefined =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;
const list = (options: Options, name: string): string[] =>
  Array.isArray(options[name]) ? (options[name] as unknown[]).map(String) : [];

/** `tasks add` options, as parseArgs declares them. */
export const ADD_OPTIONS = {
  kind: { type: 'string' },
  cmd: { type: 'string' },
  payload: { type: 'string' },
  arg: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  cwd: { type: 'string' },
  timeout: { type: 'string' },
  priority: { type: 'string' },
  label: { type: 'string', multiple: true },
  dep: { type: 'string', multiple: true },
  id: { type: 'string' },
  description: { type: 'string' },
  'idempotency-key': { type: 'string' },
} as const;

/** `tasks ls` options. */
export const LIST_OPTIONS = {
  status: { type: 'string' },
  label: { type: 'string' },
  kind: { type: 'string' },
  q: { type: 'string', short: 'q' },
  limit: { type: 'string' },
  offset: { type: 'string' },
} as const;

const EXEC_ONLY = ['arg', 'env', 'cwd', 'timeout'] as const;
const INTEGER_RE = /^[+-]?\d+$/;

/**
 * The NewTask body for `tasks add <title>` and its options. Mistakes of the command line itself
 * (conflicting flags, `--env` without `=`) throw a UsageError; values the task schema refuses are
 * returned as field issues named as the server would name them (`payload.timeoutSeconds`), so a
 * local refusal and a server refusal read the same.
 */
export function buildNewTask(
  title: string,
  options: Options,
): { ok: true; task: NewTask } | { ok: false; issues: FieldIssue[] } {
  const command = 'tasks add';
  const kind = str(options, 'kind') ?? 'exec';
  const cmd = str(options, 'cmd');
  const payloadJson = str(options, 'payload');
  const issues: FieldIssue[] = [];

  if (cmd !== undefined && payloadJson !== undefined) {
    throw new UsageError('give either --cmd or --payload, not both', command);
  }
  for (const name of EXEC_ONLY) {
    const given = Array.isArray(options[name]) ? list(options, name).length > 0 : options[name] !== undefined;
    if (given && cmd === undefined) throw new UsageError(`--${name} goes with --cmd`, command);
  }
  if (cmd !== undefined && kind !== 'exec') {
    throw new UsageError(
      `--cmd builds an exec task; give kind "${kind}" its payload with --payload`,
      command,
    );
  }

  let payload: Record<string, unknown> = {};
  if (cmd !== undefined) {
    payload = { command: cmd };
    const args = list(options, 'arg');
    if (args.length > 0) payload.args = args;
    const env = list(options, 'env');
    if (env.length > 0) payload.env = Object.fromEntries(env.map((pair) => splitEnv(pair, command)));
    const cwd = str(options, 'cwd');
    if (cwd !== undefined) payload.cwd = cwd;
    const timeout = str(options, 'timeout');
    if (timeout !== undefined) {
      if (INTEGER_RE.test(timeout.trim())) payload.timeoutSeconds = Number(timeout);
      else
        issues.push({ field: 'payload.timeoutSeconds', message: `expected whole seconds, got "${timeout}"` });
    }
  } else if (payloadJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payloadJson);
    } catch {
      issues.push({ field: 'payload', message: 'is not valid JSON' });
    }
    if (parsed !== undefined) {
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        payload = parsed as Record<string, unknown>;
      } else {
        issues.push({ field: 'payload', message: 'must be a JSON object' });
      }
    }
  } else if (kind === 'exec') {
    throw new UsageError(
      'an exec task needs --cmd "command" (or its whole payload with --payload JSON)',
      command,
    );
  }

  const task: NewTask = { title, kind, payload };
  const priority = str(options, 'priority');
  if (priority !== undefined) {
    if (INTEGER_RE.test(priority.trim())) task.priority = Number(priority);
    else issues.push({ field: 'priority', message: `expected an integer, got "${priority}"` });
  }
  const id = str(options, 'id');
  if (id !== undefined) task.id = id;
  const description = str(options, 'description');
  if (description !== undefined) task.description = description;
  const labels = list(options, 'label');
  if (labels.length > 0) task.labels = labels;
  const deps = list(options, 'dep');
  if (deps.length > 0) task.deps = deps;

  if (issues.length > 0) return { ok: false, issues };
  const checked = NewTask.safeParse(task);
  if (!checked.success) return { ok: false, issues: issuesFromZod(checked.error) };
  return { ok: true, task };
}

function splitEnv(pair: string, command: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`--env expects KEY=VALUE, got "${pair}"`, command);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** The `tasks ls` options as a query; a bad status, limit or offset is a UsageError. */
export function buildTaskQuery(options: Options): TaskQuery {
  const command = 'tasks ls';
  const query: TaskQuery = {};
  const status = str(options, 'status');
  if (status !== undefined) {
    const statuses = status
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const unknown = statuses.filter((s) => !TaskStatus.safeParse(s).success);
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown status ${unknown.map((s) => `"${s}"`).join(', ')}; use any of ${TaskStatus.options.join(', ')}`,
        command,
      );
    }
    if (statuses.length > 0) query.status = statuses as TaskStatus[];
  }
  for (const name of ['label', 'kind', 'q'] as const) {
    const value = str(options, name);
    if (value !== undefined) query[name] = value;
  }
  const limit = str(options, 'limit');
  if (limit !== undefined) query.limit = integerIn(limit, 1, 100, '--limit', command);
  const offset = str(options, 'offset');
  if (offset !== undefined) query.offset = integerIn(offset, 0, Number.MAX_SAFE_INTEGER, '--offset', command);
  return query;
}

export function integerIn(raw: string, min: number, max: number, flag: string, command: string): number {
  const value = Number(raw);
  if (!INTEGER_RE.test(raw.trim()) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be an integer ${range}, got "${raw}"`, command);
  }
  return value;
}
