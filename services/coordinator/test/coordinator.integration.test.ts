import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, type RunningService } from '@jousting/bus';
import {
  AuditEntry,
  type CloudEvent,
  type Command,
  coordCommands,
  healthCommand,
  JoustingError,
  WORKER_TOKEN_HEADER,
  type WorkerAbort,
  workerAbortSubject,
  workerCommands,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Coordinator } from '../src/coordinator.js';
import { encodeTask } from '../src/snapshot.js';
import { workerCall as sharedWorkerCall, startTestCoordinator, until } from './fixture.js';

const LEASE_MS = 600;
let nats: NatsHandle;
let nc: NatsConnection;
let dataDir: string;
let service: RunningService;
let coordinator: Coordinator;
const events: CloudEvent[] = [];
const audit: AuditEntry[] = [];

async function startCoordinator(env: Record<string, string> = {}) {
  ({ service, coordinator } = await startTestCoordinator({
    natsUrl: nats.url,
    dataDir,
    env: { COORD_LEASE_MS: String(LEASE_MS), ...env },
  }));
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), 'coord-test-'));
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

const op = <C extends Command>(command: C, request: z.input<C['request']>) =>
  callCommand(nc, command, request);
const actor = 'token:test';
const workerCall = <C extends Command>(command: C, request: z.input<C['request']>, timeoutMs = 5000) =>
  sharedWorkerCall(nc, command, request, timeoutMs);
const hello = (workerId: string, extra: Partial<z.input<typeof workerCommands.hello.request>> = {}) =>
  workerCall(workerCommands.hello, { workerId, name: workerId, kinds: ['noop'], capacity: 10, ...extra });
const claim = (workerId: string, max = 10, waitMs = 0) =>
  workerCall(workerCommands.claim, { workerId, max, waitMs }, waitMs + 5000);
const report = (workerId: string, reports: z.input<typeof workerCommands.report.request>['reports']) =>
  workerCall(workerCommands.report, { workerId, reports });
const noop = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: `task ${id}`,
  kind: 'noop',
  ...extra,
});

async function refused(promise: Promise<unknown>): Promise<JoustingError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof JoustingError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const eventsFor = (id: string, type?: string) =>
  events.filter((e) => e.subject === id && (type === undefined || e.type === type));

