import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, type RunningService } from '@jousting/bus';
import {
  AuditEntry,
  type CloudEvent,
  type Command,
  coordCommands,
  coordPolicyCommands,
  DEFAULT_SETTINGS,
  JoustingError,
  type Settings,
  workerCommands,
  workerPolicyCommands,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Coordinator } from '../src/coordinator.js';
import { workerCall as sharedWorkerCall, startTestCoordinator, until } from './fixture.js';

let nats: NatsHandle;
let nc: NatsConnection;
let dataDir: string;
let service: RunningService | undefined;
let coordinator: Coordinator;
const events: CloudEvent[] = [];
const audit: AuditEntry[] = [];
let settings: Settings = { ...DEFAULT_SETTINGS };

const BASE_ENV = { COORD_LEASE_MS: '3000', COORD_STALE_CHECK_MS: '50', COORD_RETRY_BASE_MS: '60000' };

async function startCoordinator(env: Record<string, string> = {}) {
  await service?.stop();
  ({ service, coordinator } = await startTestCoordinator({
    natsUrl: nats.url,
    dataDir,
    env: { ...BASE_ENV, ...env },
  }));
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), 'coord-policies-test-'));
  nc.subscribe('coord.>', { callback: (_e, m) => void events.push(m.json<CloudEvent>()) });
  nc.subscribe('audit.coord.>', { callback: (_e, m) => void audit.push(AuditEntry.parse(m.json())) });
  await nc.flush();
  await startCoordinator();
});
afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const actor = 'token:test';
let unique = 0;
/** Ids unique across the file: every describe shares one coordinator. */
const uid = (prefix: string) => `${prefix}-${++unique}`;
const op = <C extends Command>(command: C, request: z.input<C['request']>) =>
  callCommand(nc, command, request);
const workerCall = <C extends Command>(command: C, request: z.input<C['request']>, timeoutMs = 5000) =>
  sharedWorkerCall(nc, command, request, timeoutMs);
const hello = (workerId: string, kinds: string[], capacity = 10) =>
  workerCall(workerCommands.hello, { workerId, name: workerId, kinds, capacity });
const claim = (workerId: string, max = 10, waitMs = 0) =>
  workerCall(workerCommands.claim, { workerId, max, waitMs }, waitMs + 5000);
const report = (workerId: string, reports: z.input<typeof workerCommands.report.request>['reports']) =>
  workerCall(workerCommands.report, { workerId, reports });
const complete = (workerId: string, taskId: string, attempt: number, usd = 0) =>
  report(workerId, [{ type: 'completed', taskId, attempt, cost: { usd, inputTokens: 0, outputTokens: 0 } }]);
const fail = (
  workerId: string,
  taskId: string,
  attempt: number,
  errorClass: 'transient' | 'fatal' | 'limit',
) => report(workerId, [{ type: 'failed', taskId, attempt, errorClass, message: `${errorClass} on purpose` }]);
const create = (id: string, kind: string, extra: Record<string, unknown> = {}) =>
  op(coordCommands.create, {
    task: {
      id,
      title: `task ${id}`,
      kind,
      ...(kind === 'agent' ? { payload: { prompt: 'hi' } } : {}),
      ...extra,
    },
    actor,
  });
const eventsOf = (type: string) => events.filter((e) => e.type === type);
const refusal = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JoustingError);
  return err as JoustingError;
};

/** Publishes settings.changed as the settings service would. */
async function changeSettings(patch: Partial<Settings>) {
  const changes = Object.fromEntries(
    Object.entries(patch).map(([k, v]) => [k, { from: settings[k as keyof Settings], to: v }]),
  );
  settings = { ...settings, ...patch };
  const count = eventsOf('coord.reconfigured').length;
  nc.publish(
    'settings.changed',
    JSON.stringify({
      specversion: '1.0',
      id: `settings-test-${Date.now()}-${Math.random()}`,
      source: '/jousting/settings',
      type: 'settings.changed',
      time: new Date().toISOString(),
      traceid: '0'.repeat(32),
      data: { changes, settings, actor: 'token:admin' },
    }),
  );
  return until(() => eventsOf('coord.reconfigured')[count], 'coord.reconfigured');
}

