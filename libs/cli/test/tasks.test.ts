import { freePort } from '@jousting/bus';
import {
  issuesFromZod,
  NewTask,
  type Task,
  type TaskDetail,
  TaskStatus,
  type TaskSummary,
  type WorkerInfo,
} from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { formatAge, formatTaskPage } from '../src/task-output.js';
import {
  cli,
  errorResponse,
  gatewayStandIn,
  jsonResponse,
  type StandInRequest,
  T0,
  taskOf,
} from './cli-runner.js';

const makeTask = (fields: Partial<Task> & { id: string }): Task =>
  taskOf({ title: fields.id, payload: { command: 'true' }, ...fields });

const summaryOf = (t: Task): TaskSummary => ({
  id: t.id,
  title: t.title,
  kind: t.kind,
  priority: t.priority,
  labels: t.labels,
  deps: t.deps,
  status: t.status,
  ...(t.workerId ? { workerId: t.workerId } : {}),
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  attemptCount: t.attempts.length,
});

/** A stand-in for the gateway's task and worker routes, recording every request. */
function fakeTaskGateway(opts: { workers?: WorkerInfo[] } = {}) {
  const tasks = new Map<string, Task>();
  const keys = new Map<string, string>();
  let counter = 0;
  const seed = (task: Task) => tasks.set(task.id, task);

  const idempotencyKey = ({ headers }: StandInRequest) => ({
    idempotencyKey: headers.get('idempotency-key'),
  });
  const { fetch, requests } = gatewayStandIn(({ method, url, parts, body, headers }) => {
    const route = `${method} /${parts.map((p, i) => (i === 2 && parts[1] === 'tasks' ? ':id' : i === 4 ? ':depId' : p)).join('/')}`;
    const task = parts[2] ? tasks.get(parts[2]) : undefined;
    const notFound = () => errorResponse(404, 'not_found', `task ${parts[2]} does not exist`);

    switch (route) {
      case 'GET /api/tasks': {
        const statuses = url.searchParams.get('status')?.split(',');
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const all = [...tasks.values()].reverse().filter((t) => !statuses || statuses.includes(t.status));
        const items = all.slice(offset, offset + limit).map(summaryOf);
        return jsonResponse(200, {
          items,
          total: all.length,
          limit,
          offset,
          hasMore: offset + items.length < all.length,
        });
      }
      case 'POST /api/tasks': {
        const parsed = NewTask.safeParse(body);
        if (!parsed.success) {
          const fields = issuesFromZod(parsed.error);
          return errorResponse(400, 'validation_failed', 'invalid input', { fields });
        }
        const missing = parsed.data.deps.findIndex((d) => !tasks.has(d));
        if (missing >= 0) {
          return errorResponse(400, 'validation_failed', `invalid input (deps.${missing}: no task)`, {
            fields: [{ field: `deps.${missing}`, message: `no task ${parsed.data.deps[missing]}` }],
          });
        }
        const key = headers.get('idempotency-key');
        const known = key ? keys.get(key) : undefined;
        if (known) return jsonResponse(200, { task: tasks.get(known), created: false });
        const created = makeTask({
          ...parsed.data,
          id: parsed.data.id ?? `01J${String(++counter).padStart(3, '0')}`,
          status: parsed.data.deps.length > 0 ? 'pending' : 'queued',
        });
        seed(created);
        if (key) keys.set(key, created.id);
        return jsonResponse(201, { task: created, created: true });
      }
      case 'GET /api/tasks/:id': {
        if (!task) return notFound();
        const dependents = [...tasks.values()].filter((t) => t.deps.includes(task.id)).map((t) => t.id);
        const detail: TaskDetail = {
          ...task,
          dependents,
          output: (task as Partial<TaskDetail>).output ?? [],
        };
        return jsonResponse(200, detail);
      }
      case 'POST /api/tasks/:id/cancel': {
        if (!task) return notFound();
        if (task.status === 'canceled')
          return errorResponse(409, 'conflict', `task ${task.id} is already canceled`);
        task.status = 'canceled';
        const cascaded = [...tasks.values()]
          .filter((t) => t.deps.includes(task.id))
          .map((t) => {
            t.status = 'canceled';
            return { id: t.id, reason: `dependency ${task.id} was canceled` };
          });
        return jsonResponse(200, { task, cascaded, cascadedTotal: cascaded.length });
      }
      case 'POST /api/tasks/:id/retry': {
        if (!task) return notFound();
        if (task.status !== 'failed' && task.status !== 'canceled') {
          return errorResponse(
            409,
            'conflict',
            `task ${task.id} is ${task.status}; only a failed or canceled task can be retried`,
          );
        }
        task.status = 'queued';
        return jsonResponse(200, task);
      }
      case 'POST /api/tasks/:id/deps': {
        if (!task) return notFound();
        const depId = (body as { depId: string }).depId;
        const back = tasks.get(depId)?.deps.includes(task.id);
        if (back) {
          return errorResponse(400, 'validation_failed', `${depId} already depends on ${task.id}`, {
            fields: [{ field: 'depId', message: 'would close a cycle' }],
            cycle: [task.id, depId, task.id],
          });
        }
        task.deps = [...task.deps, depId];
        task.status = 'pending';
        return jsonResponse(200, task);
      }
      case 'DELETE /api/tasks/:id/deps/:depId': {
        if (!task) return notFound();
        task.deps = task.deps.filter((d) => d !== parts[4]);
        return jsonResponse(200, task);
      }
      case 'GET /api/workers':
        return jsonResponse(200, { items: opts.workers ?? [] });
      default:
        return errorResponse(404, 'not_found', `no route for ${method} ${url.pathname}`);
    }
  }, idempotencyKey);
  return { fetch, requests, tasks, seed };
}

