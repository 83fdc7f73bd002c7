import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, type RunningService } from '@jousting/bus';
import {
  AuditEntry,
  type CloudEvent,
  type Command,
  coordCommands,
  DEFAULT_SETTINGS,
  JoustingError,
  workerCommands,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Coordinator } from '../src/coordinator.js';
import { workerCall as sharedWorkerCall, startTestCoordinator, until } from './fixture.js';

/** Retries wait 1000 ms, then 1200 ms (the cap), ±20 %: long enough for "not before" to hold on a slow machine. */
const RETRY_ENV = { COORD_RETRY_BASE_MS: '1000', COORD_RETRY_MAX_MS: '1200' };
let nats: NatsHandle;
let nc: NatsConnection;
let dataDir: string;
let service: RunningService;
let coordinator: Coordinator;
const events: CloudEvent[] = [];
const audit: AuditEntry[] = [];

async function startCoordinator(env: Record<string, string> = RETRY_ENV) {
  ({ service, coordinator } = await startTestCoordinator({
    natsUrl: nats.url,
    dataDir,
    env: { COORD_LEASE_MS: '5000', ...env },
  }));
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), 'coord-retries-test-'));
  // No settings service runs here: the coordinator starts with the default limit.
  await startCoordinator();
  nc.subscribe('coord.>', { callback: (_e, m) => void events.push(m.json<CloudEvent>()) });
  nc.subscribe('audit.coord.>', { callback: (_e, m) => void audit.push(AuditEntry.parse(m.json())) });
  await nc.flush();
});
afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const actor = 'token:test';
const op = <C extends Command>(command: C, request: z.input<C['request']>) =>
  callCommand(nc, command, request);
const workerCall = <C extends Command>(command: C, request: z.input<C['request']>, timeoutMs = 5000) =>
  sharedWorkerCall(nc, command, request, timeoutMs);
const hello = (workerId: string, kind: string) =>
  workerCall(workerCommands.hello, { workerId, name: workerId, kinds: [kind], capacity: 10 });
const claim = (workerId: string, waitMs = 0) =>
  workerCall(workerCommands.claim, { workerId, max: 10, waitMs }, waitMs + 5000);
const fail = (
  workerId: string,
  taskId: string,
  attempt: number,
  errorClass: 'transient' | 'fatal' | 'limit',
) =>
  workerCall(workerCommands.report, {
    workerId,
    reports: [{ type: 'failed', taskId, attempt, errorClass, message: `${errorClass} failure ${attempt}` }],
  });
const createTask = (id: string, kind: string) =>
  op(coordCommands.create, { task: { id, title: `task ${id}`, kind }, actor });

const eventsFor = (id: string, type: string) => events.filter((e) => e.subject === id && e.type === type);

/** Claims the task again once its retry is due; returns the attempt and when it came. */
async function claimRetry(workerId: string, taskId: string) {
  const { tasks } = await claim(workerId, 3000);
  expect(tasks.map((t) => t.taskId)).toEqual([taskId]);
  return { attempt: tasks[0]!.attempt, at: Date.now() };
}

function publishSettingsChange(maxTaskRetries: number, from: number) {
  const event = {
    specversion: '1.0',
    id: `settings-test-${maxTaskRetries}-${Date.now()}`,
    source: '/jousting/settings',
    type: 'settings.changed',
    time: new Date().toISOString(),
    traceid: '0'.repeat(32),
    data: {
      changes: { maxTaskRetries: { from, to: maxTaskRetries } },
      settings: { ...DEFAULT_SETTINGS, maxTaskRetries },
      actor: 'token:admin',
    },
  };
  nc.publish('settings.changed', JSON.stringify(event));
}