// Every test starts with a dispatching coordinator, whatever the one before left.
beforeEach(async () => {
  if (coordinator.state().state !== 'running')
    await op(coordPolicyCommands.resume, { actor }).catch(() => undefined);
});

describe('lifecycle', () => {
  it('pause stops dispatch at once and resume starts it again, each announced and audited', async () => {
    const w = uid('w-life');
    await hello(w, ['life']);
    const paused = await op(coordPolicyCommands.pause, { reason: 'maintenance', actor });
    expect(paused).toMatchObject({ state: 'paused', reason: 'maintenance' });
    const id = uid('life');
    await create(id, 'life');
    expect((await claim(w)).tasks).toEqual([]);
    expect(await until(() => eventsOf('coord.paused').at(-1), 'coord.paused')).toMatchObject({
      data: { reason: 'maintenance', actor },
    });
    // A claim that waits is answered as soon as dispatch resumes.
    const waiting = claim(w, 10, 3000);
    await new Promise((r) => setTimeout(r, 100));
    expect(await op(coordPolicyCommands.resume, { actor })).toMatchObject({ state: 'running' });
    const [task] = (await waiting).tasks;
    expect(task?.taskId).toBe(id);
    await complete(w, id, task!.attempt);
    expect(
      await until(
        () => eventsOf('coord.started').find((e) => e.data && (e.data as { actor: string }).actor === actor),
        'coord.started',
      ),
    ).toBeTruthy();
    await until(() => audit.find((a) => a.action === 'paused'), 'audit paused');
    await until(() => audit.find((a) => a.action === 'resumed'), 'audit resumed');
  });

  it('drain waits for running tasks, then pauses; the state survives a restart', async () => {
    const w = uid('w-drain');
    await hello(w, ['drain']);
    const id = uid('drain');
    await create(id, 'drain');
    const [task] = (await claim(w)).tasks;
    const queuedId = uid('drain');
    await create(queuedId, 'drain');
    const draining = await op(coordPolicyCommands.drain, { actor });
    expect(draining).toMatchObject({ state: 'draining', counts: { running: 1 } });
    // No new dispatch while draining.
    expect((await claim(w)).tasks).toEqual([]);
    await complete(w, task!.taskId, task!.attempt);
    const paused = await until(
      () => (coordinator.state().state === 'paused' ? coordinator.state() : undefined),
      'paused after the drain',
    );
    expect(paused.reason).toBe('drained: nothing is running');
    await startCoordinator();
    expect(coordinator.state()).toMatchObject({ state: 'paused' });
    await hello(w, ['drain']);
    expect((await claim(w)).tasks).toEqual([]);
    await op(coordPolicyCommands.resume, { actor });
    expect((await claim(w)).tasks.map((t) => t.taskId)).toEqual([queuedId]);
  });

  it('a drain with a timeout puts what still runs back and aborts it on its worker', async () => {
    const w = uid('w-drain-timeout');
    await hello(w, ['drain-timeout']);
    const aborts: unknown[] = [];
    const sub = nc.subscribe(`worker.${w}.abort`, { callback: (_e, m) => void aborts.push(m.json()) });
    const id = uid('dt');
    await create(id, 'drain-timeout');
    const [task] = (await claim(w)).tasks;
    await report(w, [{ type: 'started', taskId: id, attempt: task!.attempt }]);
    await op(coordPolicyCommands.drain, { timeoutSeconds: 1, actor });
    await until(
      () => (coordinator.state().state === 'paused' ? true : undefined),
      'paused at the deadline',
      4000,
    );
    const after = await op(coordCommands.get, { id });
    expect(after.status).toBe('queued');
    expect(after.attempts[0]).toMatchObject({ outcome: 'released' });
    await until(() => aborts[0], 'abort');
    sub.unsubscribe();
  });
});

