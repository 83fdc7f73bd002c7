import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type Command,
  JoustingError,
  ReplyEnvelope,
  type Task,
  type TaskSummary,
  WORKER_TOKEN_HEADER,
  workerCommands,
} from '@jousting/contracts';
import { repoRoot, type Stack, startStack } from '@jousting/testing';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';

// The task API through the whole stack: the built gateway and coordinator as real processes.
const WORKER_TOKEN = `jwt_${randomBytes(24).toString('hex')}`;
const cliBin = join(repoRoot(), 'libs', 'cli', 'dist', 'bin.js');

let stack: Stack;
let nc: NatsConnection;

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field
type Json = any;

async function api(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...extra,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as Json };
}

const exec = (command: string) => ({ command });
const ids = (tasks: { id: string }[]) => tasks.map((t) => t.id);

/** A command of the worker protocol, sent the way a worker sends it (with the worker token). */
async function asWorker<C extends Command>(
  command: C,
  request: z.input<C['request']>,
): Promise<z.infer<C['response']>> {
  const hdrs = headers();
  hdrs.set(WORKER_TOKEN_HEADER, WORKER_TOKEN);
  const msg = await nc.request(command.subject, JSON.stringify(request), { timeout: 5000, headers: hdrs });
  const envelope = ReplyEnvelope.parse(msg.json());
  if (!envelope.ok) throw JoustingError.fromBody(envelope.error);
  return command.response.parse(envelope.data) as z.infer<C['response']>;
}

function jousting(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, JOUSTING_URL: stack.baseUrl, JOUSTING_TOKEN: stack.adminToken };
  return new Promise((resolve) => {
    execFile(process.execPath, [cliBin, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'gateway'],
    env: { JOUSTING_WORKER_TOKEN: WORKER_TOKEN },
  });
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('creating tasks', () => {
  it('creates a task (201) and answers a repeated Idempotency-Key with the same task (200)', async () => {
    const body = { title: 'idempotent', payload: exec('true'), labels: ['e2e-idem'] };
    const first = await api('POST', '/api/tasks', body, { 'Idempotency-Key': 'e2e-idem-1' });
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(first.json).toMatchObject({
      created: true,
      task: { title: 'idempotent', status: 'queued', kind: 'exec' },
    });
    expect(first.headers.get('location')).toBe(`/api/tasks/${first.json.task.id}`);

    const again = await api('POST', '/api/tasks', body, { 'Idempotency-Key': 'e2e-idem-1' });
    expect(again.status).toBe(200);
    expect(again.json.created).toBe(false);
    expect(again.json.task.id).toBe(first.json.task.id);

    const listed = await api('GET', '/api/tasks?label=e2e-idem');
    expect(listed.json.total).toBe(1);
  });

  it('creates a batch whose members depend on each other, all or nothing', async () => {
    const res = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'bat-a', title: 'a', payload: exec('true'), labels: ['e2e-batch'] },
        { id: 'bat-b', title: 'b', payload: exec('true'), labels: ['e2e-batch'], deps: ['bat-a'] },
        { id: 'bat-c', title: 'c', payload: exec('true'), labels: ['e2e-batch'], deps: ['bat-b'] },
      ],
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.tasks.map((t: Task) => [t.id, t.status])).toEqual([
      ['bat-a', 'queued'],
      ['bat-b', 'pending'],
      ['bat-c', 'pending'],
    ]);

    const refused = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'bat-ok', title: 'ok', payload: exec('true') },
        { id: 'bat-bad', title: 'bad', payload: exec('true'), deps: ['bat-missing'] },
      ],
    });
    expect(refused.status).toBe(400);
    expect((await api('GET', '/api/tasks/bat-ok')).status).toBe(404);
  });

  it('names fields the coordinator refuses as they were sent: deps.0, id', async () => {
    const unknownDep = await api('POST', '/api/tasks', {
      title: 'x',
      payload: exec('true'),
      deps: ['nf-nope'],
    });
    expect(unknownDep.status).toBe(400);
    expect(unknownDep.json.error.details.fields).toEqual([{ field: 'deps.0', message: expect.any(String) }]);
    expect(unknownDep.json.error.message).not.toContain('task.');

    expect((await api('POST', '/api/tasks', { id: 'nf-1', title: 'x', payload: exec('true') })).status).toBe(
      201,
    );
    const taken = await api('POST', '/api/tasks', { id: 'nf-1', title: 'x', payload: exec('true') });
    expect(taken.status).toBe(409);
    expect(taken.json.error.details.fields).toEqual([{ field: 'id', message: expect.any(String) }]);
  });

  it('refuses an invalid task naming the fields', async () => {
    const res = await api('POST', '/api/tasks', { title: '', payload: {} });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'payload.command',
      'title',
    ]);
  });
});