describe('operator commands', () => {
  it('creates, lists and gets a task, announcing it and auditing who did it', async () => {
    const { task, created } = await op(coordCommands.create, {
      task: noop('c1', { priority: 3, labels: ['x'] }),
      actor,
    });
    expect(created).toBe(true);
    expect(task).toMatchObject({ id: 'c1', status: 'queued', priority: 3, source: actor, attempts: [] });
    const detail = await op(coordCommands.get, { id: 'c1' });
    expect(detail).toMatchObject({ id: 'c1', dependents: [], output: [] });
    const list = await op(coordCommands.list, { q: 'c1' });
    expect(list.items.map((t) => t.id)).toEqual(['c1']);
    const event = await until(() => eventsFor('c1', 'coord.task-created')[0], 'task-created');
    expect(event.data).toMatchObject({
      task: { id: 'c1', status: 'queued', labels: ['x'], attemptCount: 0 },
    });
    expect(event.id).toMatch(/^coord-\d+-0$/);
    const entry = await until(() => audit.find((a) => a.target === 'c1'), 'audit entry');
    expect(entry).toMatchObject({ actor, domain: 'coord', action: 'created' });
  });

  it('refuses bad input naming the field and stores nothing', async () => {
    const unknownDep = await refused(
      op(coordCommands.create, { task: noop('bad1', { deps: ['nope'] }), actor }),
    );
    expect(unknownDep.code).toBe('validation_failed');
    expect(unknownDep.message).toContain('task.deps.0: unknown task "nope"');
    const unknownField = await refused(
      op(coordCommands.create, { task: { ...noop('bad2'), color: 'red' }, actor } as never),
    );
    expect(unknownField.details?.fields).toContainEqual({ field: 'task.color', message: 'unknown field' });
    const badPayload = await refused(
      op(coordCommands.create, { task: { id: 'bad3', title: 'x', kind: 'exec', payload: {} }, actor }),
    );
    expect(badPayload.message).toContain('task.payload.command');
    const missingTitle = await refused(op(coordCommands.create, { task: { id: 'bad4' }, actor } as never));
    expect(missingTitle.message).toContain('task.title');
    expect((await refused(op(coordCommands.get, { id: 'bad1' }))).code).toBe('not_found');
  });

  it('creates a batch whose members depend on each other, all or nothing, once per idempotency key', async () => {
    const tasks = [
      noop('b-build'),
      noop('b-test', { deps: ['b-build'] }),
      noop('b-ship', { deps: ['b-test'] }),
    ];
    const first = await op(coordCommands.createBatch, { tasks, idempotencyKey: 'batch-key-1', actor });
    expect(first.created).toBe(true);
    expect(first.tasks.map((t) => [t.id, t.status])).toEqual([
      ['b-build', 'queued'],
      ['b-test', 'pending'],
      ['b-ship', 'pending'],
    ]);
    const again = await op(coordCommands.createBatch, { tasks, idempotencyKey: 'batch-key-1', actor });
    expect(again.created).toBe(false);
    expect(again.tasks.map((t) => t.id)).toEqual(['b-build', 'b-test', 'b-ship']);

    const broken = await refused(
      op(coordCommands.createBatch, { tasks: [noop('b-ok'), noop('b-broken', { deps: ['ghost'] })], actor }),
    );
    expect(broken.message).toContain('tasks.1.deps.0: unknown task "ghost"');
    expect((await refused(op(coordCommands.get, { id: 'b-ok' }))).code).toBe('not_found');

    const graph = await op(coordCommands.graph, {});
    expect(graph.levels.map((l) => l.filter((id) => id.startsWith('b-')))).toContainEqual(['b-ship']);
    const audited = audit.filter((a) => a.action === 'created-batch');
    expect(audited).toHaveLength(1);
  });

  it('answers a batch with ids only when asked (create-batch-ids), with the same rules', async () => {
    const made = await op(coordCommands.createBatchIds, {
      tasks: [noop('i-a'), { title: 'server id', kind: 'noop' }, noop('i-c', { deps: ['i-a'] })],
      idempotencyKey: 'ids-key-1',
      actor,
    });
    expect(made.created).toBe(true);
    expect(made.ids).toHaveLength(3);
    expect(made.ids[0]).toBe('i-a');
    expect(made.ids[2]).toBe('i-c');
    expect((await op(coordCommands.get, { id: made.ids[1]! })).title).toBe('server id');
    const again = await op(coordCommands.createBatchIds, {
      tasks: [noop('i-a'), { title: 'server id', kind: 'noop' }, noop('i-c', { deps: ['i-a'] })],
      idempotencyKey: 'ids-key-1',
      actor,
    });
    expect(again).toEqual({ ids: made.ids, created: false });
    const broken = await refused(
      op(coordCommands.createBatchIds, { tasks: [noop('i-ok'), noop('i-bad', { deps: ['ghost'] })], actor }),
    );
    expect(broken.message).toContain('tasks.1.deps.0: unknown task "ghost"');
    expect((await refused(op(coordCommands.get, { id: 'i-ok' }))).code).toBe('not_found');
  });

  it('edits dependencies: refuses cycles with the path, is idempotent, and announces changes', async () => {
    await op(coordCommands.createBatch, { tasks: [noop('dA'), noop('dB'), noop('dC')], actor });
    await op(coordCommands.addDep, { id: 'dB', depId: 'dC', actor });
    await op(coordCommands.addDep, { id: 'dC', depId: 'dA', actor });
    const cycle = await refused(op(coordCommands.addDep, { id: 'dA', depId: 'dB', actor }));
    expect(cycle.code).toBe('validation_failed');
    expect(cycle.message).toContain('dA → dB → dC → dA');
    expect(cycle.details?.cycle).toEqual(['dA', 'dB', 'dC', 'dA']);
    const again = await op(coordCommands.addDep, { id: 'dB', depId: 'dC', actor });
    expect(again.deps).toEqual(['dC']);
    const removed = await op(coordCommands.removeDep, { id: 'dB', depId: 'dC', actor });
    expect(removed).toMatchObject({ deps: [], status: 'queued' });
    await until(() => eventsFor('dB', 'coord.dep-removed').length === 1, 'dep-removed');
    expect(eventsFor('dB', 'coord.dep-added')).toHaveLength(1);
  });
});