describe('rate limits', () => {
  it('dispatches metered tasks only within the request bucket; other kinds pass; grants wait', async () => {
    await changeSettings({ coordMaxRequestsPerMinute: 2 });
    const w = uid('w-rate');
    await hello(w, ['agent', 'plain']);
    const ids = [uid('ag'), uid('ag'), uid('ag')];
    for (const id of ids) await create(id, 'agent');
    const plain = uid('plain');
    await create(plain, 'plain');
    const first = (await claim(w)).tasks.map((t) => t.taskId);
    // The bucket starts full (2): two agent tasks and the plain one go, the third agent waits.
    expect(first.filter((id) => ids.includes(id))).toHaveLength(2);
    expect(first).toContain(plain);
    expect((await claim(w)).tasks).toEqual([]);
    const grant = await workerCall(workerPolicyCommands.grant, { workerId: w });
    expect(grant).toMatchObject({ granted: false, reason: 'rate limit' });
    expect(grant.granted === false && grant.waitMs).toBeGreaterThan(0);
    expect(coordinator.state().rate).toMatchObject({ configured: { requestsPerMinute: 2 }, level: 0 });
    await changeSettings({ coordMaxRequestsPerMinute: 1000 });
    expect((await claim(w, 10, 3000)).tasks).toHaveLength(1);
    // 1000 a minute refill one request every 60 ms.
    await new Promise((r) => setTimeout(r, 150));
    expect((await workerCall(workerPolicyCommands.grant, { workerId: w })).granted).toBe(true);
  });

  it('three limit errors within a minute halve the limits, announced with coord.rate-adjusted', async () => {
    const w = uid('w-limit');
    await hello(w, ['limited']);
    for (let i = 0; i < 3; i++) {
      const id = uid('lim');
      await create(id, 'limited');
      const [task] = (await claim(w)).tasks;
      await fail(w, id, task!.attempt, 'limit');
    }
    const adjusted = await until(
      () =>
        eventsOf('coord.rate-adjusted').find((e) => (e.data as { reason: string }).reason === 'limit-errors'),
      'rate-adjusted',
    );
    expect(adjusted.data).toMatchObject({
      level: 1,
      from: { requestsPerMinute: 1000 },
      to: { requestsPerMinute: 500 },
    });
    expect(coordinator.state().rate).toMatchObject({ level: 1, effective: { requestsPerMinute: 500 } });
  });
});

describe('budgets', () => {
  it('warns at 80 %, stops a worker at 100 % and lets another go on; raising the budget clears it', async () => {
    await changeSettings({ coordPerWorkerBudgetUsd: 1, coordGlobalBudgetUsd: 100 });
    const [a, b] = [uid('w-budget'), uid('w-budget')];
    await hello(a, ['spend']);
    await hello(b, ['spend']);
    const run = async (worker: string, usd: number) => {
      const id = uid('spend');
      await create(id, 'spend');
      const [task] = (await claim(worker, 1)).tasks;
      expect(task?.taskId).toBe(id);
      await complete(worker, id, task!.attempt, usd);
    };
    await run(a, 0.85);
    expect(
      await until(
        () => eventsOf('coord.budget-warning').find((e) => (e.data as { workerId?: string }).workerId === a),
        'warning',
      ),
    ).toMatchObject({
      data: { scope: 'worker', workerId: a, spentUsd: 0.85, budgetUsd: 1 },
    });
    await run(a, 0.2);
    await until(
      () => eventsOf('coord.budget-exceeded').find((e) => (e.data as { workerId?: string }).workerId === a),
      'exceeded',
    );
    const waiting = uid('spend');
    await create(waiting, 'spend');
    expect((await claim(a)).tasks).toEqual([]);
    expect((await claim(b)).tasks.map((t) => t.taskId)).toEqual([waiting]);
    const gauge = coordinator.state().budgets.workers.find((g) => g.workerId === a);
    expect(gauge).toMatchObject({ status: 'exceeded', spentUsd: 1.05 });
    await changeSettings({ coordPerWorkerBudgetUsd: 10 });
    expect(coordinator.state().budgets.workers.find((g) => g.workerId === a)?.status).toBe('ok');
  });

  it('drains the coordinator over the global budget, refuses resume, and resumes when it is raised', async () => {
    const spent = coordinator.state().budgets.global.spentUsd;
    await changeSettings({ coordGlobalBudgetUsd: Math.round((spent + 1) * 100) / 100 });
    const w = uid('w-global');
    await hello(w, ['global']);
    const id = uid('g');
    await create(id, 'global');
    const [task] = (await claim(w)).tasks;
    await complete(w, id, task!.attempt, 1.5);
    await until(
      () => eventsOf('coord.budget-exceeded').find((e) => (e.data as { scope: string }).scope === 'global'),
      'global exceeded',
    );
    await until(() => (coordinator.state().state !== 'running' ? true : undefined), 'drained');
    expect(coordinator.state().reason).toMatch(/budget/);
    const err = await refusal(op(coordPolicyCommands.resume, { actor }));
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(/global budget/);
    await changeSettings({ coordGlobalBudgetUsd: 1000 });
    await until(() => (coordinator.state().state === 'running' ? true : undefined), 'running again');
  });
});