describe('retries after a failure', () => {
  it('retries a transient failure after the backoff, not before, announcing coord.task-retrying', async () => {
    await hello('w-t', 'k-transient');
    await createTask('t-1', 'k-transient');
    expect((await claim('w-t')).tasks.map((t) => t.taskId)).toEqual(['t-1']);
    const failedAt = Date.now();
    await fail('w-t', 't-1', 1, 'transient');
    const task = await op(coordCommands.get, { id: 't-1' });
    expect(task).toMatchObject({ status: 'queued', statusReason: 'retrying after: transient failure 1' });
    expect(task.attempts).toMatchObject([{ number: 1, outcome: 'failed' }]);
    // Not handed out while it waits.
    expect((await claim('w-t')).tasks).toEqual([]);
    const retrying = await until(() => eventsFor('t-1', 'coord.task-retrying')[0], 'task-retrying');
    expect(retrying.data).toMatchObject({
      id: 't-1',
      attempt: 1,
      errorClass: 'transient',
      message: 'transient failure 1',
      retriesLeft: DEFAULT_SETTINGS.maxTaskRetries - 1,
    });
    const retryAt = Date.parse((retrying.data as { retryAt: string }).retryAt);
    // 1000 ms ± 20% jitter, plus the request's own latency.
    expect(retryAt - failedAt).toBeGreaterThanOrEqual(800);
    expect(retryAt - failedAt).toBeLessThan(1200 + 1000);
    const again = await claimRetry('w-t', 't-1');
    expect(again.attempt).toBe(2);
    expect(again.at).toBeGreaterThanOrEqual(retryAt);
  });

  it('retries a limit failure too, and never a fatal one, which is dead-lettered at once', async () => {
    await hello('w-f', 'k-fatal');
    await createTask('f-1', 'k-fatal');
    await claim('w-f');
    await fail('w-f', 'f-1', 1, 'fatal');
    expect(await op(coordCommands.get, { id: 'f-1' })).toMatchObject({
      status: 'failed',
      error: { class: 'fatal', message: 'fatal failure 1' },
    });
    const dead = await until(() => eventsFor('f-1', 'coord.dead-lettered')[0], 'dead-lettered');
    expect(dead.data).toMatchObject({
      deadLetter: { id: 'f-1', taskId: 'f-1', kind: 'k-fatal', attempts: 1, status: 'open' },
    });
    expect(eventsFor('f-1', 'coord.task-retrying')).toEqual([]);

    await createTask('l-1', 'k-fatal');
    await claim('w-f');
    await fail('w-f', 'l-1', 1, 'limit');
    expect((await op(coordCommands.get, { id: 'l-1' })).status).toBe('queued');
    expect((await claimRetry('w-f', 'l-1')).attempt).toBe(2);
  });

  it('dead-letters a task after maxTaskRetries failed retries', async () => {
    const max = DEFAULT_SETTINGS.maxTaskRetries;
    await hello('w-x', 'k-exhaust');
    await createTask('x-1', 'k-exhaust');
    let attempt = (await claim('w-x')).tasks[0]!.attempt;
    for (let retry = 1; retry <= max; retry++) {
      await fail('w-x', 'x-1', attempt, 'transient');
      attempt = (await claimRetry('w-x', 'x-1')).attempt;
    }
    expect(attempt).toBe(max + 1);
    await fail('w-x', 'x-1', attempt, 'transient');
    const task = await op(coordCommands.get, { id: 'x-1' });
    expect(task.status).toBe('failed');
    expect(task.attempts.map((a) => a.outcome)).toEqual(Array(max + 1).fill('failed'));
    const retrying = eventsFor('x-1', 'coord.task-retrying').map(
      (e) => (e.data as { retriesLeft: number }).retriesLeft,
    );
    expect(retrying).toEqual([2, 1, 0]);
    const list = await op(coordCommands.deadLetters, { kind: 'k-exhaust' });
    expect(list.items).toMatchObject([
      {
        id: 'x-1',
        attempts: max + 1,
        lastError: { class: 'transient', message: `transient failure ${max + 1}` },
        status: 'open',
      },
    ]);
  });

  it('applies a maxTaskRetries change from settings.changed at once and announces coord.reconfigured', async () => {
    publishSettingsChange(1, DEFAULT_SETTINGS.maxTaskRetries);
    const reconfigured = await until(
      () => events.find((e) => e.type === 'coord.reconfigured'),
      'coord.reconfigured',
    );
    expect(reconfigured.data).toEqual({ applied: { maxTaskRetries: 1 }, actor: 'token:admin' });
    expect(coordinator.retryLimit).toBe(1);
    // The same value again changes nothing and announces nothing.
    publishSettingsChange(1, 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(events.filter((e) => e.type === 'coord.reconfigured')).toHaveLength(1);

    await hello('w-live', 'k-live');
    await createTask('live-1', 'k-live');
    await claim('w-live');
    await fail('w-live', 'live-1', 1, 'transient');
    await claimRetry('w-live', 'live-1');
    await fail('w-live', 'live-1', 2, 'transient');
    expect((await op(coordCommands.get, { id: 'live-1' })).status).toBe('failed');
    publishSettingsChange(DEFAULT_SETTINGS.maxTaskRetries, 1);
    await until(() => coordinator.retryLimit === DEFAULT_SETTINGS.maxTaskRetries, 'limit restored');
  });
});

describe('dead letters', () => {
  it('lists newest first, filters, and refuses unknown ids', async () => {
    const all = await op(coordCommands.deadLetters, {});
    expect(all.items.map((d) => d.id)).toEqual(['live-1', 'x-1', 'f-1']);
    expect(all).toMatchObject({ total: 3, limit: 50, offset: 0, hasMore: false });
    const page = await op(coordCommands.deadLetters, { limit: 1, offset: 1 });
    expect(page.items.map((d) => d.id)).toEqual(['x-1']);
    expect(page.hasMore).toBe(true);
    const err = await op(coordCommands.deadLetterDismiss, { id: 'nope', reason: 'x', actor }).catch((e) => e);
    expect(err).toBeInstanceOf(JoustingError);
    expect((err as JoustingError).code).toBe('not_found');
  });

  it('dismisses a dead letter: the task stays failed; audited and announced', async () => {
    const dismissed = await op(coordCommands.deadLetterDismiss, { id: 'f-1', reason: 'bad input', actor });
    expect(dismissed).toMatchObject({ id: 'f-1', status: 'dismissed', dismissReason: 'bad input' });
    expect((await op(coordCommands.get, { id: 'f-1' })).status).toBe('failed');
    expect((await op(coordCommands.deadLetters, { status: 'dismissed' })).items.map((d) => d.id)).toEqual([
      'f-1',
    ]);
    const event = await until(() => eventsFor('f-1', 'coord.dead-letter-dismissed')[0], 'dismissed event');
    expect(event.data).toEqual({ id: 'f-1', reason: 'bad input', actor });
    const entry = await until(() => audit.find((a) => a.action === 'dead-letter-dismissed'), 'audit');
    expect(entry).toMatchObject({ actor, domain: 'coord', target: 'f-1' });
  });

  it('retries a dead letter with a new priority and labels: a new attempt, the dead letter removed', async () => {
    const task = await op(coordCommands.deadLetterRetry, {
      id: 'x-1',
      priority: 9,
      labels: ['again'],
      actor,
    });
    expect(task).toMatchObject({ id: 'x-1', status: 'queued', priority: 9, labels: ['again'] });
    expect(task.error).toBeUndefined();
    expect((await op(coordCommands.deadLetters, {})).items.map((d) => d.id)).toEqual(['live-1', 'f-1']);
    const event = await until(() => eventsFor('x-1', 'coord.dead-letter-retried')[0], 'retried event');
    expect(event.data).toEqual({ id: 'x-1', actor });
    const entry = await until(() => audit.find((a) => a.action === 'dead-letter-retried'), 'audit');
    expect(entry).toMatchObject({ actor, target: 'x-1' });
    // Its retry count starts again: a transient failure is retried.
    await workerCall(workerCommands.hello, {
      workerId: 'w-x2',
      name: 'w-x2',
      kinds: ['k-exhaust'],
      labels: ['again'],
      capacity: 1,
    });
    const { tasks } = await claim('w-x2');
    expect(tasks.map((t) => [t.taskId, t.attempt])).toEqual([['x-1', 5]]);
    await fail('w-x2', 'x-1', 5, 'transient');
    expect((await op(coordCommands.get, { id: 'x-1' })).status).toBe('queued');
    const err = await op(coordCommands.deadLetterRetry, { id: 'x-1', actor }).catch((e) => e);
    expect((err as JoustingError).code).toBe('not_found');
  });
});

describe('durability', () => {
  it('a waiting retry survives a restart (snapshot and journal), and so do dead letters', async () => {
    await service.stop();
    // Long waits, so they are still pending after the restart.
    await startCoordinator({ COORD_RETRY_BASE_MS: '1500', COORD_RETRY_MAX_MS: '1500' });
    await hello('w-d', 'k-durable');
    await createTask('d-snap', 'k-durable');
    await createTask('d-journal', 'k-durable');
    await claim('w-d');
    await fail('w-d', 'd-snap', 1, 'transient');
    await coordinator.snapshot();
    await fail('w-d', 'd-journal', 1, 'transient');
    await coordinator.settled();
    const deadLetters = await op(coordCommands.deadLetters, {});
    const waits = await Promise.all(
      ['d-snap', 'd-journal'].map(async (id) => {
        const e = await until(() => eventsFor(id, 'coord.task-retrying')[0], `${id} retrying`);
        return Date.parse((e.data as { retryAt: string }).retryAt);
      }),
    );

    await service.stop();
    await startCoordinator();
    expect(coordinator.recovery.snapshotSeq).toBeGreaterThan(0);
    expect(coordinator.recovery.replayedOps).toBeGreaterThan(0);
    expect(await op(coordCommands.deadLetters, {})).toEqual(deadLetters);
    await hello('w-d', 'k-durable');
    expect((await op(coordCommands.get, { id: 'd-snap' })).status).toBe('queued');
    expect((await claim('w-d')).tasks).toEqual([]);
    const { tasks } = await claim('w-d', 4000);
    const seen = new Set(tasks.map((t) => t.taskId));
    if (seen.size < 2) for (const t of (await claim('w-d', 4000)).tasks) seen.add(t.taskId);
    expect([...seen].sort()).toEqual(['d-journal', 'd-snap']);
    expect(Date.now()).toBeGreaterThanOrEqual(Math.max(...waits));
  });
});