describe('reading tasks', () => {
  beforeAll(async () => {
    const res = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'rd-1', title: 'compile the parser', payload: exec('make'), labels: ['e2e-read', 'linux'] },
        {
          id: 'rd-2',
          title: 'test the parser',
          payload: exec('make test'),
          labels: ['e2e-read'],
          deps: ['rd-1'],
        },
        {
          id: 'rd-3',
          title: 'write the summary',
          kind: 'note',
          payload: { text: 'x' },
          labels: ['e2e-read'],
          deps: ['rd-1'],
        },
      ],
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });

  it('filters by status, label, kind and text, newest first', async () => {
    const byLabel = await api('GET', '/api/tasks?label=e2e-read');
    expect(byLabel.status).toBe(200);
    expect(ids(byLabel.json.items)).toEqual(['rd-3', 'rd-2', 'rd-1']);

    const pending = await api('GET', '/api/tasks?label=e2e-read&status=pending');
    expect(ids(pending.json.items).sort()).toEqual(['rd-2', 'rd-3']);
    const queuedOrPending = await api('GET', '/api/tasks?label=e2e-read&status=queued,pending');
    expect(queuedOrPending.json.total).toBe(3);

    expect(ids((await api('GET', '/api/tasks?label=e2e-read&kind=note')).json.items)).toEqual(['rd-3']);
    expect(ids((await api('GET', '/api/tasks?label=linux&q=parser')).json.items)).toEqual(['rd-1']);

    const unknown = await api('GET', '/api/tasks?status=finished');
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details.fields[0].field).toBe('status');
  });

  it('pages with limit and offset', async () => {
    const first = await api('GET', '/api/tasks?label=e2e-read&limit=2');
    expect(first.json).toMatchObject({ total: 3, limit: 2, offset: 0, hasMore: true });
    expect(ids(first.json.items)).toEqual(['rd-3', 'rd-2']);
    const second = await api('GET', '/api/tasks?label=e2e-read&limit=2&offset=2');
    expect(second.json).toMatchObject({ total: 3, offset: 2, hasMore: false });
    expect(ids(second.json.items)).toEqual(['rd-1']);
  });

  it('returns one task with its deps and dependents, 404 for an unknown one', async () => {
    const one = await api('GET', '/api/tasks/rd-1');
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: 'rd-1', deps: [], attempts: [], output: [] });
    expect([...one.json.dependents].sort()).toEqual(['rd-2', 'rd-3']);
    expect((await api('GET', '/api/tasks/rd-2')).json).toMatchObject({ deps: ['rd-1'], dependents: [] });

    const missing = await api('GET', '/api/tasks/rd-nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('not_found');
  });

  it('serves the graph in parallel levels and the progress', async () => {
    const graph = await api('GET', '/api/tasks/graph');
    expect(graph.status).toBe(200);
    const level = (id: string) => graph.json.levels.findIndex((l: string[]) => l.includes(id));
    expect(level('rd-1')).toBeGreaterThanOrEqual(0);
    expect(level('rd-2')).toBe(level('rd-1') + 1);
    expect(level('rd-3')).toBe(level('rd-1') + 1);
    expect(graph.json.edges).toEqual(
      expect.arrayContaining([
        { from: 'rd-1', to: 'rd-2' },
        { from: 'rd-1', to: 'rd-3' },
      ]),
    );
    expect(graph.json.nodes.length).toBe(graph.json.progress.total);

    const progress = await api('GET', '/api/tasks/progress');
    expect(progress.status).toBe(200);
    const counted = Object.values(progress.json.byStatus as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    expect(counted).toBe(progress.json.total);
    expect(progress.json.total).toBeGreaterThanOrEqual(3);
  });
});