describe('circuit breakers', () => {
  it('skips a worker after three failed attempts, lets one trial through after the cool-down, closes on success', async () => {
    await startCoordinator({ COORD_CIRCUIT_FAILURES: '3', COORD_CIRCUIT_COOLDOWN_MS: '700' });
    const w = uid('w-circuit');
    await hello(w, ['flaky']);
    for (let i = 0; i < 3; i++) {
      const id = uid('fl');
      await create(id, 'flaky');
      const [task] = (await claim(w, 1)).tasks;
      await fail(w, id, task!.attempt, 'transient');
    }
    const opened = await until(
      () => eventsOf('coord.circuit-opened').find((e) => (e.data as { workerId: string }).workerId === w),
      'opened',
    );
    expect(opened.data).toMatchObject({ consecutiveFailures: 3 });
    const next = [uid('fl'), uid('fl')];
    for (const id of next) await create(id, 'flaky');
    expect((await claim(w)).tasks).toEqual([]);
    expect(coordinator.state().circuits.find((c) => c.workerId === w)).toMatchObject({ state: 'open' });
    // After the cool-down: one trial task only.
    const trial = (await claim(w, 10, 3000)).tasks;
    expect(trial).toHaveLength(1);
    expect((await claim(w)).tasks).toEqual([]);
    await complete(w, trial[0]!.taskId, trial[0]!.attempt);
    await until(
      () => eventsOf('coord.circuit-closed').find((e) => (e.data as { workerId: string }).workerId === w),
      'closed',
    );
    expect((await claim(w)).tasks).toHaveLength(1);
  });

  it('does not count fatal errors', async () => {
    const w = uid('w-fatal');
    await hello(w, ['fatal-kind']);
    for (let i = 0; i < 3; i++) {
      const id = uid('fa');
      await create(id, 'fatal-kind');
      const [task] = (await claim(w, 1)).tasks;
      await fail(w, id, task!.attempt, 'fatal');
    }
    const id = uid('fa');
    await create(id, 'fatal-kind');
    expect((await claim(w)).tasks.map((t) => t.taskId)).toEqual([id]);
  });
});

