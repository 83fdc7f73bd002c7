import {
  CanceledTask,
  CreatedTask,
  CreatedTasks,
  HTTP_ROUTES,
  Progress,
  TaskDetail,
  TaskGraph,
  TaskSummary,
  type WorkerInfo,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { byStaticPathsFirst, toHonoPath } from '../src/catalog-routes.js';
import { startCoordinatorResponder } from './coordinator-responder.js';
import { client, createToken, type GatewayUnderTest, startGateway } from './harness.js';

const WORKER: WorkerInfo = {
  id: 'w1',
  name: 'build box',
  kinds: ['exec'],
  labels: ['linux'],
  capacity: 4,
  running: [],
  status: 'online',
  version: '0.1.0',
  connectedAt: '2026-01-01T00:00:00.000Z',
  lastSeenAt: '2026-01-01T00:01:00.000Z',
};

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let operator: ReturnType<typeof client>;
let viewer: ReturnType<typeof client>;
let coordinator: Awaited<ReturnType<typeof startCoordinatorResponder>>;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  operator = client(gw.url, await createToken(gw, 'tasks-operator', 'operator'));
  viewer = client(gw.url, await createToken(gw, 'tasks-viewer', 'viewer'));
});
afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});
beforeEach(async () => {
  coordinator = await startCoordinatorResponder(nc, { workers: [WORKER] });
});
afterEach(async () => {
  await coordinator.stop();
});

const exec = (command: string) => ({ command });
const lastCall = (op: string) => coordinator.calls.filter((c) => c.op === op).at(-1);

async function createTask(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await operator('POST', '/api/tasks', {
    body: { payload: exec('true'), ...body },
    headers,
  });
  return res;
}

describe('POST /api/tasks', () => {
  it('creates a task through the coordinator: 201, Location, caller as actor, same trace id', async () => {
    const res = await createTask({ title: 'build', labels: ['linux'] });
    expect(res.status).toBe(201);
    const { task, created } = CreatedTask.parse(res.json);
    expect(created).toBe(true);
    expect(task).toMatchObject({ title: 'build', kind: 'exec', priority: 0, labels: ['linux'], deps: [] });
    expect(res.headers.get('location')).toBe(`/api/tasks/${task.id}`);

    const call = lastCall('create')!;
    expect(call.request).toMatchObject({
      actor: 'token:tasks-operator',
      task: { title: 'build', description: '', kind: 'exec', payload: { command: 'true' } },
    });
    expect(call.request).not.toHaveProperty('idempotencyKey');
    expect(call.traceId).toBe(res.headers.get('x-trace-id'));
    expect(call.request.traceId).toBe(call.traceId);
  });

  it('answers a repeated Idempotency-Key with 200 and the original task', async () => {
    const first = await createTask({ title: 'once' }, { 'Idempotency-Key': 'deploy-42' });
    expect(first.status).toBe(201);
    const again = await createTask({ title: 'once' }, { 'Idempotency-Key': 'deploy-42' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ task: first.json.task, created: false });
    expect(lastCall('create')?.request.idempotencyKey).toBe('deploy-42');
    expect(coordinator.tasks.size).toBe(1);
  });

  it('refuses an Idempotency-Key over 200 characters with 400 naming the header', async () => {
    const res = await createTask({ title: 'x' }, { 'Idempotency-Key': 'k'.repeat(201) });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields).toEqual([
      { field: 'Idempotency-Key', message: 'must be 1 to 200 characters' },
    ]);
    expect(coordinator.calls).toEqual([]);
    expect((await createTask({ title: 'x' }, { 'Idempotency-Key': 'k'.repeat(200) })).status).toBe(201);
  });

  it('refuses a bad task with 400 naming every field, before asking the coordinator', async () => {
    const res = await operator('POST', '/api/tasks', {
      body: { title: ' ', kind: 'exec', payload: { args: ['x'] }, colour: 'red' },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'colour',
      'payload.command',
      'title',
    ]);
    expect(coordinator.calls).toEqual([]);
  });

  it('names fields the coordinator refuses as the caller sent them (deps.0, not task.deps.0)', async () => {
    const res = await createTask({ title: 'orphan', deps: ['nope'] });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields).toEqual([{ field: 'deps.0', message: 'unknown task "nope"' }]);
    expect(res.json.error.message).toBe('invalid input (deps.0: unknown task "nope")');
  });

  it('answers 409 for an id that is taken', async () => {
    expect((await createTask({ id: 'same', title: 'a' })).status).toBe(201);
    const res = await createTask({ id: 'same', title: 'b' });
    expect(res.status).toBe(409);
    expect(res.json.error).toEqual({
      code: 'conflict',
      message: 'id: task "same" already exists',
      details: { fields: [{ field: 'id', message: 'task "same" already exists' }] },
    });
  });
});