describe('changing tasks', () => {
  it('edits a task before it starts and refuses with 409 once a worker started it', async () => {
    const created = await api('POST', '/api/tasks', {
      id: 'ed-1',
      title: 'before',
      kind: 'e2e-edit',
      payload: { step: 1 },
    });
    expect(created.status).toBe(201);
    const edited = await api('PATCH', '/api/tasks/ed-1', { title: 'after', priority: 7 });
    expect(edited.status, JSON.stringify(edited.json)).toBe(200);
    expect(edited.json).toMatchObject({ id: 'ed-1', title: 'after', priority: 7, status: 'queued' });

    // Start it the way a worker does: announce, claim, report "started".
    await asWorker(workerCommands.hello, {
      workerId: 'e2e-w1',
      name: 'e2e',
      kinds: ['e2e-edit'],
      capacity: 1,
    });
    const { tasks } = await asWorker(workerCommands.claim, { workerId: 'e2e-w1', max: 1 });
    expect(tasks.map((t) => t.taskId)).toEqual(['ed-1']);
    const { results } = await asWorker(workerCommands.report, {
      workerId: 'e2e-w1',
      reports: [{ type: 'started', taskId: 'ed-1', attempt: tasks[0]!.attempt }],
    });
    expect(results[0]?.ok).toBe(true);
    expect((await api('GET', '/api/tasks/ed-1')).json.status).toBe('running');

    const late = await api('PATCH', '/api/tasks/ed-1', { title: 'too late' });
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('conflict');
    expect((await api('PATCH', '/api/tasks/ed-nope', { title: 'x' })).status).toBe(404);

    const workers = await api('GET', '/api/workers');
    expect(workers.status).toBe(200);
    expect(workers.json.items.find((w: { id: string }) => w.id === 'e2e-w1')).toMatchObject({
      status: 'online',
      kinds: ['e2e-edit'],
      running: ['ed-1'],
    });
  });

  it('refuses a dependency that closes a cycle through three tasks with 400 and the path', async () => {
    const res = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'cy-a', title: 'a', payload: exec('true') },
        { id: 'cy-b', title: 'b', payload: exec('true'), deps: ['cy-a'] },
        { id: 'cy-c', title: 'c', payload: exec('true'), deps: ['cy-b'] },
      ],
    });
    expect(res.status).toBe(201);

    const cycle = await api('POST', '/api/tasks/cy-a/deps', { depId: 'cy-c' });
    expect(cycle.json.error.message).toContain('cy-a → cy-c → cy-b → cy-a');
    expect(cycle.json.error.details.cycle).toEqual(['cy-a', 'cy-c', 'cy-b', 'cy-a']);
    // The route promises 400 for a cycle (HTTP_ROUTES addTaskDep), as a cycle inside a batch gets.
    expect(cycle.status, JSON.stringify(cycle.json)).toBe(400);
    expect(cycle.json.error.code).toBe('validation_failed');
  });

  it('adds and removes dependencies; an unknown task is 404, an unknown dependency 400', async () => {
    const res = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'dp-a', title: 'a', payload: exec('true') },
        { id: 'dp-b', title: 'b', payload: exec('true'), deps: ['dp-a'] },
      ],
    });
    expect(res.status).toBe(201);

    const removed = await api('DELETE', '/api/tasks/dp-b/deps/dp-a');
    expect(removed.status, JSON.stringify(removed.json)).toBe(200);
    expect(removed.json).toMatchObject({ id: 'dp-b', deps: [], status: 'queued' });
    expect((await api('DELETE', '/api/tasks/dp-b/deps/dp-a')).json.deps).toEqual([]);

    const added = await api('POST', '/api/tasks/dp-b/deps', { depId: 'dp-a' });
    expect(added.status, JSON.stringify(added.json)).toBe(200);
    expect(added.json).toMatchObject({ deps: ['dp-a'], status: 'pending' });
    expect((await api('GET', '/api/tasks/dp-a')).json.dependents).toEqual(['dp-b']);

    expect((await api('POST', '/api/tasks/dp-nope/deps', { depId: 'dp-a' })).status).toBe(404);
    const unknownDep = await api('POST', '/api/tasks/dp-b/deps', { depId: 'dp-nope' });
    expect(unknownDep.status).toBe(400);
    expect(unknownDep.json.error.details.fields[0].field).toBe('depId');
    expect((await api('DELETE', '/api/tasks/dp-nope/deps/dp-a')).status).toBe(404);
  });

  it('cancels a task with its dependents, and retries it', async () => {
    const res = await api('POST', '/api/tasks/batch', {
      tasks: [
        { id: 'cn-a', title: 'a', payload: exec('true') },
        { id: 'cn-b', title: 'b', payload: exec('true'), deps: ['cn-a'] },
        { id: 'cn-c', title: 'c', payload: exec('true'), deps: ['cn-b'] },
      ],
    });
    expect(res.status).toBe(201);

    const early = await api('POST', '/api/tasks/cn-a/retry');
    expect(early.status).toBe(409);

    const canceled = await api('POST', '/api/tasks/cn-a/cancel', { reason: 'not needed' });
    expect(canceled.status, JSON.stringify(canceled.json)).toBe(200);
    expect(canceled.json.task).toMatchObject({ id: 'cn-a', status: 'canceled' });
    expect(ids(canceled.json.cascaded).sort()).toEqual(['cn-b', 'cn-c']);
    expect((await api('GET', '/api/tasks/cn-c')).json.status).toBe('canceled');
    expect((await api('POST', '/api/tasks/cn-a/cancel')).status).toBe(409);

    const retried = await api('POST', '/api/tasks/cn-a/retry');
    expect(retried.status, JSON.stringify(retried.json)).toBe(200);
    expect(retried.json).toMatchObject({ id: 'cn-a', status: 'queued' });
    expect((await api('POST', '/api/tasks/cn-nope/retry')).status).toBe(404);
    expect((await api('POST', '/api/tasks/cn-nope/cancel')).status).toBe(404);
  });
});

