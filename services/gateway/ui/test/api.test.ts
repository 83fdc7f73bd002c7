import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError, taskQueryString } from '../src/api';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from a table and records every request. */
function fakeFetch(answers: Record<string, { status: number; body?: unknown }>) {
  const calls: Call[] = [];
  const impl: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const url = String(input);
    calls.push({
      url,
      method,
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const answer = answers[`${method} ${url}`];
    if (!answer) throw new TypeError('fetch failed');
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { impl, calls };
}

const session = { name: 'admin', role: 'admin', via: 'session', csrfToken: 'csrf-123' };
const settings = { maxTurns: 30 };

describe('ApiClient', () => {
  it('sends the CSRF token from the login on writes, not on reads', async () => {
    const { impl, calls } = fakeFetch({
      'POST /api/auth/login': { status: 200, body: session },
      'GET /api/settings': { status: 200, body: { settings } },
      'PATCH /api/settings': { status: 200, body: { changes: {}, settings } },
    });
    const api = new ApiClient({ fetch: impl });
    await api.login(`jst_${'a'.repeat(64)}`);
    await api.getSettings();
    await api.patchSettings({ maxTurns: 31 });
    expect(calls[0]?.body).toEqual({ token: `jst_${'a'.repeat(64)}` });
    expect(calls[0]?.headers['x-csrf-token']).toBeUndefined();
    expect(calls[1]?.headers['x-csrf-token']).toBeUndefined();
    expect(calls[2]?.headers).toMatchObject({
      'x-csrf-token': 'csrf-123',
      'content-type': 'application/json',
    });
    expect(calls[2]?.body).toEqual({ maxTurns: 31 });
  });

  it('turns an error body into an ApiError naming the fields', async () => {
    const { impl } = fakeFetch({
      'PATCH /api/settings': {
        status: 400,
        body: {
          error: {
            code: 'validation_failed',
            message: 'invalid input (maxTurns: Too big)',
            details: { fields: [{ field: 'maxTurns', message: 'Too big' }, { bogus: 1 }] },
          },
        },
      },
    });
    const err = await new ApiClient({ fetch: impl })
      .patchSettings({ maxTurns: 999 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 400,
      code: 'validation_failed',
      message: 'invalid input (maxTurns: Too big)',
      fields: [{ field: 'maxTurns', message: 'Too big' }],
    });
  });

  it('reports an unreachable gateway as a network ApiError', async () => {
    const err = await new ApiClient({ fetch: fakeFetch({}).impl }).getSettings().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'network' });
  });

  it('returns the readiness body on 503', async () => {
    const body = { ready: false, nats: { connected: true }, services: {}, missing: ['settings'] };
    const { impl } = fakeFetch({ 'GET /api/health/ready': { status: 503, body } });
    expect(await new ApiClient({ fetch: impl }).getReadiness()).toEqual(body);
  });

  it('me() answers null when not signed in, without raising the session-ended signal', async () => {
    let ended = 0;
    const unauthorized = { status: 401, body: { error: { code: 'unauthorized', message: 'no session' } } };
    const { impl } = fakeFetch({ 'GET /api/auth/me': unauthorized, 'GET /api/settings': unauthorized });
    const api = new ApiClient({ fetch: impl, onUnauthorized: () => ended++ });
    expect(await api.me()).toBeNull();
    expect(ended).toBe(0);
    await expect(api.getSettings()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(ended).toBe(1);
  });

  it('sends reset keys only when given', async () => {
    const { impl, calls } = fakeFetch({
      'POST /api/settings/reset': { status: 200, body: { changes: {}, settings } },
    });
    const api = new ApiClient({ fetch: impl });
    await api.resetSettings(['maxTurns']);
    await api.resetSettings();
    expect(calls.map((c) => c.body)).toEqual([{ keys: ['maxTurns'] }, {}]);
  });

  it('sends the idempotency key of a new task as a header', async () => {
    const task = { id: 't1', title: 'x' };
    const { impl, calls } = fakeFetch({ 'POST /api/tasks': { status: 201, body: { task, created: true } } });
    const answer = await new ApiClient({ fetch: impl }).createTask(
      { title: 'x', payload: { command: 'true' } },
      'key-1',
    );
    expect(answer.created).toBe(true);
    expect(calls[0]?.headers['idempotency-key']).toBe('key-1');
    expect(calls[0]?.body).toEqual({ title: 'x', payload: { command: 'true' } });
  });

  it('keeps the details of an error, such as the cycle of a refused dependency', async () => {
    const { impl } = fakeFetch({
      'POST /api/tasks/a/deps': {
        status: 400,
        body: {
          error: {
            code: 'validation_failed',
            message: 'making a depend on c would close a cycle: a → c → b → a',
            details: { id: 'a', depId: 'c', cycle: ['a', 'c', 'b', 'a'] },
          },
        },
      },
    });
    const err = await new ApiClient({ fetch: impl }).addDep('a', 'c').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, details: { cycle: ['a', 'c', 'b', 'a'] } });
  });

  it('escapes task ids in paths', async () => {
    const { impl, calls } = fakeFetch({ 'DELETE /api/tasks/a%2Fb/deps/c%20d': { status: 200, body: {} } });
    await new ApiClient({ fetch: impl }).removeDep('a/b', 'c d');
    expect(calls[0]?.url).toBe('/api/tasks/a%2Fb/deps/c%20d');
  });
});

describe('taskQueryString', () => {
  it('sends statuses comma-separated and leaves out empty filters', () => {
    expect(
      taskQueryString({
        status: ['queued', 'running'],
        label: ' gpu ',
        kind: '',
        q: 'build',
        limit: 50,
        offset: 0,
      }),
    ).toBe('?status=queued%2Crunning&label=gpu&q=build&limit=50');
    expect(taskQueryString({})).toBe('');
    expect(taskQueryString({ offset: 100, limit: 25 })).toBe('?limit=25&offset=100');
  });
});
