import { DeadLetter, Page, Task } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCoordinatorResponder } from './coordinator-responder.js';
import { client, createToken, type GatewayUnderTest, startGateway } from './harness.js';

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
  operator = client(gw.url, await createToken(gw, 'dlq-operator', 'operator'));
  viewer = client(gw.url, await createToken(gw, 'dlq-viewer', 'viewer'));
});
afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});
beforeEach(async () => {
  coordinator = await startCoordinatorResponder(nc);
  await operator('POST', '/api/tasks/batch', {
    body: {
      tasks: [
        { id: 'a1', title: 'a1', payload: { command: 'false' } },
        { id: 'a2', title: 'a2', payload: { command: 'false' } },
        { id: 'g1', title: 'g1', kind: 'agent', payload: { prompt: 'hi' } },
      ],
    },
  });
  coordinator.deadLetter('a1', 4, 'exited with code 1');
  coordinator.deadLetter('g1');
  coordinator.deadLetter('a2');
});
afterEach(async () => {
  await coordinator.stop();
});

const lastCall = (op: string) => coordinator.calls.filter((c) => c.op === op).at(-1);

describe('GET /api/dead-letters', () => {
  it('lists dead letters newest first, with status, kind and paging passed to the coordinator', async () => {
    const all = await viewer('GET', '/api/dead-letters');
    expect(all.status).toBe(200);
    const page = Page(DeadLetter).parse(all.json);
    expect(page.items.map((d) => d.id)).toEqual(['a2', 'g1', 'a1']);
    expect(page).toMatchObject({ total: 3, limit: 50, offset: 0, hasMore: false });
    expect(lastCall('dead-letters')?.request).toEqual({ limit: 50, offset: 0 });

    const exec = await viewer('GET', '/api/dead-letters?kind=exec&status=open&limit=1&offset=1');
    expect(exec.json.items.map((d: DeadLetter) => d.id)).toEqual(['a1']);
    expect(exec.json).toMatchObject({ total: 2, hasMore: false });
    expect(exec.json.items[0]).toMatchObject({
      attempts: 4,
      lastError: { class: 'fatal', message: 'exited with code 1' },
    });
    expect(lastCall('dead-letters')?.request).toEqual({ kind: 'exec', status: 'open', limit: 1, offset: 1 });
  });

  it('refuses an unknown status, a bad limit and unknown parameters by name', async () => {
    for (const [query, field] of [
      ['status=retried', 'status'],
      ['limit=0', 'limit'],
      ['offset=-1', 'offset'],
      ['colour=red', 'colour'],
    ]) {
      const res = await viewer('GET', `/api/dead-letters?${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(res.json.error), query).toContain(field);
    }
  });
});

describe('POST /api/dead-letters/{id}/retry', () => {
  it('gives the task a new attempt with the new priority and labels, as the caller', async () => {
    const res = await operator('POST', '/api/dead-letters/a1/retry', {
      body: { priority: 5, labels: ['big-disk'] },
    });
    expect(res.status).toBe(200);
    expect(Task.parse(res.json)).toMatchObject({
      id: 'a1',
      status: 'queued',
      priority: 5,
      labels: ['big-disk'],
    });
    const call = lastCall('dead-letter-retry')!;
    expect(call.request).toMatchObject({
      id: 'a1',
      priority: 5,
      labels: ['big-disk'],
      actor: 'token:dlq-operator',
    });
    expect(call.request.traceId).toBe(call.traceId);
    expect(coordinator.deadLetters.has('a1')).toBe(false);
    // Retried once: the dead letter is gone.
    expect((await operator('POST', '/api/dead-letters/a1/retry', { body: {} })).status).toBe(404);
  });

  it('refuses a bad body by field name', async () => {
    const res = await operator('POST', '/api/dead-letters/a1/retry', { body: { priority: 'high' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json.error)).toContain('priority');
    expect(lastCall('dead-letter-retry')).toBeUndefined();
  });
});

describe('POST /api/dead-letters/{id}/dismiss', () => {
  it('dismisses with a reason, as the caller; 404 for an unknown id; 400 without a reason', async () => {
    const res = await operator('POST', '/api/dead-letters/g1/dismiss', {
      body: { reason: 'prompt was wrong' },
    });
    expect(res.status).toBe(200);
    expect(DeadLetter.parse(res.json)).toMatchObject({
      id: 'g1',
      status: 'dismissed',
      dismissReason: 'prompt was wrong',
    });
    expect(lastCall('dead-letter-dismiss')?.request).toMatchObject({
      id: 'g1',
      reason: 'prompt was wrong',
      actor: 'token:dlq-operator',
    });
    expect((await operator('POST', '/api/dead-letters/nope/dismiss', { body: { reason: 'x' } })).status).toBe(
      404,
    );
    const missing = await operator('POST', '/api/dead-letters/a1/dismiss', { body: {} });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.json.error)).toContain('reason');
  });
});

describe('roles and availability', () => {
  it('lets a viewer list but not retry or dismiss (403)', async () => {
    expect((await viewer('GET', '/api/dead-letters')).status).toBe(200);
    const retry = await viewer('POST', '/api/dead-letters/a1/retry', { body: {} });
    expect(retry.status).toBe(403);
    expect(retry.json.error.message).toMatch(/operator role/);
    expect((await viewer('POST', '/api/dead-letters/a1/dismiss', { body: { reason: 'x' } })).status).toBe(
      403,
    );
    expect(coordinator.calls.filter((c) => c.op.startsWith('dead-letter-'))).toEqual([]);
  });

  it('answers 503 naming the coordinator when it is down', async () => {
    await coordinator.stop();
    for (const [method, path, body] of [
      ['GET', '/api/dead-letters'],
      ['POST', '/api/dead-letters/a1/dismiss', { reason: 'x' }],
    ] as const) {
      const res = await operator(method, path, body ? { body } : {});
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.json.error.message).toMatch(/coordinator/);
    }
  });
});