let gateway: ReturnType<typeof fakeTaskGateway>;
let jousting: ReturnType<typeof cli>;
const sent = (method: string) => gateway.requests.filter((r) => r.method === method);

beforeEach(() => {
  gateway = fakeTaskGateway();
  jousting = cli(
    { JOUSTING_URL: 'http://gw.test:1', JOUSTING_TOKEN: `jst_${'b'.repeat(64)}` },
    gateway.fetch,
  );
});

describe('jousting tasks ls', () => {
  beforeEach(() => {
    gateway.seed(makeTask({ id: 'fetch', title: 'Fetch sources', status: 'complete', workerId: 'w1' }));
    gateway.seed(makeTask({ id: 'build', title: 'Build', deps: ['fetch'], priority: 5, status: 'failed' }));
    gateway.seed(makeTask({ id: 'test', title: 'Test', deps: ['build', 'fetch'], status: 'pending' }));
  });

  it('prints an aligned table, newest first', async () => {
    const result = await jousting('tasks', 'ls');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        'ID     STATUS    PRIORITY  KIND  TITLE          DEPS  WORKER',
        'test   pending   0         exec  Test           2     -',
        'build  failed    5         exec  Build          1     -',
        'fetch  complete  0         exec  Fetch sources  0     w1',
        '',
      ].join('\n'),
    );
    expect(gateway.requests.at(-1)).toMatchObject({ path: '/api/tasks', query: {} });
  });

  it('sends the filters as the query and says where the next page starts', async () => {
    const result = await jousting(
      'tasks',
      'ls',
      '--status',
      'failed,pending',
      '--limit',
      '1',
      '--label',
      'gpu',
      '-q',
      'es',
      '--kind',
      'exec',
    );
    expect(gateway.requests.at(-1)?.query).toEqual({
      status: 'failed,pending',
      label: 'gpu',
      kind: 'exec',
      q: 'es',
      limit: '1',
    });
    expect(result.stdout).toContain('\ntest  pending  0         exec  Test   2     -\n');
    expect(result.stdout).toMatch(/\n1-1 of 2; next page: --offset 1\n$/);
    const last = await jousting('tasks', 'ls', '--status', 'failed,pending', '--limit', '1', '--offset', '1');
    expect(last.stdout).toMatch(/\n2-2 of 2\n$/);
  });

  it('prints the page as JSON with --json', async () => {
    const result = await jousting('tasks', 'ls', '--json', '--limit', '2');
    expect(JSON.parse(result.stdout)).toMatchObject({ total: 3, limit: 2, offset: 0, hasMore: true });
    expect(JSON.parse(result.stdout).items.map((t: TaskSummary) => t.id)).toEqual(['test', 'build']);
  });

  it('refuses an unknown status or a bad limit as a usage error without asking', async () => {
    const status = await jousting('tasks', 'ls', '--status', 'queued,done');
    expect(status.code).toBe(64);
    expect(status.stderr).toContain('unknown status "done"; use any of pending, queued');
    const limit = await jousting('tasks', 'ls', '--limit', '500');
    expect(limit.code).toBe(64);
    expect(limit.stderr).toContain('--limit must be an integer from 1 to 100, got "500"');
    expect(gateway.requests).toEqual([]);
  });

  it('says so when there are no tasks', async () => {
    const empty = cli({ JOUSTING_URL: 'http://gw.test:1' }, fakeTaskGateway().fetch);
    expect((await empty('tasks', 'ls')).stdout).toBe('no tasks\n');
  });
});