describe('POST /api/tasks/batch', () => {
  const batch = {
    tasks: [
      { id: 'fetch', title: 'fetch', payload: exec('git pull') },
      { id: 'build', title: 'build', payload: exec('make'), deps: ['fetch'] },
    ],
  };

  it('creates every task with deps between members (201), and a replay is 200', async () => {
    const res = await operator('POST', '/api/tasks/batch', {
      body: batch,
      headers: { 'Idempotency-Key': 'b1' },
    });
    expect(res.status).toBe(201);
    const created = CreatedTasks.parse(res.json);
    expect(created.tasks.map((t) => [t.id, t.status])).toEqual([
      ['fetch', 'queued'],
      ['build', 'pending'],
    ]);
    expect(lastCall('create-batch')?.request).toMatchObject({
      idempotencyKey: 'b1',
      actor: 'token:tasks-operator',
    });

    const replay = await operator('POST', '/api/tasks/batch', {
      body: batch,
      headers: { 'Idempotency-Key': 'b1' },
    });
    expect(replay.status).toBe(200);
    expect(replay.json.created).toBe(false);
    expect(replay.json.tasks.map((t: { id: string }) => t.id)).toEqual(['fetch', 'build']);
  });

  it('refuses an empty batch and names a bad member by its index', async () => {
    const empty = await operator('POST', '/api/tasks/batch', { body: { tasks: [] } });
    expect(empty.status).toBe(400);
    expect(empty.json.error.details.fields[0].field).toBe('tasks');
    const bad = await operator('POST', '/api/tasks/batch', {
      body: {
        tasks: [
          { title: 'ok', payload: exec('true') },
          { title: '', payload: exec('true') },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fields).toEqual([{ field: 'tasks.1.title', message: 'must not be empty' }]);
    expect(coordinator.calls).toEqual([]);
  });
});

describe('GET /api/tasks', () => {
  beforeEach(async () => {
    for (const [title, labels] of [
      ['alpha', ['gpu']],
      ['beta', []],
      ['gamma', ['gpu']],
    ] as const) {
      expect((await createTask({ title, labels: [...labels] })).status).toBe(201);
    }
    coordinator.setStatus('t0002', 'failed');
  });

  it('passes the filter to the coordinator and replies with the page', async () => {
    const res = await viewer(
      'GET',
      '/api/tasks?status=queued,failed&label=gpu&kind=exec&q=a&limit=1&offset=1',
    );
    expect(res.status).toBe(200);
    expect(lastCall('list')?.request).toEqual({
      status: ['queued', 'failed'],
      label: 'gpu',
      kind: 'exec',
      q: 'a',
      limit: 1,
      offset: 1,
    });
    const page = z
      .object({
        items: z.array(TaskSummary),
        total: z.number(),
        limit: z.number(),
        offset: z.number(),
        hasMore: z.boolean(),
      })
      .parse(res.json);
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1, hasMore: false });
    expect(page.items.map((t) => t.title)).toEqual(['alpha']);
  });

  it('defaults to 50 from offset 0 with no filter, newest first', async () => {
    const res = await viewer('GET', '/api/tasks');
    expect(lastCall('list')?.request).toEqual({ limit: 50, offset: 0 });
    expect(res.json.items.map((t: { title: string }) => t.title)).toEqual(['gamma', 'beta', 'alpha']);
    expect(res.json).toMatchObject({ total: 3, hasMore: false });
  });

  it('reads status lists with blanks and repeats, and refuses an unknown status naming it', async () => {
    await viewer('GET', '/api/tasks?status=failed,%20failed,,queued');
    expect(lastCall('list')?.request.status).toEqual(['failed', 'queued']);

    const calls = coordinator.calls.length;
    const res = await viewer('GET', '/api/tasks?status=queued,done');
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields).toEqual([
      {
        field: 'status',
        message: expect.stringMatching(/^unknown status "done"; expected any of pending, queued/),
      },
    ]);
    expect(coordinator.calls.length).toBe(calls);
  });

  it('refuses a bad limit, a negative offset and unknown query parameters by name', async () => {
    const res = await viewer('GET', '/api/tasks?limit=101&offset=-1&sort=asc');
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'limit',
      'offset',
      'sort',
    ]);
  });
});

