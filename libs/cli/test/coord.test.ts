import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BulkResult, CoordState, Task, Template } from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli, errorResponse, gatewayStandIn, jsonResponse, T0, taskOf } from './cli-runner.js';

const coordState = (fields: Partial<CoordState> = {}): CoordState => ({
  state: 'running',
  since: T0,
  rate: {
    configured: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
    effective: { requestsPerMinute: 30, tokensPerMinute: 50_000 },
    level: 1,
    requestsAvailable: 12.6,
    tokensAvailable: 40_000,
    limitErrorsInWindow: 2,
  },
  budgets: {
    global: {
      spentUsd: 8.5,
      budgetUsd: 10,
      percent: 85,
      status: 'warning',
      inputTokens: 1000,
      outputTokens: 200,
    },
    workers: [
      {
        workerId: 'w-1',
        spentUsd: 1,
        budgetUsd: 0,
        percent: 0,
        status: 'ok',
        inputTokens: 10,
        outputTokens: 2,
      },
    ],
  },
  circuits: [
    { workerId: 'w-1', state: 'closed', consecutiveFailures: 0 },
    {
      workerId: 'w-2',
      state: 'open',
      consecutiveFailures: 3,
      openedAt: T0,
      retryAt: '2026-01-02T03:04:35.000Z',
    },
  ],
  settings: { maxTaskRetries: 3, staleTaskMinutes: 30 },
  counts: { queued: 4, running: 2, blocked: 1 },
  meteredKinds: ['agent'],
  replicas: { leader: 'coordinator-aaaa1111', standbys: [{ instance: 'coordinator-bbbb2222', since: T0 }] },
  ...fields,
});

const task = (id: string, fields: Partial<Task> = {}): Task => taskOf({ id, ...fields });

const template = (name: string): Template => ({
  name,
  description: 'build a branch',
  variables: [
    { name: 'branch', default: 'main' },
    { name: 'repo', description: 'git URL' },
  ],
  tasks: [
    {
      id: 'build',
      title: 'build {{branch}}',
      description: '',
      kind: 'exec',
      payload: { command: 'make' },
      priority: 0,
      labels: [],
      deps: [],
    },
    {
      id: 'test',
      title: 'test {{branch}}',
      description: '',
      kind: 'exec',
      payload: { command: 'make', args: ['test'] },
      priority: 5,
      labels: [],
      deps: ['build'],
    },
  ],
  createdAt: T0,
  updatedAt: T0,
  updatedBy: 'admin',
});

const error = (status: number, code: string, message: string, fields?: unknown) =>
  errorResponse(status, code, message, fields ? { fields } : undefined);