describe('jousting tasks add', () => {
  it('builds an exec payload from --cmd, --arg, --env, --cwd and --timeout', async () => {
    const result = await jousting(
      'tasks',
      'add',
      'nightly build',
      '--cmd',
      'make',
      '--arg',
      'all',
      '--arg=-j4',
      '--env',
      'CC=clang',
      '--env',
      'EMPTY=',
      '--cwd',
      '/src',
      '--timeout',
      '600',
      '--priority=-5',
      '--label',
      'linux',
      '--label',
      'gpu',
      '--description',
      'every night',
    );
    expect(result).toEqual({ code: 0, stdout: 'created 01J001 (queued)\n', stderr: '' });
    expect(sent('POST')).toEqual([
      expect.objectContaining({
        path: '/api/tasks',
        idempotencyKey: null,
        body: {
          title: 'nightly build',
          kind: 'exec',
          payload: {
            command: 'make',
            args: ['all', '-j4'],
            env: { CC: 'clang', EMPTY: '' },
            cwd: '/src',
            timeoutSeconds: 600,
          },
          priority: -5,
          description: 'every night',
          labels: ['linux', 'gpu'],
        },
      }),
    ]);
  });

  it('sends --id, --dep and the idempotency key; a repeat says nothing new was created', async () => {
    gateway.seed(makeTask({ id: 'fetch' }));
    const args = [
      'tasks',
      'add',
      'Build',
      '--cmd',
      'make',
      '--id',
      'build',
      '--dep',
      'fetch',
      '--idempotency-key',
      'k1',
    ];
    expect((await jousting(...args)).stdout).toBe('created build (pending)\n');
    expect(sent('POST')[0]).toMatchObject({ idempotencyKey: 'k1', body: { id: 'build', deps: ['fetch'] } });
    const again = await jousting(...args, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, task: { id: 'build' } });
    expect((await jousting(...args)).stdout).toBe(
      'build was already created with this idempotency key (pending); nothing new\n',
    );
  });

  it('takes the whole payload as JSON for another kind', async () => {
    const result = await jousting(
      'tasks',
      'add',
      'review',
      '--kind',
      'agent',
      '--payload',
      '{"prompt":"review it"}',
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ created: true, task: { kind: 'agent' } });
    expect(sent('POST')[0]?.body).toEqual({
      title: 'review',
      kind: 'agent',
      payload: { prompt: 'review it' },
    });
  });

  it('refuses values the task schema refuses, by field, without sending anything', async () => {
    const result = await jousting(
      'tasks',
      'add',
      'x',
      '--cmd',
      'true',
      '--timeout',
      'soon',
      '--priority',
      '5000',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: invalid task\n  payload.timeoutSeconds: expected whole seconds, got "soon"\n',
    );
    const schema = await jousting(
      'tasks',
      'add',
      ' ',
      '--cmd',
      'true',
      '--priority',
      '5000',
      '--label',
      'no spaces',
    );
    expect(schema.code).toBe(1);
    expect(schema.stderr).toMatch(/^error: invalid task\n/);
    expect(schema.stderr).toContain('  title: must not be empty\n');
    expect(schema.stderr).toContain('  priority: Too big');
    expect(schema.stderr).toContain('  labels.0: a label like "gpu" or "region=eu"\n');
    const payload = await jousting('tasks', 'add', 'x', '--kind', 'custom', '--payload', '[1]');
    expect(payload.stderr).toBe('error: invalid task\n  payload: must be a JSON object\n');
    expect(sent('POST')).toEqual([]);
  });

  it('prints the server field error and exits 1', async () => {
    const result = await jousting('tasks', 'add', 'x', '--cmd', 'true', '--dep', 'ghost');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: invalid input (deps.0: no task)\n  deps.0: no task ghost\n');
    const json = await jousting('tasks', 'add', 'x', '--cmd', 'true', '--dep', 'ghost', '--json');
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        message: 'invalid input (deps.0: no task)',
        exitCode: 1,
        fields: [{ field: 'deps.0', message: 'no task ghost' }],
        status: 400,
        code: 'validation_failed',
      },
    });
  });

  it('refuses a wrong command line with exit 64', async () => {
    for (const [argv, message] of [
      [['tasks', 'add'], 'missing <title>'],
      [['tasks', 'add', 'a', 'b', '--cmd', 'x'], 'expected only <title>, got 2 arguments'],
      [['tasks', 'add', 'a'], 'an exec task needs --cmd'],
      [['tasks', 'add', 'a', '--cmd', 'x', '--payload', '{}'], 'give either --cmd or --payload, not both'],
      [['tasks', 'add', 'a', '--arg', 'x'], '--arg goes with --cmd'],
      [['tasks', 'add', 'a', '--cmd', 'x', '--env', 'NOEQUALS'], '--env expects KEY=VALUE, got "NOEQUALS"'],
      [['tasks', 'add', 'a', '--kind', 'agent', '--cmd', 'x'], '--cmd builds an exec task'],
      [['tasks', 'add', 'a', '--cmd', 'x', '--bogus'], "unknown option '--bogus'"],
    ] as const) {
      const result = await jousting(...argv);
      expect(result.code, argv.join(' ')).toBe(64);
      expect(result.stderr, argv.join(' ')).toContain(message);
      expect(result.stderr, argv.join(' ')).toContain('Run `jousting tasks add --help` for usage.');
    }
    expect(gateway.requests).toEqual([]);
  });
});