describe('static task paths win over /api/tasks/{id}', () => {
  it('GET /api/tasks/graph is the graph, with levels', async () => {
    await operator('POST', '/api/tasks/batch', {
      body: {
        tasks: [
          { id: 'a', title: 'a', payload: exec('true') },
          { id: 'b', title: 'b', payload: exec('true'), deps: ['a'] },
          { id: 'c', title: 'c', payload: exec('true'), deps: ['a'] },
        ],
      },
    });
    const res = await viewer('GET', '/api/tasks/graph');
    expect(res.status).toBe(200);
    const graph = TaskGraph.parse(res.json);
    expect(graph.levels).toEqual([['a'], ['b', 'c']]);
    expect(graph.edges).toEqual([
      { from: 'a', to: 'b' },
      { from: 'a', to: 'c' },
    ]);
    expect(graph.progress.total).toBe(3);
    expect(coordinator.calls.some((c) => c.op === 'get')).toBe(false);
  });

  it('GET /api/tasks/progress is the progress', async () => {
    await createTask({ title: 'x' });
    const res = await viewer('GET', '/api/tasks/progress');
    expect(res.status).toBe(200);
    expect(Progress.parse(res.json)).toMatchObject({ total: 1, byStatus: { queued: 1 }, percentDone: 0 });
    expect(coordinator.calls.some((c) => c.op === 'get')).toBe(false);
  });

  it('mounts routes with fewer path parameters first, whatever the catalog order', () => {
    const reversed = [...HTTP_ROUTES].reverse().filter((r) => r.path.startsWith('/api/tasks'));
    const mounted = byStaticPathsFirst(reversed).map((r) => `${r.method} ${r.path}`);
    expect(mounted.indexOf('get /api/tasks/graph')).toBeLessThan(mounted.indexOf('get /api/tasks/{id}'));
    expect(mounted.indexOf('get /api/tasks/progress')).toBeLessThan(mounted.indexOf('get /api/tasks/{id}'));
    expect(mounted.indexOf('post /api/tasks/batch')).toBeLessThan(
      mounted.indexOf('post /api/tasks/{id}/deps'),
    );
  });
});

describe('GET /api/tasks/{id}', () => {
  it('returns the task with deps and dependents', async () => {
    await operator('POST', '/api/tasks/batch', {
      body: {
        tasks: [
          { id: 'base', title: 'base', payload: exec('true') },
          { id: 'top', title: 'top', payload: exec('true'), deps: ['base'] },
        ],
      },
    });
    const res = await viewer('GET', '/api/tasks/base');
    expect(res.status).toBe(200);
    expect(TaskDetail.parse(res.json)).toMatchObject({ id: 'base', deps: [], dependents: ['top'] });
    expect((await viewer('GET', '/api/tasks/top')).json).toMatchObject({ deps: ['base'], dependents: [] });
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const missing = await viewer('GET', '/api/tasks/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toEqual({ code: 'not_found', message: 'task nope does not exist' });
    const malformed = await viewer('GET', '/api/tasks/-bad');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.details.fields[0].field).toBe('id');
  });
});