/** A stand-in for the gateway's coordination, bulk and template routes, recording every request. */
function fakeCoordGateway() {
  let state = coordState();
  const templates = new Map<string, Template>([['nightly', template('nightly')]]);
  const tasks = new Map<string, Task>([
    ['a', task('a', { status: 'queued' })],
    ['b', task('b', { status: 'complete' })],
    ['stuck', task('stuck', { status: 'blocked', statusReason: 'no heartbeat for 30 min' })],
  ]);
  const bulk = (ids: string[], ok: (t: Task) => boolean): BulkResult => {
    const result: BulkResult = { done: [], refused: [], matched: ids.length };
    for (const id of ids) {
      const t = tasks.get(id);
      if (!t) result.refused.push({ id, code: 'not_found', message: `task ${id} not found` });
      else if (!ok(t)) result.refused.push({ id, code: 'conflict', message: `task ${id} is ${t.status}` });
      else result.done.push(id);
    }
    return result;
  };
  const { fetch, requests } = gatewayStandIn(({ method, url, parts, body }) => {
    const route = `${method} ${url.pathname}`;
    if (route === 'GET /api/coord') return jsonResponse(200, state);
    if (route === 'POST /api/coord/pause') {
      state = coordState({ state: 'paused', reason: body.reason ?? 'paused by admin' });
      return jsonResponse(200, state);
    }
    if (route === 'POST /api/coord/drain') {
      state = coordState({
        state: 'draining',
        reason: body.reason ?? 'drain by admin',
        ...(body.timeoutSeconds ? { drainDeadline: '2026-01-02T03:14:05.000Z' } : {}),
      });
      return jsonResponse(200, state);
    }
    if (route === 'POST /api/coord/resume') {
      if (state.budgets.global.status === 'exceeded') {
        return error(409, 'conflict', 'the global budget is exceeded: raise coordGlobalBudgetUsd first');
      }
      state = coordState();
      return jsonResponse(200, state);
    }
    if (method === 'POST' && parts[1] === 'tasks' && parts[2] === 'bulk') {
      const ids: string[] = body.selection.ids ?? [...tasks.keys()];
      if (parts[3] === 'cancel')
        return jsonResponse(
          200,
          bulk(ids, (t) => t.status !== 'complete'),
        );
      if (parts[3] === 'retry')
        return jsonResponse(
          200,
          bulk(ids, (t) => t.status === 'failed'),
        );
      return jsonResponse(
        200,
        bulk(ids, (t) => t.status === 'queued'),
      );
    }
    if (method === 'POST' && parts[1] === 'tasks' && parts[3] === 'requeue') {
      const t = tasks.get(parts[2] ?? '');
      if (!t) return error(404, 'not_found', `task ${parts[2]} not found`);
      if (t.status !== 'blocked') return error(409, 'conflict', `task ${t.id} is ${t.status}, not blocked`);
      return jsonResponse(200, { ...t, status: 'queued' });
    }
    if (route === 'GET /api/templates') return jsonResponse(200, { items: [...templates.values()] });
    if (route === 'POST /api/templates') {
      const saved = { ...template(body.name), tasks: template(body.name).tasks.slice(0, body.tasks.length) };
      templates.set(body.name, saved);
      return jsonResponse(201, saved);
    }
    if (parts[1] === 'templates' && parts[2]) {
      const found = templates.get(parts[2]);
      if (!found) return error(404, 'not_found', `template ${parts[2]} not found`);
      if (method === 'GET') return jsonResponse(200, found);
      if (method === 'DELETE') {
        templates.delete(found.name);
        return jsonResponse(200, { name: found.name, deleted: true });
      }
      if (method === 'POST' && parts[3] === 'instantiate') {
        const values = { branch: 'main', ...body.values };
        if (values.repo === undefined) {
          return error(400, 'validation_failed', 'invalid request', [
            { field: 'values.repo', message: 'required: the template has no default for it' },
          ]);
        }
        const created = found.tasks.map((t, i) =>
          task(`t-${i}`, {
            title: t.title.replace('{{branch}}', values.branch),
            priority: body.priority ?? t.priority,
            labels: body.labels ?? [],
            status: i === 0 ? 'queued' : 'pending',
          }),
        );
        return jsonResponse(201, { template: found.name, tasks: created });
      }
    }
    return error(404, 'not_found', `no route for ${route}`);
  });
  return {
    fetch,
    requests,
    setState: (next: CoordState) => {
      state = next;
    },
  };
}

let gateway: ReturnType<typeof fakeCoordGateway>;
let jousting: ReturnType<typeof cli>;

beforeEach(() => {
  gateway = fakeCoordGateway();
  jousting = cli(
    { JOUSTING_URL: 'http://gw.test:1', JOUSTING_TOKEN: `jst_${'c'.repeat(64)}` },
    gateway.fetch,
  );
});

describe('jousting coord status', () => {
  it('prints the state, rate limits with the level, budgets and open circuits', async () => {
    const result = await jousting('coord', 'status');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const out = result.stdout;
    expect(out).toMatch(/^state: running since 2026-01-02T03:04:05Z/);
    expect(out).toContain('tasks: 4 queued, 2 running, 1 blocked');
    expect(out).toContain(
      'replicas: leader coordinator-aaaa1111; standing by: coordinator-bbbb2222 (since 2026-01-02T03:04:05Z)',
    );
    expect(out).toContain('rate limits: level 1 (halved 1\u00d7), 2 limit errors in the last 60 s');
    expect(out).toMatch(/requests\/min +60 +30 +12\n/);
    expect(out).toMatch(/tokens\/min +100000 +50000 +40000\n/);
    expect(out).toMatch(/global +\$8\.50 +\$10\.00 +85% +WARNING +1000\/200/);
    expect(out).toMatch(/w-1 +\$1\.00 +unlimited +- +ok/);
    expect(out).toMatch(/w-2 +OPEN +3 +2026-01-02T03:04:35Z/);
    expect(out).toContain('settings: maxTaskRetries 3, staleTaskMinutes 30');
    expect(gateway.requests).toEqual([{ method: 'GET', path: '/api/coord', query: {}, body: undefined }]);
  });

  it('prints the state as JSON with --json', async () => {
    const result = await jousting('coord', 'status', '--json');
    expect(JSON.parse(result.stdout)).toEqual(coordState());
  });
});