describe('workers', () => {
  it('refuses a missing or wrong worker token and a worker that did not say hello', async () => {
    const noToken = await refused(callCommand(nc, workerCommands.claim, { workerId: 'w-x', max: 1 }));
    expect(noToken.code).toBe('unauthorized');
    const wrong = await refused(
      callCommand(
        nc,
        workerCommands.claim,
        { workerId: 'w-x', max: 1 },
        { headers: { [WORKER_TOKEN_HEADER]: 'jsw_nope' } },
      ),
    );
    expect(wrong.code).toBe('unauthorized');
    const unknown = await refused(claim('w-never-said-hello'));
    expect(unknown.code).toBe('not_found');
  });

  it('hands a task to a long-polling claim as soon as it is ready', async () => {
    const lease = await hello('w-poll', { kinds: ['poll'] });
    expect(lease).toEqual({ heartbeatMs: LEASE_MS / 3, leaseMs: LEASE_MS });
    const started = Date.now();
    const waiting = claim('w-poll', 5, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    await op(coordCommands.create, { task: { id: 'p1', title: 'poll me', kind: 'poll' }, actor });
    const { tasks } = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(tasks).toEqual([
      {
        taskId: 'p1',
        attempt: 1,
        kind: 'poll',
        title: 'poll me',
        payload: {},
        traceId: expect.any(String),
        leaseMs: LEASE_MS,
      },
    ]);
    const empty = await claim('w-poll', 5, 150);
    expect(empty.tasks).toEqual([]);
  });

  it('honours kinds, labels and capacity', async () => {
    await hello('w-cap', { kinds: ['cap'], labels: ['ssd'], capacity: 2 });
    await op(coordCommands.createBatch, {
      tasks: [
        { id: 'cap-gpu', title: 'x', kind: 'cap', labels: ['gpu'], priority: 9 },
        { id: 'cap-1', title: 'x', kind: 'cap', labels: ['ssd'] },
        { id: 'cap-2', title: 'x', kind: 'cap' },
        { id: 'cap-3', title: 'x', kind: 'cap' },
        { id: 'cap-other', title: 'x', kind: 'other' },
      ],
      actor,
    });
    const first = await claim('w-cap', 10);
    expect(first.tasks.map((t) => t.taskId)).toEqual(['cap-1', 'cap-2']);
    expect((await claim('w-cap', 10)).tasks).toEqual([]);
    await report('w-cap', [{ type: 'completed', taskId: 'cap-1', attempt: 1 }]);
    expect((await claim('w-cap', 10)).tasks.map((t) => t.taskId)).toEqual(['cap-3']);
    const workers = await op(coordCommands.workers, {});
    expect(workers.items.find((w) => w.id === 'w-cap')).toMatchObject({
      status: 'online',
      running: ['cap-2', 'cap-3'],
    });
  });

  it('applies reports in order, keeps output, and refuses stale attempts per item', async () => {
    await hello('w-rep', { kinds: ['rep'] });
    await op(coordCommands.createBatch, {
      tasks: [
        { id: 'rep-1', title: 'x', kind: 'rep' },
        { id: 'rep-2', title: 'x', kind: 'rep', deps: ['rep-1'] },
      ],
      actor,
    });
    expect((await claim('w-rep')).tasks.map((t) => t.taskId)).toEqual(['rep-1']);
    const out = await report('w-rep', [
      { type: 'started', taskId: 'rep-1', attempt: 1 },
      {
        type: 'heartbeat',
        taskId: 'rep-1',
        attempt: 1,
        progress: 0.5,
        output: [
          { stream: 'stdout', line: 'hello' },
          { stream: 'stderr', line: 'warn' },
        ],
      },
    ]);
    expect(out.results.every((r) => r.ok)).toBe(true);
    const running = await op(coordCommands.get, { id: 'rep-1' });
    expect(running).toMatchObject({ status: 'running', progress: 0.5, workerId: 'w-rep' });
    expect(running.output.map((l) => l.line)).toEqual(['hello', 'warn']);
    await until(() => eventsFor('rep-1', 'coord.task-output').length === 1, 'task-output');

    const done = await report('w-rep', [
      {
        type: 'completed',
        taskId: 'rep-1',
        attempt: 1,
        result: { answer: 42 },
        cost: { usd: 0.5, inputTokens: 10, outputTokens: 5 },
      },
      { type: 'completed', taskId: 'rep-1', attempt: 1 },
      { type: 'started', taskId: 'rep-1', attempt: 2 },
      { type: 'completed', taskId: 'no-such-task', attempt: 1 },
    ]);
    expect(done.results.map((r) => [r.ok, r.error?.code])).toEqual([
      [true, undefined],
      [false, 'conflict'],
      [false, 'conflict'],
      [false, 'not_found'],
    ]);
    const complete = await op(coordCommands.get, { id: 'rep-1' });
    expect(complete).toMatchObject({
      status: 'complete',
      result: { answer: 42 },
      cost: { usd: 0.5 },
      dependents: ['rep-2'],
    });
    expect(complete.output.map((l) => l.line)).toEqual(['hello', 'warn']); // now read from the output stream
    expect(complete.attempts).toEqual([
      expect.objectContaining({ number: 1, workerId: 'w-rep', outcome: 'complete' }),
    ]);
    expect((await op(coordCommands.get, { id: 'rep-2' })).status).toBe('queued');
    const updates = await until(
      () => eventsFor('rep-1', 'coord.task-updated').length === 3 && eventsFor('rep-1', 'coord.task-updated'),
      'three status events',
    );
    expect(
      updates.map((e) => `${(e.data as { from: string }).from}>${(e.data as { to: string }).to}`),
    ).toEqual(['queued>assigned', 'assigned>running', 'running>complete']);
  });

  it('takes a task back when its lease expires, tells the worker, and refuses the late completion', async () => {
    await hello('w-dies', { kinds: ['lease'] });
    const aborts: WorkerAbort[] = [];
    const sub = nc.subscribe(workerAbortSubject('w-dies'), {
      callback: (_e, m) => void aborts.push(m.json<WorkerAbort>()),
    });
    await op(coordCommands.create, { task: { id: 'lease-1', title: 'x', kind: 'lease' }, actor });
    await claim('w-dies');
    await report('w-dies', [{ type: 'started', taskId: 'lease-1', attempt: 1 }]);
    // The worker goes silent; the lease runs out.
    const requeued = await until(
      () => eventsFor('lease-1').find((e) => (e.data as { to?: string }).to === 'queued'),
      'requeue',
      LEASE_MS * 5,
    );
    expect((requeued.data as { reason: string }).reason).toContain('lease expired');
    const task = await op(coordCommands.get, { id: 'lease-1' });
    expect(task.attempts[0]).toMatchObject({ outcome: 'lost' });
    expect(task.status).toBe('queued');
    await until(() => aborts.length > 0, 'abort message');
    expect(aborts[0]).toMatchObject({ taskId: 'lease-1', attempt: 1 });
    // The worker missed three heartbeats: it is offline and must say hello again.
    await until(
      () => events.some((e) => e.type === 'coord.worker-left' && e.subject === 'w-dies'),
      'worker-left',
    );
    expect(
      (await refused(report('w-dies', [{ type: 'completed', taskId: 'lease-1', attempt: 1 }]))).code,
    ).toBe('not_found');
    await hello('w-dies', { kinds: ['lease'] });
    const late = await report('w-dies', [{ type: 'completed', taskId: 'lease-1', attempt: 1 }]);
    expect(late.results[0]).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await hello('w-other', { kinds: ['lease'] });
    const second = await claim('w-other');
    expect(second.tasks).toEqual([expect.objectContaining({ taskId: 'lease-1', attempt: 2 })]);
    await report('w-other', [{ type: 'completed', taskId: 'lease-1', attempt: 2 }]);
    expect((await op(coordCommands.get, { id: 'lease-1' })).attempts.map((a) => a.outcome)).toEqual([
      'lost',
      'complete',
    ]);
    sub.unsubscribe();
  });

  it('gives back what a leaving worker holds', async () => {
    await hello('w-bye', { kinds: ['bye'] });
    await op(coordCommands.create, { task: { id: 'bye-1', title: 'x', kind: 'bye' }, actor });
    await claim('w-bye');
    const { released } = await workerCall(workerCommands.bye, { workerId: 'w-bye' });
    expect(released).toEqual(['bye-1']);
    expect((await op(coordCommands.get, { id: 'bye-1' })).status).toBe('queued');
    await until(
      () =>
        events.some((e) => e.type === 'coord.worker-left' && (e.data as { reason: string }).reason === 'bye'),
      'bye',
    );
  });
  it('does not hand what a leaving worker releases back to its own waiting claim', async () => {
    await hello('w-bye2', { kinds: ['bye2'], capacity: 2 });
    await op(coordCommands.create, { task: { id: 'bye2-1', title: 'x', kind: 'bye2' }, actor });
    expect((await claim('w-bye2', 1)).tasks.map((t) => t.taskId)).toEqual(['bye2-1']);
    const waiting = claim('w-bye2', 1, 3000);
    await new Promise((r) => setTimeout(r, 50));
    const { released } = await workerCall(workerCommands.bye, { workerId: 'w-bye2' });
    expect(released).toEqual(['bye2-1']);
    expect((await waiting).tasks).toEqual([]);
    const task = await op(coordCommands.get, { id: 'bye2-1' });
    expect(task.status).toBe('queued');
    expect(task.workerId).toBeUndefined();
  });
});

describe('cancel and retry', () => {
  it('cancels dependents that can no longer run and aborts the running task on its worker', async () => {
    await hello('w-cancel', { kinds: ['cx'] });
    const aborts: WorkerAbort[] = [];
    const sub = nc.subscribe(workerAbortSubject('w-cancel'), {
      callback: (_e, m) => void aborts.push(m.json<WorkerAbort>()),
    });
    await nc.flush();
    await op(coordCommands.createBatch, {
      tasks: [
        { id: 'cx-root', title: 'x', kind: 'cx' },
        { id: 'cx-child', title: 'x', kind: 'cx', deps: ['cx-root'] },
        { id: 'cx-grandchild', title: 'x', kind: 'cx', deps: ['cx-child'] },
      ],
      actor,
    });
    await claim('w-cancel');
    await report('w-cancel', [{ type: 'started', taskId: 'cx-root', attempt: 1 }]);
    const result = await op(coordCommands.cancel, { id: 'cx-root', reason: 'changed my mind', actor });
    expect(result.task).toMatchObject({ status: 'canceled', statusReason: 'changed my mind' });
    expect(result.task.attempts[0]).toMatchObject({ outcome: 'canceled' });
    expect(result.cascaded).toEqual([
      { id: 'cx-child', reason: 'dependency cx-root was canceled' },
      { id: 'cx-grandchild', reason: 'dependency cx-child was canceled' },
    ]);
    await until(() => aborts.length === 1, 'abort');
    expect(aborts[0]).toEqual({ taskId: 'cx-root', attempt: 1, reason: 'changed my mind' });
    const late = await report('w-cancel', [{ type: 'completed', taskId: 'cx-root', attempt: 1 }]);
    expect(late.results[0]!.ok).toBe(false);
    expect((await refused(op(coordCommands.cancel, { id: 'cx-root', actor }))).message).toContain(
      'canceled → canceled',
    );
    expect(audit.some((a) => a.action === 'canceled' && a.target === 'cx-root')).toBe(true);
    sub.unsubscribe();
  });

  it('cancels a cascade too large to list in one message, listing the first 1000 and counting all', async () => {
    await op(coordCommands.create, { task: { id: 'huge-root', title: 'root', kind: 'never' }, actor });
    const count = 25_000;
    for (let i = 0; i < count; i += 1000) {
      const tasks = Array.from({ length: 1000 }, (_, j) => ({
        id: `huge-dependent-with-a-long-id-${i + j}`,
        title: `dependent ${i + j}`,
        kind: 'never',
        deps: ['huge-root'],
      }));
      await op(coordCommands.createBatch, { tasks, actor });
    }
    const result = await callCommand(
      nc,
      coordCommands.cancel,
      { id: 'huge-root', actor },
      { timeoutMs: 30_000 },
    );
    expect(result.cascadedTotal).toBe(count);
    expect(result.cascaded).toHaveLength(1000);
    expect((await op(coordCommands.get, { id: `huge-dependent-with-a-long-id-${count - 1}` })).status).toBe(
      'canceled',
    );
  });

  it('retries a failed task with a new attempt; its waiting dependents then go on', async () => {
    await hello('w-retry', { kinds: ['rt'] });
    await op(coordCommands.createBatch, {
      tasks: [
        { id: 'rt-1', title: 'x', kind: 'rt' },
        { id: 'rt-2', title: 'x', kind: 'rt', deps: ['rt-1'] },
      ],
      actor,
    });
    await claim('w-retry');
    await report('w-retry', [
      { type: 'failed', taskId: 'rt-1', attempt: 1, errorClass: 'fatal', message: 'exit 1' },
    ]);
    expect(await op(coordCommands.get, { id: 'rt-1' })).toMatchObject({
      status: 'failed',
      error: { class: 'fatal', message: 'exit 1' },
    });
    expect(await op(coordCommands.get, { id: 'rt-2' })).toMatchObject({
      status: 'pending',
      statusReason: 'waiting on failed dependency rt-1',
    });
    const retried = await op(coordCommands.retry, { id: 'rt-1', actor });
    expect(retried.status).toBe('queued');
    const { tasks } = await claim('w-retry');
    expect(tasks.map((t) => [t.taskId, t.attempt])).toEqual([['rt-1', 2]]);
    await report('w-retry', [{ type: 'completed', taskId: 'rt-1', attempt: 2 }]);
    expect((await op(coordCommands.get, { id: 'rt-2' })).status).toBe('queued');
  });
});

describe('durability', () => {
  const snapshotOfState = () => coordinator.table.ordered.map(encodeTask);

  it('keeps every task across a restart, from snapshot plus journal, without re-announcing events', async () => {
    await op(coordCommands.createBatch, {
      tasks: Array.from({ length: 50 }, (_, i) => noop(`r-${i}`, i > 0 ? { deps: [`r-${i - 1}`] } : {})),
      actor,
    });
    await coordinator.snapshot();
    // More changes after the snapshot: these come back from the journal.
    await op(coordCommands.create, { task: noop('r-after'), actor });
    await op(coordCommands.cancel, { id: 'r-25', actor });
    await hello('w-restart', { kinds: ['noop'] });
    const claimed = await claim('w-restart', 3);
    expect(claimed.tasks.length).toBeGreaterThan(0);
    await coordinator.settled();
    const before = snapshotOfState();
    const progress = await op(coordCommands.progress, {});
    await new Promise((r) => setTimeout(r, 100));
    const eventsBefore = (await jetstreamManager(nc).then((m) => m.streams.info('EVENTS'))).state.messages;

    const snapshotSeq = coordinator.recovery.snapshotSeq;
    await service.stop();
    await startCoordinator();
    expect(coordinator.recovery.snapshotSeq).toBeGreaterThan(snapshotSeq);
    expect(coordinator.recovery.replayedOps).toBeGreaterThan(0);
    expect(snapshotOfState()).toEqual(before);
    expect(await op(coordCommands.progress, {})).toEqual(progress);
    const last = await op(coordCommands.get, { id: 'r-after' });
    expect(last.status).toBe('queued');
    await new Promise((r) => setTimeout(r, 200));
    const eventsAfter = (await jetstreamManager(nc).then((m) => m.streams.info('EVENTS'))).state.messages;
    // Only the new process's coord.started: no task event is announced twice.
    expect(eventsAfter).toBe(eventsBefore + 1);
    // The claimed attempts are still the worker's after it says hello again.
    await hello('w-restart', { kinds: ['noop'] });
    const done = await report(
      'w-restart',
      claimed.tasks.map((t) => ({ type: 'completed' as const, taskId: t.taskId, attempt: t.attempt })),
    );
    expect(done.results.every((r) => r.ok)).toBe(true);
  });

  it('answers health as api.coordinator.health', async () => {
    expect(await op(healthCommand('coordinator'), {})).toMatchObject({
      service: 'coordinator',
      status: 'ok',
    });
  });
});