describe('PATCH /api/tasks/{id}', () => {
  it('changes a task that has not started, and answers 409 once it runs', async () => {
    await createTask({ id: 'p1', title: 'before' });
    const res = await operator('PATCH', '/api/tasks/p1', { body: { title: 'after', priority: 5 } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: 'p1', title: 'after', priority: 5 });
    expect(lastCall('update')?.request).toMatchObject({
      id: 'p1',
      patch: { title: 'after', priority: 5 },
      actor: 'token:tasks-operator',
    });

    coordinator.setStatus('p1', 'running');
    const late = await operator('PATCH', '/api/tasks/p1', { body: { title: 'too late' } });
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('conflict');
    expect(late.json.error.message).toMatch(/running/);
  });

  it('answers 404 for an unknown task and 400 naming a bad field', async () => {
    expect((await operator('PATCH', '/api/tasks/nope', { body: { title: 'x' } })).status).toBe(404);
    const bad = await operator('PATCH', '/api/tasks/nope', { body: { priority: 5000, status: 'complete' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'priority',
      'status',
    ]);
  });
});

describe('POST /api/tasks/{id}/cancel and /retry', () => {
  it('cancels a task with its dependents and lists the cascade', async () => {
    await operator('POST', '/api/tasks/batch', {
      body: {
        tasks: [
          { id: 'c1', title: 'c1', payload: exec('true') },
          { id: 'c2', title: 'c2', payload: exec('true'), deps: ['c1'] },
          { id: 'c3', title: 'c3', payload: exec('true'), deps: ['c2'] },
        ],
      },
    });
    const res = await operator('POST', '/api/tasks/c1/cancel', { body: { reason: 'not needed' } });
    expect(res.status).toBe(200);
    const canceled = CanceledTask.parse(res.json);
    expect(canceled.task).toMatchObject({ id: 'c1', status: 'canceled' });
    expect(canceled.cascaded).toEqual([
      { id: 'c2', reason: 'dependency c1 was canceled' },
      { id: 'c3', reason: 'dependency c2 was canceled' },
    ]);
    expect(lastCall('cancel')?.request).toMatchObject({ id: 'c1', reason: 'not needed' });

    const twice = await operator('POST', '/api/tasks/c1/cancel');
    expect(twice.status).toBe(409);
  });

  it('retries a canceled task, and answers 409 for one that has not ended', async () => {
    await createTask({ id: 'r1', title: 'r1' });
    const early = await operator('POST', '/api/tasks/r1/retry');
    expect(early.status).toBe(409);
    expect(early.json.error.message).toMatch(/only a failed or canceled task/);

    await operator('POST', '/api/tasks/r1/cancel');
    const res = await operator('POST', '/api/tasks/r1/retry');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: 'r1', status: 'queued' });
    expect((await operator('POST', '/api/tasks/nope/retry')).status).toBe(404);
  });
});