describe('jousting tasks show', () => {
  it('prints the fields, deps, dependents, attempts and the last output lines', async () => {
    gateway.seed(makeTask({ id: 'fetch', status: 'complete' }));
    gateway.seed(
      Object.assign(
        makeTask({
          id: 'build',
          title: 'Build it',
          description: 'compiles\neverything',
          status: 'failed',
          statusReason: 'exit code 2',
          deps: ['fetch'],
          labels: ['linux'],
          workerId: 'w1',
          error: { class: 'fatal', message: 'exit code 2' },
          attempts: [
            {
              number: 1,
              workerId: 'w1',
              assignedAt: T0,
              startedAt: '2026-01-02T03:04:06.000Z',
              endedAt: '2026-01-02T03:04:09.500Z',
              outcome: 'failed',
              error: { class: 'fatal', message: 'exit code 2' },
            },
          ],
        }),
        {
          output: [
            { at: T0, stream: 'stdout' as const, line: 'one' },
            { at: T0, stream: 'stdout' as const, line: 'two' },
            { at: T0, stream: 'stderr' as const, line: 'three' },
          ],
        },
      ),
    );
    gateway.seed(makeTask({ id: 'test', deps: ['build'] }));

    const result = await jousting('tasks', 'show', 'build', '--lines', '2');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'id          build',
        'title       Build it',
        'status      failed (exit code 2)',
        'kind        exec',
        'priority    0',
        'labels      linux',
        'worker      w1',
        'created     2026-01-02T03:04:05Z',
        'updated     2026-01-02T03:04:05Z',
        'source      test',
        'trace       trace-1',
        'payload     {"command":"true"}',
        'error       fatal: exit code 2',
        'deps        fetch',
        'dependents  test',
        '',
        'description:',
        '  compiles',
        '  everything',
        '',
        'attempts:',
        '  #  WORKER  OUTCOME  ASSIGNED              STARTED               ENDED                 ERROR',
        '  1  w1      failed   2026-01-02T03:04:05Z  2026-01-02T03:04:06Z  2026-01-02T03:04:09Z  fatal: exit code 2',
        '',
        'output (last 2 of 3 lines):',
        '  two',
        '  [stderr] three',
        '',
      ].join('\n'),
    );
    const json = await jousting('tasks', 'show', 'build', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: 'build',
      dependents: ['test'],
      output: [{}, {}, {}],
    });
  });

  it('fails with the server message for an unknown id', async () => {
    expect(await jousting('tasks', 'show', 'nope')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: task nope does not exist\n',
    });
  });
});