describe('stale tasks', () => {
  it('blocks a running task without progress for staleTaskMinutes; an operator requeues it', async () => {
    await changeSettings({ staleTaskMinutes: 1 });
    const w = uid('w-stale');
    await hello(w, ['stale']);
    const aborts: unknown[] = [];
    const sub = nc.subscribe(`worker.${w}.abort`, { callback: (_e, m) => void aborts.push(m.json()) });
    const id = uid('st');
    await create(id, 'stale');
    const [task] = (await claim(w)).tasks;
    await report(w, [{ type: 'started', taskId: id, attempt: task!.attempt }]);
    // Keep the lease (bare heartbeats) while the clock of its last progress says 2 minutes ago.
    await report(w, [{ type: 'heartbeat', taskId: id, attempt: task!.attempt }]);
    coordinator.lastActivity.set(id, Date.now() - 2 * 60_000);
    const blocked = await until(
      () => eventsOf('coord.task-blocked').find((e) => (e.data as { id: string }).id === id),
      'blocked',
    );
    expect(blocked.data).toMatchObject({
      attempt: 1,
      workerId: w,
      reason: `no progress for 1 min on worker ${w}`,
    });
    const got = await op(coordCommands.get, { id });
    expect(got).toMatchObject({ status: 'blocked' });
    expect(got.attempts[0]).toMatchObject({ outcome: 'blocked' });
    await until(() => aborts[0], 'abort to the worker');
    sub.unsubscribe();
    // A report of the blocked attempt is refused as stale.
    const late = await complete(w, id, 1);
    expect(late.results[0]).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const requeued = await op(coordPolicyCommands.requeue, { id, actor });
    expect(requeued.status).toBe('queued');
    const again = (await claim(w)).tasks;
    expect(again).toMatchObject([{ taskId: id, attempt: 2 }]);
    const err = await refusal(op(coordPolicyCommands.requeue, { id, actor }));
    expect(err.code).toBe('conflict');
    await changeSettings({ staleTaskMinutes: 0 });
  });
});

describe('bulk actions', () => {
  it('cancels by ids and reports what it refused and why', async () => {
    const w = uid('w-bulk');
    await hello(w, ['bulk-done']);
    const [a, b, done] = [uid('b'), uid('b'), uid('b')];
    await create(a, 'bulk-idle');
    await create(b, 'bulk-idle', { deps: [a] });
    await create(done, 'bulk-done');
    const [task] = (await claim(w)).tasks;
    await complete(w, done, task!.attempt);
    const result = await op(coordPolicyCommands.bulkCancel, {
      selection: { ids: [a, b, done, 'no-such-task'] },
      reason: 'cleanup',
      actor,
    });
    // b is canceled by a's cascade before its own turn: done, not refused.
    expect(result.done.sort()).toEqual([a, b].sort());
    expect(result.refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: done, code: 'conflict' }),
        expect.objectContaining({ id: 'no-such-task', code: 'not_found' }),
      ]),
    );
    expect(result.matched).toBe(4);
    expect((await op(coordCommands.get, { id: b })).status).toBe('canceled');
    await until(
      () => eventsOf('coord.bulk-applied').find((e) => (e.data as { action: string }).action === 'cancel'),
      'bulk-applied',
    );
  });

  it('retries by filter and reprioritizes by filter', async () => {
    const kind = `bulkf-${unique}`;
    const ids = [uid('bf'), uid('bf'), uid('bf')];
    for (const id of ids) await create(id, kind);
    const repr = await op(coordPolicyCommands.bulkReprioritize, {
      selection: { filter: { kind } },
      priority: 7,
      actor,
    });
    expect(repr.done.sort()).toEqual([...ids].sort());
    expect((await op(coordCommands.get, { id: ids[0]! })).priority).toBe(7);
    await op(coordPolicyCommands.bulkCancel, { selection: { ids }, actor });
    const retried = await op(coordPolicyCommands.bulkRetry, {
      selection: { filter: { kind, status: ['canceled'] } },
      actor,
    });
    expect(retried.done.sort()).toEqual([...ids].sort());
    expect((await op(coordCommands.get, { id: ids[2]! })).status).toBe('queued');
    const refused = await op(coordPolicyCommands.bulkRetry, { selection: { ids: [ids[0]!] }, actor });
    expect(refused.refused[0]).toMatchObject({ id: ids[0], code: 'conflict' });
  });

  it('refuses a selection with both or neither of ids and filter', async () => {
    const err = await refusal(op(coordPolicyCommands.bulkCancel, { selection: {}, actor }));
    expect(err.code).toBe('validation_failed');
    expect(JSON.stringify(err.details)).toMatch(/selection/);
  });
});

