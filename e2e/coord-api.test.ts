import { randomBytes } from 'node:crypto';
import type { CloudEvent } from '@jousting/contracts';
import { type Stack, startStack } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Coordinator policies through the whole stack: settings, coordinator, the reference worker and
// the gateway as real processes; the worker runs commands that fail on purpose.
const WORKER_TOKEN = `jwt_${randomBytes(24).toString('hex')}`;

let stack: Stack;
let nc: NatsConnection;
const events: CloudEvent[] = [];

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field
type Json = any;

async function api(method: string, path: string, body?: unknown, token = stack.adminToken) {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Json };
}

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'worker', 'gateway'],
    env: { JOUSTING_WORKER_TOKEN: WORKER_TOKEN, WORKER_CONCURRENCY: '1', COORD_CIRCUIT_COOLDOWN_MS: '60000' },
  });
  nc = await connect({ servers: stack.nats.url });
  nc.subscribe('coord.>', { callback: (_e, m) => void events.push(m.json<CloudEvent>()) });
  await nc.flush();
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('GET /api/coord and live settings', () => {
  it('shows the settings in force, and a settings change reaches the coordinator without a restart', async () => {
    const before = await api('GET', '/api/coord');
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({
      state: 'running',
      rate: { configured: { requestsPerMinute: 60, tokensPerMinute: 100_000 }, level: 0 },
      budgets: { global: { budgetUsd: 50, status: 'ok' } },
      meteredKinds: ['agent'],
    });
    const patched = await api('PATCH', '/api/settings', {
      coordMaxRequestsPerMinute: 120,
      staleTaskMinutes: 45,
    });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);
    const reconfigured = await until(
      () => events.find((e) => e.type === 'coord.reconfigured'),
      'coord.reconfigured',
    );
    expect(reconfigured.data).toMatchObject({
      applied: { coordMaxRequestsPerMinute: 120, staleTaskMinutes: 45 },
    });
    const after = await api('GET', '/api/coord');
    expect(after.json).toMatchObject({
      rate: { configured: { requestsPerMinute: 120 } },
      settings: { staleTaskMinutes: 45 },
    });
  });
});

describe('lifecycle over HTTP', () => {
  it('pauses and resumes for an operator, never for a viewer', async () => {
    const created = await api('POST', '/api/tokens', { name: 'coord-viewer', role: 'viewer' });
    expect(created.status).toBe(201);
    const refused = await api('POST', '/api/coord/pause', {}, created.json.token);
    expect(refused.status).toBe(403);
    const paused = await api('POST', '/api/coord/pause', { reason: 'e2e' });
    expect(paused.json).toMatchObject({ state: 'paused', reason: 'e2e' });
    const task = await api('POST', '/api/tasks', { title: 'held', payload: { command: 'true' } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await api('GET', `/api/tasks/${task.json.task.id}`)).json.status).toBe('queued');
    expect((await api('POST', '/api/coord/resume')).json.state).toBe('running');
    await until(
      async () => (await api('GET', `/api/tasks/${task.json.task.id}`)).json.status === 'complete',
      'the held task to run',
    );
    const badDrain = await api('POST', '/api/coord/drain', { timeoutSeconds: 0 });
    expect(badDrain.status).toBe(400);
    expect(badDrain.json.error.details.fields[0].field).toBe('timeoutSeconds');
  });
});

describe('workers that fail on purpose', () => {
  it('dead-letters failing tasks and opens the worker circuit after three failures', async () => {
    await api('PATCH', '/api/settings', { maxTaskRetries: 0 });
    await until(
      () =>
        events.find((e) => e.type === 'coord.reconfigured' && (e.data as Json).applied.maxTaskRetries === 0),
      'retries off',
    );
    const batch = await api('POST', '/api/tasks/batch', {
      tasks: [1, 2, 3].map((i) => ({
        title: `fails ${i}`,
        payload: { command: 'sh', args: ['-c', 'exit 3'] },
      })),
    });
    expect(batch.status).toBe(201);
    const opened = await until(() => events.find((e) => e.type === 'coord.circuit-opened'), 'circuit opened');
    expect(opened.data).toMatchObject({ consecutiveFailures: 3 });
    const state = await api('GET', '/api/coord');
    expect(state.json.circuits).toEqual(
      expect.arrayContaining([expect.objectContaining({ state: 'open', consecutiveFailures: 3 })]),
    );
    const dead = await api('GET', '/api/dead-letters?status=open');
    expect(dead.json.items.length).toBeGreaterThanOrEqual(3);
    // The open circuit holds the next task back.
    const next = await api('POST', '/api/tasks', {
      title: 'after the failures',
      payload: { command: 'true' },
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await api('GET', `/api/tasks/${next.json.task.id}`)).json.status).toBe('queued');
    // Bulk cancel it (the route must not be read as the cancel of a task named "bulk").
    const bulk = await api('POST', '/api/tasks/bulk/cancel', { selection: { ids: [next.json.task.id] } });
    expect(bulk.status, JSON.stringify(bulk.json)).toBe(200);
    expect(bulk.json).toMatchObject({ done: [next.json.task.id], refused: [], matched: 1 });
  });
});

describe('bulk and templates over HTTP', () => {
  it('reprioritizes by filter and refuses a body without a selection, naming the field', async () => {
    await api('POST', '/api/coord/pause', { reason: 'hold for bulk' });
    const made = await api('POST', '/api/tasks/batch', {
      tasks: [1, 2].map((i) => ({ title: `bulk ${i}`, labels: ['e2e-bulk'], payload: { command: 'true' } })),
    });
    const res = await api('POST', '/api/tasks/bulk/reprioritize', {
      selection: { filter: { label: 'e2e-bulk' } },
      priority: 9,
    });
    expect(res.status).toBe(200);
    expect(res.json.done.sort()).toEqual(made.json.tasks.map((t: Json) => t.id).sort());
    const bad = await api('POST', '/api/tasks/bulk/retry', {});
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fields.map((f: Json) => f.field)).toContain('selection');
    const requeue = await api('POST', `/api/tasks/${made.json.tasks[0].id}/requeue`);
    expect(requeue.status).toBe(409);
    await api('POST', '/api/tasks/bulk/cancel', { selection: { filter: { label: 'e2e-bulk' } } });
    await api('POST', '/api/coord/resume');
  });

  it('saves a template, runs it with values (201), names a missing value, deletes it', async () => {
    const saved = await api('POST', '/api/templates', {
      name: 'e2e-echo',
      variables: [{ name: 'word' }],
      tasks: [
        { id: 'say', title: 'say {{word}}', payload: { command: 'echo', args: ['{{word}}'] } },
        { id: 'after', title: 'after {{word}}', payload: { command: 'true' }, deps: ['say'] },
      ],
    });
    expect(saved.status, JSON.stringify(saved.json)).toBe(201);
    expect((await api('GET', '/api/templates')).json.items.map((t: Json) => t.name)).toContain('e2e-echo');
    const missing = await api('POST', '/api/templates/e2e-echo/instantiate', { values: {} });
    expect(missing.status).toBe(400);
    expect(missing.json.error.details.fields[0].field).toBe('values.word');
    const run = await api('POST', '/api/templates/e2e-echo/instantiate', { values: { word: 'hello' } });
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    expect(run.json.tasks.map((t: Json) => t.title)).toEqual(['say hello', 'after hello']);
    expect((await api('DELETE', '/api/templates/e2e-echo')).status).toBe(200);
    expect((await api('GET', '/api/templates/e2e-echo')).status).toBe(404);
    expect((await api('POST', '/api/templates/no-such/instantiate', { values: {} })).status).toBe(404);
  });
});