describe('jousting tasks cancel and retry', () => {
  beforeEach(() => {
    gateway.seed(makeTask({ id: 'a' }));
    gateway.seed(makeTask({ id: 'b', deps: ['a'], status: 'pending' }));
    gateway.seed(makeTask({ id: 'c', deps: ['a'], status: 'pending' }));
  });

  it('cancel prints the dependents canceled with the task and sends the reason', async () => {
    const result = await jousting('tasks', 'cancel', 'a', '--reason', 'not needed');
    expect(result).toEqual({
      code: 0,
      stdout: [
        'canceled a',
        'also canceled 2 dependents:',
        '  b  dependency a was canceled',
        '  c  dependency a was canceled',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(sent('POST')[0]).toMatchObject({ path: '/api/tasks/a/cancel', body: { reason: 'not needed' } });
    const again = await jousting('tasks', 'cancel', 'a', '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error).toMatchObject({ status: 409, code: 'conflict' });
  });

  it('retry prints the new status, and the refusal for a task that has not ended', async () => {
    const early = await jousting('tasks', 'retry', 'a');
    expect(early).toMatchObject({
      code: 1,
      stderr: 'error: task a is queued; only a failed or canceled task can be retried\n',
    });
    await jousting('tasks', 'cancel', 'a');
    expect(await jousting('tasks', 'retry', 'a')).toEqual({
      code: 0,
      stdout: 'retried a: queued\n',
      stderr: '',
    });
  });
});

describe('jousting tasks deps', () => {
  beforeEach(() => {
    gateway.seed(makeTask({ id: 'a' }));
    gateway.seed(makeTask({ id: 'b', deps: ['a'], status: 'pending' }));
    gateway.seed(makeTask({ id: 'c' }));
  });

  it('add and rm change what a task waits for', async () => {
    expect((await jousting('tasks', 'deps', 'add', 'b', 'c')).stdout).toBe(
      'b now waits for c (deps: a, c; pending)\n',
    );
    expect(sent('POST')[0]).toMatchObject({ path: '/api/tasks/b/deps', body: { depId: 'c' } });
    expect((await jousting('tasks', 'deps', 'rm', 'b', 'a')).stdout).toBe(
      'b does not wait for a (deps: c; pending)\n',
    );
    expect(sent('DELETE')[0]?.path).toBe('/api/tasks/b/deps/a');
  });

  it('add prints the cycle path the server refused', async () => {
    const result = await jousting('tasks', 'deps', 'add', 'a', 'b');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: b already depends on a\n  depId: would close a cycle\n  cycle: a \u2192 b \u2192 a\n',
    });
    const json = await jousting('tasks', 'deps', 'add', 'a', 'b', '--json');
    expect(JSON.parse(json.stdout).error).toMatchObject({ status: 400, cycle: ['a', 'b', 'a'] });
  });

  it('needs both ids', async () => {
    const result = await jousting('tasks', 'deps', 'add', 'a');
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('missing <id> <depId>');
  });
});

describe('jousting workers ls', () => {
  it('prints each worker with its running count and when it was last seen', async () => {
    const now = Date.now();
    const worker = (
      id: string,
      status: 'online' | 'offline',
      running: string[],
      seenMsAgo: number,
    ): WorkerInfo => ({
      id,
      name: id,
      kinds: ['exec', 'agent'],
      labels: id === 'w1' ? ['linux', 'gpu'] : [],
      capacity: 4,
      running,
      status,
      version: '0.1.0',
      connectedAt: T0,
      lastSeenAt: new Date(now - seenMsAgo).toISOString(),
    });
    const fake = fakeTaskGateway({
      workers: [worker('w1', 'online', ['a', 'b'], 3_000), worker('w2', 'offline', [], 2 * 3600_000 + 5_000)],
    });
    const result = await cli({ JOUSTING_URL: 'http://gw.test:1' }, fake.fetch)('workers', 'ls');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ID  STATUS   KINDS        LABELS      CAPACITY  RUNNING  LAST SEEN',
        'w1  online   exec, agent  linux, gpu  4         2        3s ago',
        'w2  offline  exec, agent  -           4         0        2h ago',
        '',
      ].join('\n'),
    );
    const json = await cli({ JOUSTING_URL: 'http://gw.test:1' }, fake.fetch)('workers', 'ls', '--json');
    expect(JSON.parse(json.stdout).items.map((w: WorkerInfo) => w.id)).toEqual(['w1', 'w2']);
  });

  it('says so when there are none', async () => {
    expect((await jousting('workers', 'ls')).stdout).toBe('no workers\n');
  });
});