describe('jousting coord drain|pause|resume', () => {
  it('drains with a timeout and a reason, and says when it will pause', async () => {
    const result = await jousting('coord', 'drain', '--timeout', '600', '--reason', 'deploy');
    expect(result.code).toBe(0);
    expect(gateway.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/api/coord/drain',
      query: {},
      body: { timeoutSeconds: 600, reason: 'deploy' },
    });
    expect(result.stdout).toBe(
      'draining (deploy): no new dispatch; pauses when 2 running tasks finish, at the latest at 2026-01-02T03:14:05Z\n',
    );
  });

  it('refuses a bad drain timeout without asking', async () => {
    const result = await jousting('coord', 'drain', '--timeout', '0');
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--timeout must be an integer from 1 to 604800, got "0"');
    expect(gateway.requests).toEqual([]);
  });

  it('pauses and resumes', async () => {
    const paused = await jousting('coord', 'pause', '--reason', 'provider outage');
    expect(paused.stdout).toBe(
      'paused (provider outage): nothing is dispatched until `jousting coord resume`\n',
    );
    expect(gateway.requests.at(-1)?.body).toEqual({ reason: 'provider outage' });
    const resumed = await jousting('coord', 'resume', '--json');
    expect(JSON.parse(resumed.stdout)).toMatchObject({ state: 'running' });
    expect(gateway.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/coord/resume' });
  });

  it('exits 1 with the server message when resume is refused', async () => {
    const exceeded = coordState({ state: 'paused', reason: 'global budget exceeded' });
    exceeded.budgets.global.status = 'exceeded';
    gateway.setState(exceeded);
    const result = await jousting('coord', 'resume');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: the global budget is exceeded');
  });
});

describe('jousting tasks bulk', () => {
  it('cancels by ids and lists what was refused and why, exiting 1', async () => {
    const result = await jousting('tasks', 'bulk', 'cancel', '--ids', 'a,b,zz', '--reason', 'cleanup');
    expect(result.code).toBe(1);
    expect(gateway.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/api/tasks/bulk/cancel',
      query: {},
      body: { selection: { ids: ['a', 'b', 'zz'] }, reason: 'cleanup' },
    });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('canceled 1 of 3 matched tasks; refused 2:');
    expect(lines[1]).toMatch(/^ {2}ID +CODE +REASON$/);
    expect(lines[2]).toMatch(/^ {2}b +conflict +task b is complete$/);
    expect(lines[3]).toMatch(/^ {2}zz +not_found +task zz not found$/);
  });

  it('selects by filter and exits 0 when nothing was refused', async () => {
    const result = await jousting(
      'tasks',
      'bulk',
      'reprioritize',
      '--status',
      'queued,pending',
      '--label',
      'gpu',
      '--q',
      'nightly',
      '--priority=-5',
      '--json',
    );
    expect(gateway.requests.at(-1)?.body).toEqual({
      selection: { filter: { status: ['queued', 'pending'], label: 'gpu', q: 'nightly' } },
      priority: -5,
    });
    // The fake applies a filter to every task: two of three are not queued.
    expect(JSON.parse(result.stdout)).toMatchObject({ done: ['a'], matched: 3 });
    const retry = await jousting('tasks', 'bulk', 'retry', '--ids', 'zz');
    expect(retry.stdout).toMatch(/^retried 0 of 1 matched task; refused 1:/);
    const ok = await jousting('tasks', 'bulk', 'cancel', '--ids', 'a');
    expect(ok).toMatchObject({ code: 0, stdout: 'canceled 1 of 1 matched task\n' });
  });

  it('refuses a missing, doubled or bad selection and a missing priority without asking', async () => {
    const none = await jousting('tasks', 'bulk', 'cancel');
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('select tasks with --ids a,b,c or a filter');
    const both = await jousting('tasks', 'bulk', 'cancel', '--ids', 'a', '--kind', 'exec');
    expect(both.stderr).toContain('give either --ids or a filter (--kind), not both');
    const status = await jousting('tasks', 'bulk', 'retry', '--status', 'failed,broken');
    expect(status.stderr).toContain('unknown status "broken"');
    const priority = await jousting('tasks', 'bulk', 'reprioritize', '--ids', 'a');
    expect(priority.stderr).toContain('missing --priority N');
    const reason = await jousting('tasks', 'bulk', 'retry', '--ids', 'a', '--reason', 'x');
    expect(reason.stderr).toContain("unknown option '--reason'");
    expect([none, both, status, priority, reason].map((r) => r.code)).toEqual([64, 64, 64, 64, 64]);
    expect(gateway.requests).toEqual([]);
  });
});

