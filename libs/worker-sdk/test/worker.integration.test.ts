import { createLogger } from '@jousting/bus';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorker,
  TaskAbortedError,
  type TaskContext,
  type TaskHandler,
  type Worker,
  WorkerError,
  type WorkerOptions,
} from '../src/index.js';
import { FakeCoordinator } from './fake-coordinator.js';

const TOKEN = 'test-worker-token';
const logger = createLogger('worker-sdk-test', { level: 'silent' });
let nats: NatsHandle;
let nc: NatsConnection;
let coord: FakeCoordinator | undefined;
let workers: Worker[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  await coord?.stop();
  coord = undefined;
});

async function startCoordinator(opts: { leaseMs?: number; heartbeatMs?: number } = {}) {
  coord = new FakeCoordinator(nc, opts);
  await coord.start();
  return coord;
}

async function startWorker(handler: TaskHandler, opts: Partial<WorkerOptions> = {}) {
  const worker = createWorker({
    servers: nats.url,
    token: TOKEN,
    kinds: ['exec'],
    concurrency: 4,
    handlers: { exec: handler },
    logger,
    claimWaitMs: 1000,
    ...opts,
  });
  workers.push(worker);
  await worker.start();
  return worker;
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusOf = (c: FakeCoordinator, ids: string[]) => ids.map((id) => c.task(id).status);
const allDone = (c: FakeCoordinator, ids: string[]) =>
  ids.every((id) => ['complete', 'failed'].includes(c.task(id).status));

describe('worker SDK against a coordinator on real NATS', () => {
  it('runs claimed tasks with at most `concurrency` at once and reports results', async () => {
    const c = await startCoordinator();
    let now = 0;
    let peak = 0;
    await startWorker(
      async (task) => {
        now++;
        peak = Math.max(peak, now);
        await sleep(20);
        now--;
        return { echoed: task.payload.n };
      },
      { concurrency: 4 },
    );
    const ids = c.add(20, 'exec', { n: 7 });
    await until(() => allDone(c, ids), '20 tasks done');
    expect(statusOf(c, ids)).toEqual(ids.map(() => 'complete'));
    expect(c.task(ids[0] as string).result).toEqual({ echoed: 7 });
    expect(peak).toBe(4);
  });

  it('batches reports: far fewer report requests than tasks', async () => {
    const c = await startCoordinator();
    const worker = await startWorker(async () => undefined, { concurrency: 100 });
    const ids = c.add(2000);
    await until(() => allDone(c, ids), '2000 tasks done');
    expect(statusOf(c, ids).every((s) => s === 'complete')).toBe(true);
    // Two reports per task (started, completed) in far fewer requests.
    expect(c.reports.length).toBe(4000);
    expect(c.counts.report).toBeLessThan(200);
    expect(worker.stats()).toMatchObject({ claimed: 2000, completed: 2000, failed: 0 });
  });

  it('prefetch holds claimed tasks beyond concurrency without starting them, and runs them as slots free', async () => {
    const c = await startCoordinator();
    let now = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const worker = await startWorker(
      async () => {
        now++;
        peak = Math.max(peak, now);
        await new Promise<void>((resolve) => gates.push(resolve));
        now--;
        return 'ok';
      },
      { concurrency: 2, prefetch: 3 },
    );
    expect(c.workers.get(worker.id)?.capacity).toBe(5);
    const ids = c.add(8);
    const count = (status: string) => statusOf(c, ids).filter((s) => s === status).length;
    await until(
      () => worker.stats().prefetched === 3 && worker.stats().running === 2 && count('running') === 2,
      '2 running (started reported), 3 held',
    );
    // Held tasks are assigned, not running, and have sent no report.
    expect(statusOf(c, ids).filter((s) => s === 'running')).toHaveLength(2);
    expect(statusOf(c, ids).filter((s) => s === 'assigned')).toHaveLength(3);
    expect(statusOf(c, ids).filter((s) => s === 'queued')).toHaveLength(3);
    while (!allDone(c, ids)) {
      gates.shift()?.();
      await sleep(5);
    }
    expect(statusOf(c, ids).every((s) => s === 'complete')).toBe(true);
    expect(peak).toBe(2);
    expect(worker.stats()).toMatchObject({ claimed: 8, completed: 8, running: 0, prefetched: 0 });
  });

  it('keeps prefetched tasks alive with heartbeats, drops one aborted while held, and releases the rest on stop', async () => {
    const c = await startCoordinator({ leaseMs: 600, heartbeatMs: 150 });
    const worker = await startWorker(
      (_task, ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
      { concurrency: 1, prefetch: 2 },
    );
    const ids = c.add(3);
    await until(
      () => worker.stats().prefetched === 2 && ids.some((id) => c.task(id).status === 'running'),
      'one running (started reported), two held',
    );
    const held = ids.filter((id) => c.task(id).status === 'assigned');
    expect(held).toHaveLength(2);
    // Past two leases: the heartbeats kept them.
    await sleep(1300);
    for (const id of held) {
      expect(c.task(id).status).toBe('assigned');
      expect(c.task(id).attempt).toBe(1);
      expect(c.reportsFor(id).filter((r) => r.type === 'heartbeat').length).toBeGreaterThanOrEqual(3);
    }
    c.abort(held[0] as string, 'canceled by operator');
    await until(() => worker.stats().prefetched === 1, 'the aborted one dropped');
    expect(worker.stats().aborted).toBe(1);
    await worker.stop({ graceMs: 100, release: true });
    expect(
      c
        .reportsFor(held[1] as string)
        .map((r) => r.type)
        .at(-1),
    ).toBe('released');
    expect(c.reportsFor(held[1] as string).some((r) => r.type === 'started')).toBe(false);
    expect(c.task(held[1] as string).status).toBe('queued');
  });

  it('refuses a prefetch that is not a whole number from 0 to 10000', () => {
    for (const prefetch of [-1, 1.5, 10_001]) {
      expect(() =>
        createWorker({ servers: nats.url, token: TOKEN, handlers: { exec: async () => 1 }, prefetch }),
      ).toThrow(/prefetch must be an integer/);
    }
  });

  it('sends the worker token header on every request', async () => {
    const c = await startCoordinator();
    const worker = await startWorker(async () => 'ok');
    const ids = c.add(3);
    await until(() => allDone(c, ids), 'tasks done');
    await worker.stop();
    const subjects = new Set(c.tokens.map((t) => t.subject));
    expect(subjects).toEqual(
      new Set([
        'api.coordinator.worker-hello',
        'api.coordinator.claim',
        'api.coordinator.report',
        'api.coordinator.worker-bye',
      ]),
    );
    expect(c.tokens.every((t) => t.token === TOKEN)).toBe(true);
  });

  it('keeps a long task alive with heartbeats that renew its lease', async () => {
    const c = await startCoordinator({ leaseMs: 600, heartbeatMs: 200 });
    await startWorker(async () => {
      await sleep(1500);
      return 'survived';
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'complete', 'long task complete');
    expect(c.task(id).attempt).toBe(1);
    expect(c.reportsFor(id).filter((r) => r.type === 'heartbeat').length).toBeGreaterThanOrEqual(4);
    expect(c.reports.some((r) => r.refused)).toBe(false);
  });

  it('sends output lines and progress, in order, before the completion', async () => {
    const c = await startCoordinator();
    await startWorker(async (_task, ctx) => {
      ctx.output('first');
      ctx.output('second\nthird\n');
      ctx.output('oops', 'stderr');
      ctx.progress(0.5);
      await sleep(300);
      ctx.output('note', 'log');
      ctx.progress(1);
      return 'done';
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'complete', 'task complete');
    expect(c.task(id).output.map((o) => `${o.stream}:${o.line}`)).toEqual([
      'stdout:first',
      'stdout:second',
      'stdout:third',
      'stderr:oops',
      'log:note',
    ]);
    expect(c.task(id).progress).toBe(1);
    const types = c.reportsFor(id).map((r) => r.type);
    expect(types[0]).toBe('started');
    expect(types.at(-1)).toBe('completed');
    expect(types.filter((t) => t === 'heartbeat').length).toBeGreaterThanOrEqual(2);
  });

  it('drops output beyond the buffer with a note instead of flooding', async () => {
    const c = await startCoordinator();
    await startWorker(async (_task, ctx) => {
      for (let i = 0; i < 5000; i++) ctx.output(`line ${i}`);
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'complete', 'task complete');
    const output = c.task(id).output;
    expect(output.length).toBe(1000);
    expect(output[0]?.line).toBe('line 0');
    expect(output.at(-1)).toEqual({
      stream: 'log',
      line: '[worker] 4001 output lines dropped: the task wrote faster than they could be sent',
      attempt: 1,
    });
  });

  it('fails attempts with the class of a thrown WorkerError, transient for anything else', async () => {
    const c = await startCoordinator();
    await startWorker(async (task, ctx) => {
      ctx.reportCost({ usd: 0.25, inputTokens: 10 });
      ctx.reportCost({ usd: 0.25, outputTokens: 5 });
      switch (task.payload.mode) {
        case 'fatal':
          throw new WorkerError('bad payload', 'fatal');
        case 'limit':
          throw new WorkerError('budget spent', 'limit');
        case 'plain':
          throw new Error('network blip');
        default:
          throw 'a string';
      }
    });
    const [fatal] = c.add(1, 'exec', { mode: 'fatal' }) as [string];
    const [limit] = c.add(1, 'exec', { mode: 'limit' }) as [string];
    const [plain] = c.add(1, 'exec', { mode: 'plain' }) as [string];
    const [other] = c.add(1, 'exec', { mode: 'other' }) as [string];
    const ids = [fatal, limit, plain, other];
    await until(() => allDone(c, ids), 'all failed');
    expect(ids.map((id) => c.task(id).error)).toEqual([
      { class: 'fatal', message: 'bad payload' },
      { class: 'limit', message: 'budget spent' },
      { class: 'transient', message: 'network blip' },
      { class: 'transient', message: 'a string' },
    ]);
    expect(c.task(fatal).cost).toEqual({ usd: 0.5, inputTokens: 10, outputTokens: 5 });
  });

  it('fails a result that is not JSON as fatal', async () => {
    const c = await startCoordinator();
    await startWorker(async () => ({ big: 10n }));
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'failed', 'failed');
    expect(c.task(id).error?.class).toBe('fatal');
    expect(c.task(id).error?.message).toMatch(/not JSON/);
  });

  it('aborts an attempt on the abort subject: the signal fires and nothing more is reported', async () => {
    const c = await startCoordinator();
    let seen: unknown;
    let handlerReturned = false;
    await startWorker(async (_task, ctx: TaskContext) => {
      ctx.output('before');
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      seen = ctx.signal.reason;
      ctx.output('after abort');
      handlerReturned = true;
      return 'finished anyway';
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).output.length === 1, 'first output line');
    const before = c.reportsFor(id).length;
    c.abort(id, 'canceled by operator');
    await until(() => handlerReturned, 'handler returned');
    await sleep(300);
    expect(seen).toBeInstanceOf(TaskAbortedError);
    expect((seen as Error).message).toBe('canceled by operator');
    expect(c.reportsFor(id).length).toBe(before);
    expect(c.task(id).status).toBe('running');
  });

  it('aborts an attempt whose report the coordinator refuses as stale', async () => {
    const c = await startCoordinator({ leaseMs: 60_000, heartbeatMs: 150 });
    let aborted = false;
    const worker = await startWorker(async (_task, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted = true;
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'running', 'running');
    c.expire(id);
    // The worker claims attempt 2 itself; attempt 1's next heartbeat is refused and aborts it.
    await until(() => aborted, 'attempt 1 aborted');
    expect(c.reportsFor(id, 1).some((r) => r.refused)).toBe(true);
    expect(worker.stats().refused).toBeGreaterThanOrEqual(1);
  });

  it('says hello again when the coordinator forgot the worker, and resends its reports', async () => {
    const c = await startCoordinator();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await startWorker(async (task) => {
      if (task.payload.wait) await gate;
      return 'ok';
    });
    const [slow] = c.add(1, 'exec', { wait: true }) as [string];
    await until(() => c.task(slow).status === 'running', 'slow task running');
    c.forgetWorkers();
    release();
    await until(() => c.task(slow).status === 'complete', 'slow task completed after re-hello');
    const ids = c.add(5);
    await until(() => allDone(c, ids), 'new tasks done');
    expect([...c.workers.values()][0]?.hellos).toBe(1);
    expect(c.counts.hello).toBe(2);
  });

  it('keeps running tasks and reporting across a NATS server restart', async () => {
    const c = await startCoordinator();
    await startWorker(async () => {
      await sleep(800);
      return 'ok';
    });
    const ids = c.add(4);
    await until(() => statusOf(c, ids).every((s) => s === 'running'), 'all running');
    await nats.restart();
    await until(() => allDone(c, ids), 'tasks done after the restart', 15_000);
    expect(statusOf(c, ids)).toEqual(ids.map(() => 'complete'));
    const more = c.add(3);
    await until(() => allDone(c, more), 'more tasks after the restart', 15_000);
  });

  it('stop with a grace lets running tasks finish, then says bye', async () => {
    const c = await startCoordinator();
    const worker = await startWorker(async () => {
      await sleep(300);
      return 'finished';
    });
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'running', 'running');
    await worker.stop({ graceMs: 5000 });
    expect(c.task(id).status).toBe('complete');
    expect(c.byes).toEqual([{ workerId: worker.id, release: true }]);
    const later = c.add(1);
    await sleep(300);
    expect(c.task(later[0] as string).status).toBe('queued');
  });

  it('stop with release aborts what outlives the grace and hands it back as released', async () => {
    const c = await startCoordinator();
    let aborted = 0;
    const worker = await startWorker(async (_task, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted++;
      throw new Error('interrupted');
    });
    const ids = c.add(2);
    await until(() => statusOf(c, ids).every((s) => s === 'running'), 'running');
    const started = Date.now();
    await worker.stop({ graceMs: 200, release: true });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(aborted).toBe(2);
    for (const id of ids) {
      expect(c.task(id).status).toBe('queued');
      // Released once: the claim that was still long-polling ended before the release.
      expect(c.task(id).released).toBe(1);
      expect(c.reportsFor(id).map((r) => r.type)).toEqual(['started', 'released']);
    }
    expect(c.byes).toEqual([{ workerId: worker.id, release: true }]);
  });

  it('stop without release leaves unfinished tasks to the lease', async () => {
    const c = await startCoordinator();
    const worker = await startWorker(
      (_task, ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
    );
    const [id] = c.add(1) as [string];
    await until(() => c.task(id).status === 'running', 'running');
    await worker.stop({ release: false });
    expect(c.reportsFor(id).map((r) => r.type)).toEqual(['started']);
    expect(c.task(id).status).toBe('running');
    expect(c.byes).toEqual([{ workerId: worker.id, release: false }]);
  });

  it('waits for a rate-limit grant before a provider call and reports usage at once', async () => {
    const c = await startCoordinator();
    c.refuseGrants = 2;
    await startWorker(async (_task, ctx) => {
      await ctx.waitForGrant();
      await ctx.reportUsage({ inputTokens: 120, outputTokens: 30, usd: 0.01 });
      ctx.reportCost({ usd: 0.02 });
      return 'ok';
    });
    const [id] = c.add(1);
    await until(() => allDone(c, [id as string]), 'the task done');
    expect(c.grants.map((g) => g.granted)).toEqual([false, false, true]);
    expect(c.grants[0]?.taskId).toBe(id);
    expect(c.usage).toEqual([
      expect.objectContaining({ taskId: id, inputTokens: 120, outputTokens: 30, usd: 0.01 }),
    ]);
    // Usage counts into the attempt's cost too.
    expect(c.task(id as string).cost).toEqual({ usd: 0.03, inputTokens: 120, outputTokens: 30 });
  });

  it('stops waiting for a grant when the attempt is aborted', async () => {
    const c = await startCoordinator();
    c.refuseGrants = 1_000_000;
    let rejected: unknown;
    await startWorker(async (_task, ctx) => {
      try {
        await ctx.waitForGrant();
      } catch (err) {
        rejected = err;
        throw err;
      }
    });
    const [id] = c.add(1);
    await until(() => c.grants.length > 0, 'a grant request');
    c.abort(id as string, 'canceled by test');
    await until(() => rejected !== undefined, 'waitForGrant to reject');
  });

  it('start() rejects a wrong token', async () => {
    await startCoordinator();
    const worker = createWorker({ servers: nats.url, token: 'wrong', handlers: { exec: () => 1 }, logger });
    await expect(worker.start()).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('start() succeeds without a coordinator and registers once one answers', async () => {
    const worker = await startWorker(async () => 'late');
    expect(worker.stats().registered).toBe(false);
    const c = await startCoordinator();
    const ids = c.add(2);
    await until(() => allDone(c, ids), 'tasks done once the coordinator is up');
    expect(worker.stats().registered).toBe(true);
  });

  it('refuses to start with a bad worker id or a missing handler', () => {
    expect(() =>
      createWorker({ servers: nats.url, token: TOKEN, workerId: 'has space', handlers: { exec: () => 1 } }),
    ).toThrow(/workerId/);
    expect(() =>
      createWorker({ servers: nats.url, token: TOKEN, kinds: ['agent'], handlers: { exec: () => 1 } }),
    ).toThrow(/no handler for kind "agent"/);
  });
});