describe('task command help and errors', () => {
  it('prints help for every task and worker command', async () => {
    for (const argv of [
      ['tasks', '--help'],
      ['tasks', 'deps', '--help'],
      ['help', 'tasks', 'deps'],
      ['tasks', 'ls', '--help'],
      ['tasks', 'add', '-h'],
      ['tasks', 'show', '--help'],
      ['tasks', 'cancel', '--help'],
      ['tasks', 'retry', '--help'],
      ['tasks', 'deps', 'add', '--help'],
      ['tasks', 'deps', 'rm', '--help'],
      ['workers', 'ls', '--help'],
      ['workers', '--help'],
    ]) {
      const result = await jousting(...argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout, argv.join(' ')).toMatch(/usage: jousting (tasks|workers)/);
    }
    expect((await jousting('tasks', 'deps', '--help')).stdout).toContain('tasks deps rm');
    expect((await jousting('tasks', 'add', '--help')).stdout).toContain('--idempotency-key KEY');
    expect((await jousting('--help')).stdout).toContain('workers ls');
  });

  it('shows a group help for a bare group and refuses an unknown subcommand with 64', async () => {
    const bare = await jousting('tasks', 'deps');
    expect(bare.code).toBe(64);
    expect(bare.stderr).toContain('usage: jousting tasks deps <command>');
    const unknown = await jousting('tasks', 'deps', 'swap');
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown command "tasks deps swap"');
    expect(unknown.stderr).toContain('Run `jousting tasks deps --help` for usage.');
    expect((await jousting('tasks', 'rm')).stderr).toContain('unknown command "tasks rm"');
  });

  it('exits 2 when the gateway cannot be reached', async () => {
    const port = await freePort();
    const result = await cli({ GATEWAY_PORT: String(port) })('tasks', 'ls');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot connect to http://127.0.0.1:${port}`);
  });
});

describe('formatting', () => {
  it('formatAge uses the largest whole unit', () => {
    const now = Date.parse(T0);
    expect(formatAge(T0, now + 59_000)).toBe('59s ago');
    expect(formatAge(T0, now + 61_000)).toBe('1m ago');
    expect(formatAge(T0, now + 3 * 86_400_000)).toBe('3d ago');
    expect(formatAge(T0, now - 5_000)).toBe('0s ago');
  });

  it('formatTaskPage shortens long titles and says when an offset is past the end', () => {
    const long = summaryOf(makeTask({ id: 'x', title: 'y'.repeat(80) }));
    expect(formatTaskPage({ items: [long], total: 1, limit: 50, offset: 0, hasMore: false })).toContain(
      `${'y'.repeat(59)}\u2026`,
    );
    expect(formatTaskPage({ items: [], total: 3, limit: 50, offset: 10, hasMore: false })).toBe(
      'no tasks from offset 10 (3 in all)',
    );
  });

  it('lists every status in the ls help', async () => {
    const help = (await jousting('tasks', 'ls', '--help')).stdout.replace(/\s+/g, ' ');
    for (const status of TaskStatus.options) expect(help).toContain(status);
  });
});