describe('the jousting CLI against the stack', () => {
  it('adds a task and lists it as JSON', async () => {
    const added = await jousting([
      'tasks',
      'add',
      'from the cli',
      '--cmd',
      'echo',
      '--arg',
      'hello',
      '--label',
      'e2e-cli',
      '--idempotency-key',
      'e2e-cli-1',
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const { task, created } = JSON.parse(added.stdout) as { task: Task; created: boolean };
    expect(created).toBe(true);
    expect(task).toMatchObject({ title: 'from the cli', payload: { command: 'echo', args: ['hello'] } });

    const repeat = await jousting([
      'tasks',
      'add',
      'from the cli',
      '--cmd',
      'echo',
      '--idempotency-key',
      'e2e-cli-1',
    ]);
    expect(repeat.stdout).toContain(`${task.id} was already created`);

    const listed = await jousting(['tasks', 'ls', '--label', 'e2e-cli', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { items: TaskSummary[]; total: number };
    expect(page.total).toBe(1);
    expect(page.items[0]).toMatchObject({ id: task.id, status: 'queued' });

    const table = await jousting(['tasks', 'ls', '--label', 'e2e-cli']);
    expect(table.stdout).toMatch(new RegExp(`^${task.id} +queued +0 +exec +from the cli +0 +-$`, 'm'));

    const shown = await jousting(['tasks', 'show', task.id]);
    expect(shown.stdout).toMatch(/^payload +\{"command":"echo","args":\["hello"\]\}$/m);
    const missing = await jousting(['tasks', 'show', 'cli-nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: /);
  });

  it('refuses a cycle with its path, cancels with the cascade, and lists workers', async () => {
    const ok = async (args: string[]) => {
      const result = await jousting(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    expect(await ok(['tasks', 'add', 'first', '--cmd', 'true', '--id', 'cli-a'])).toBe(
      'created cli-a (queued)\n',
    );
    expect(await ok(['tasks', 'add', 'second', '--cmd', 'true', '--id', 'cli-b', '--dep', 'cli-a'])).toBe(
      'created cli-b (pending)\n',
    );

    const cycle = await jousting(['tasks', 'deps', 'add', 'cli-a', 'cli-b']);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain('cli-a \u2192 cli-b \u2192 cli-a');

    expect(await ok(['tasks', 'cancel', 'cli-a', '--reason', 'e2e'])).toMatch(
      /^canceled cli-a\nalso canceled 1 dependent:\n {2}cli-b {2}\S/,
    );
    expect(await ok(['tasks', 'retry', 'cli-a'])).toBe('retried cli-a: queued\n');
    const workers = JSON.parse(await ok(['workers', 'ls', '--json'])) as { items: unknown[] };
    expect(Array.isArray(workers.items)).toBe(true);
  });
});