describe('jousting tasks requeue', () => {
  it('requeues a blocked task and exits 1 for any other', async () => {
    const result = await jousting('tasks', 'requeue', 'stuck');
    expect(result).toEqual({ code: 0, stdout: 'requeued stuck: queued\n', stderr: '' });
    expect(gateway.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/tasks/stuck/requeue' });
    const refused = await jousting('tasks', 'requeue', 'a');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('task a is queued, not blocked');
  });
});

describe('jousting templates', () => {
  it('lists and shows templates, marking required variables', async () => {
    const ls = await jousting('templates', 'ls');
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +TASKS +VARIABLES +UPDATED +DESCRIPTION$/);
    expect(lines[1]).toMatch(/^nightly +2 +branch, repo +\d+d ago +build a branch$/);
    const show = await jousting('templates', 'show', 'nightly');
    expect(show.stdout).toMatch(/ {2}branch +"main"\n/);
    expect(show.stdout).toMatch(/ {2}repo +\(required\) +git URL\n/);
    expect(show.stdout).toMatch(/ {2}test +exec +5 +build +test \{\{branch\}\}/);
    const missing = await jousting('templates', 'show', 'gone');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('template gone not found');
    const badName = await jousting('templates', 'show', 'Bad Name');
    expect(badName.code).toBe(64);
  });

  it('saves a template from a file, checking it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jousting-templates-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ name: 'deploy', tasks: [{ id: 'build', title: 'build {{branch}}' }] }),
    );
    const saved = await jousting('templates', 'save', good);
    expect(saved).toMatchObject({ code: 0, stdout: 'saved template deploy (1 task)\n' });
    expect(gateway.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/templates',
      body: { name: 'deploy', tasks: [{ id: 'build', title: 'build {{branch}}' }] },
    });

    const count = gateway.requests.length;
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'deploy', tasks: [{ id: 'build', title: '' }] }));
    const refused = await jousting('templates', 'save', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: invalid template in ${bad}`);
    expect(refused.stderr).toContain('  tasks.0.title: must not be empty');
    const notJson = join(dir, 'broken.json');
    writeFileSync(notJson, '{"name": ');
    expect((await jousting('templates', 'save', notJson)).stderr).toContain('is not valid JSON');
    const absent = await jousting('templates', 'save', join(dir, 'absent.json'));
    expect(absent.code).toBe(64);
    expect(absent.stderr).toContain('no such file');
    expect(gateway.requests.length).toBe(count);
  });

  it('runs a template with values, a priority and labels, and prints the new tasks', async () => {
    const result = await jousting(
      'templates',
      'run',
      'nightly',
      '--set',
      'repo=git@x:y.git',
      '--set',
      'branch=release=2',
      '--priority',
      '7',
      '--label',
      'linux',
    );
    expect(result.code).toBe(0);
    expect(gateway.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/api/templates/nightly/instantiate',
      query: {},
      body: { values: { repo: 'git@x:y.git', branch: 'release=2' }, priority: 7, labels: ['linux'] },
    });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('created 2 tasks from nightly:');
    expect(lines[2]).toMatch(/^ {2}t-0 +queued +7 +build release=2$/);
    expect(lines[3]).toMatch(/^ {2}t-1 +pending +7 +test release=2$/);
  });

  it('shows the field the server names when a required variable is missing', async () => {
    const result = await jousting('templates', 'run', 'nightly');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('  values.repo: required');
    expect(gateway.requests.at(-1)?.body).toEqual({ values: {} });
  });

  it('refuses a malformed --set and deletes a template', async () => {
    const bad = await jousting('templates', 'run', 'nightly', '--set', 'novalue');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--set expects name=value, got "novalue"');
    const twice = await jousting('templates', 'run', 'nightly', '--set', 'a=1', '--set', 'a=2');
    expect(twice.stderr).toContain('--set gives "a" twice');
    const rm = await jousting('templates', 'rm', 'nightly');
    expect(rm).toMatchObject({ code: 0, stdout: 'deleted template nightly\n' });
    expect((await jousting('templates', 'ls')).stdout).toBe('no templates\n');
  });

  it('has help listing the new commands', async () => {
    const help = await jousting('--help');
    expect(help.stdout).toMatch(/coord status +Show the coordinator/);
    expect(help.stdout).toMatch(/tasks bulk cancel +Cancel many tasks/);
    expect(help.stdout).toMatch(/templates run +Create the tasks of a template/);
    const group = await jousting('tasks', 'bulk', '--help');
    expect(group.stdout).toContain('usage: jousting tasks bulk <command>');
  });
});