describe('task dependencies', () => {
  beforeEach(async () => {
    await operator('POST', '/api/tasks/batch', {
      body: {
        tasks: [
          { id: 'd1', title: 'd1', payload: exec('true') },
          { id: 'd2', title: 'd2', payload: exec('true'), deps: ['d1'] },
          { id: 'd3', title: 'd3', payload: exec('true'), deps: ['d2'] },
        ],
      },
    });
  });

  it('adds and removes a dependency', async () => {
    const added = await operator('POST', '/api/tasks/d3/deps', { body: { depId: 'd1' } });
    expect(added.status).toBe(200);
    expect(added.json.deps).toEqual(['d2', 'd1']);
    const removed = await operator('DELETE', '/api/tasks/d3/deps/d1');
    expect(removed.status).toBe(200);
    expect(removed.json.deps).toEqual(['d2']);
    expect(lastCall('remove-dep')?.request).toMatchObject({
      id: 'd3',
      depId: 'd1',
      actor: 'token:tasks-operator',
    });
  });

  it('refuses a dependency that closes a cycle through three tasks with 400 and the path', async () => {
    const res = await operator('POST', '/api/tasks/d1/deps', { body: { depId: 'd3' } });
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      code: 'validation_failed',
      message: 'that would close a cycle: d1 → d3 → d2 → d1',
      details: {
        fields: [{ field: 'depId', message: 'd3 already depends on d1' }],
        cycle: ['d1', 'd3', 'd2', 'd1'],
      },
    });
  });

  it('answers 404 for an unknown task, 400 for an unknown dependency, 409 once the task started', async () => {
    expect((await operator('POST', '/api/tasks/nope/deps', { body: { depId: 'd1' } })).status).toBe(404);
    const unknownDep = await operator('POST', '/api/tasks/d1/deps', { body: { depId: 'nope' } });
    expect(unknownDep.status).toBe(400);
    expect(unknownDep.json.error.details.fields).toEqual([
      { field: 'depId', message: 'unknown task "nope"' },
    ]);
    expect((await operator('DELETE', '/api/tasks/nope/deps/d1')).status).toBe(404);
    coordinator.setStatus('d3', 'running');
    expect((await operator('POST', '/api/tasks/d3/deps', { body: { depId: 'd1' } })).status).toBe(409);
  });
});

describe('GET /api/workers', () => {
  it('lists the workers the coordinator knows', async () => {
    const res = await viewer('GET', '/api/workers');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ items: [WORKER] });
  });
});

const taskRoutes = HTTP_ROUTES.filter((r) => r.tag === 'tasks' || r.tag === 'workers');
const pathOf = (path: string) => toHonoPath(path).replace(':id', 'x1').replace(':depId', 'x2');

describe('roles and CSRF on task routes', () => {
  it('lets a viewer read every task route and refuses every write with 403', async () => {
    for (const route of taskRoutes) {
      const res = await viewer(route.method.toUpperCase(), pathOf(route.path));
      const what = `${route.method} ${route.path}`;
      if (route.role === 'viewer') expect(res.status, what).not.toBe(403);
      else {
        expect(route.role, what).toBe('operator');
        expect(res.status, what).toBe(403);
        expect(res.json.error.message, what).toMatch(/operator role/);
      }
    }
    expect(
      coordinator.calls.every((c) => ['list', 'graph', 'progress', 'get', 'workers'].includes(c.op)),
    ).toBe(true);
  });

  it('needs x-csrf-token for cookie-authenticated writes, not for reads', async () => {
    const login = await client(gw.url)('POST', '/api/auth/login', { body: { token: gw.adminToken } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const browser = client(gw.url);
    const body = { title: 'from the UI', payload: exec('true') };

    const forged = await browser('POST', '/api/tasks', { body, headers: { cookie } });
    expect(forged.status).toBe(403);
    expect(forged.json.error.message).toMatch(/x-csrf-token/);
    expect(coordinator.calls).toEqual([]);

    const sent = await browser('POST', '/api/tasks', {
      body,
      headers: { cookie, 'x-csrf-token': login.json.csrfToken },
    });
    expect(sent.status).toBe(201);
    expect(lastCall('create')?.request.actor).toBe('token:admin');
    expect((await browser('GET', '/api/tasks', { headers: { cookie } })).status).toBe(200);
  });
});

describe('when the coordinator is down', () => {
  it('answers 503 naming the coordinator on reads and writes', async () => {
    await coordinator.stop();
    for (const [method, path, body] of [
      ['GET', '/api/tasks'],
      ['GET', '/api/tasks/graph'],
      ['GET', '/api/workers'],
      ['POST', '/api/tasks', { title: 'x', payload: exec('true') }],
      ['POST', '/api/tasks/x1/cancel'],
    ] as const) {
      const res = await operator(method, path, body ? { body } : {});
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.json.error.code).toBe('unavailable');
      expect(res.json.error.message).toMatch(/coordinator/);
    }
  });
});