describe('templates', () => {
  const template = {
    name: 'build-and-test',
    description: 'Builds a branch, then tests it',
    variables: [{ name: 'branch' }, { name: 'suite', default: 'unit' }],
    tasks: [
      { id: 'build', title: 'build {{branch}}', kind: 'tpl', payload: { ref: '{{branch}}' } },
      { id: 'test', title: 'test {{branch}} ({{suite}})', kind: 'tpl', deps: ['build'] },
    ],
  };

  it('saves, lists, instantiates with values (fresh ids, deps rewritten) and deletes', async () => {
    const saved = await op(coordPolicyCommands.templateSave, { template, actor });
    expect(saved).toMatchObject({ name: 'build-and-test', updatedBy: actor });
    expect((await op(coordPolicyCommands.templateList, {})).items.map((t) => t.name)).toContain(
      'build-and-test',
    );
    const made = await op(coordPolicyCommands.templateInstantiate, {
      name: 'build-and-test',
      request: { values: { branch: 'main' }, labels: ['ci'] },
      actor,
    });
    expect(made.tasks.map((t) => t.title)).toEqual(['build main', 'test main (unit)']);
    const [build, test] = made.tasks;
    expect(build!.payload).toEqual({ ref: 'main' });
    expect(test!.deps).toEqual([build!.id]);
    expect(test!.status).toBe('pending');
    expect(build!.labels).toEqual(['ci']);
    expect(build!.source).toBe('template:build-and-test');
    await op(coordPolicyCommands.templateDelete, { name: 'build-and-test', actor });
    expect((await refusal(op(coordPolicyCommands.templateGet, { name: 'build-and-test' }))).code).toBe(
      'not_found',
    );
  });

  it('names a missing value, an unknown value and an undeclared variable', async () => {
    await op(coordPolicyCommands.templateSave, { template, actor });
    const missing = await refusal(
      op(coordPolicyCommands.templateInstantiate, {
        name: 'build-and-test',
        request: { values: { nope: 'x' } },
        actor,
      }),
    );
    expect(missing.code).toBe('validation_failed');
    const fields = (missing.details as { fields: Array<{ field: string }> }).fields.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['request.values.branch', 'request.values.nope']));
    const undeclared = await refusal(
      op(coordPolicyCommands.templateSave, {
        template: { name: 'bad', tasks: [{ id: 'x', title: 'uses {{ghost}}' }] },
        actor,
      }),
    );
    expect(undeclared.message).toMatch(/ghost/);
    const cyclic = await refusal(
      op(coordPolicyCommands.templateSave, {
        template: {
          name: 'cyclic',
          tasks: [
            { id: 'a', title: 'a', deps: ['b'] },
            { id: 'b', title: 'b', deps: ['a'] },
          ],
        },
        actor,
      }),
    );
    expect(cyclic.message).toMatch(/a → b → a|b → a → b/);
  });

  it('copies existing tasks and the deps among them', async () => {
    const [x, y] = [uid('src'), uid('src')];
    await create(x, 'copy');
    await create(y, 'copy', { deps: [x] });
    const saved = await op(coordPolicyCommands.templateSave, {
      template: { name: 'copied', fromTasks: [x, y] },
      actor,
    });
    expect(saved.tasks.map((t) => [t.id, t.deps])).toEqual([
      ['t1', []],
      ['t2', ['t1']],
    ]);
  });
});

describe('live reconfiguration', () => {
  it('announces what it applied', async () => {
    const event = await changeSettings({ maxTaskRetries: 5, coordMaxTokensPerMinute: 50_000 });
    expect(event.data).toMatchObject({
      applied: { maxTaskRetries: 5, coordMaxTokensPerMinute: 50_000 },
      actor: 'token:admin',
    });
    expect(coordinator.state().settings.maxTaskRetries).toBe(5);
    expect(coordinator.state().rate.configured.tokensPerMinute).toBe(50_000);
  });
});
