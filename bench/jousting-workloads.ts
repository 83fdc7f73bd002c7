// The Jousting side of bench/tasks-vs-bullmq.ts: the same workloads through the coordinator
// (a real process) and the worker SDK (in this process, like the BullMQ worker).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { callCommand, createLogger } from '@jousting/bus';
import { type CloudEvent, coordCommands, type NewTask } from '@jousting/contracts';
import { createWorker } from '@jousting/worker-sdk';
import type { NatsConnection } from '@nats-io/transport-node';
import { measureSteadyLatency, wallNow } from './steady-worker-process.js';

const BATCH = 1000;
const IN_FLIGHT = 4;
/** Tasks the SDK worker claims ahead of its free slots (WorkerOptions.prefetch). */
const PREFETCH = Number(process.env.BENCH_PREFETCH ?? 100);
let runCounter = 0;

type AllComplete = { total: number; complete: number; failed: number; canceled: number };

/** Resolves once the coordinator reports nothing left to run and at least `complete` tasks done. */
function allComplete(nc: NatsConnection, complete: number): Promise<void> {
  return new Promise((resolve) => {
    const sub = nc.subscribe('coord.all-complete', {
      callback: (_err, msg) => {
        if (msg.json<CloudEvent<AllComplete>>().data.complete >= complete) {
          sub.unsubscribe();
          resolve();
        }
      },
    });
  });
}

async function completedSoFar(nc: NatsConnection): Promise<number> {
  const progress = await callCommand(nc, coordCommands.progress, {});
  return progress.byStatus.complete ?? 0;
}

/** Sends batches of tasks, IN_FLIGHT at a time, in order of the array. */
async function createAll(nc: NatsConnection, batches: NewTask[][]) {
  let next = 0;
  const lanes = Array.from({ length: IN_FLIGHT }, async () => {
    while (next < batches.length) {
      const tasks = batches[next++]!;
      await callCommand(nc, coordCommands.createBatchIds, { tasks, actor: 'bench' }, { timeoutMs: 60_000 });
    }
  });
  await Promise.all(lanes);
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface JoustingBench {
  nc: NatsConnection;
  natsUrl: string;
  workerToken: string;
}

/** The SDK worker of every Jousting workload: no-op handlers, `prefetch` from BENCH_PREFETCH. */
export function createBenchWorker(
  natsUrl: string,
  workerToken: string,
  concurrency: number,
  onTask: (payload: Record<string, unknown>) => void = () => {},
) {
  return createWorker({
    servers: natsUrl,
    token: workerToken,
    name: 'bench',
    concurrency,
    prefetch: PREFETCH,
    logger: createLogger('bench-worker', { level: 'warn' }),
    handlers: {
      noop: async (task) => {
        onTask(task.payload);
        return null;
      },
    },
  });
}

export async function withWorker<T>(bench: JoustingBench, concurrency: number, run: () => Promise<T>) {
  const worker = createBenchWorker(bench.natsUrl, bench.workerToken, concurrency);
  await worker.start();
  try {
    return await run();
  } finally {
    await worker.stop({ graceMs: 1000, release: true });
  }
}

async function timed(bench: JoustingBench, tasks: number, batches: NewTask[][]) {
  const before = await completedSoFar(bench.nc);
  const done = allComplete(bench.nc, before + tasks);
  const started = performance.now();
  await createAll(bench.nc, batches);
  const createdAt = performance.now();
  await done;
  const seconds = (performance.now() - started) / 1000;
  return { tasks, seconds, perSecond: tasks / seconds, addSeconds: (createdAt - started) / 1000 };
}

export function joustingIndependent(bench: JoustingBench, count: number, concurrency = 100) {
  const tasks: NewTask[] = Array.from({ length: count }, (_, i) => ({ title: `noop ${i}`, kind: 'noop' }));
  return withWorker(bench, concurrency, () => timed(bench, count, chunk(tasks, BATCH)));
}

/** `parents` × (1 parent depending on `children` children), 200 families per batch. */
export function joustingFanIn(bench: JoustingBench, parents: number, children = 4, concurrency = 100) {
  const run = ++runCounter;
  const families: NewTask[][] = Array.from({ length: parents }, (_, p) => {
    const childIds = Array.from({ length: children }, (_, c) => `f${run}-${p}-c${c}`);
    return [
      ...childIds.map((id) => ({ id, title: id, kind: 'noop' })),
      { id: `f${run}-${p}`, title: `parent ${p}`, kind: 'noop', deps: childIds },
    ];
  });
  const batches = chunk(families, Math.floor(BATCH / (children + 1))).map((group) => group.flat());
  return withWorker(bench, concurrency, () => timed(bench, parents * (children + 1), batches));
}

/** `chains` chains of `depth` levels; each task waits on the one below it, like a BullMQ flow chain. */
export function joustingChains(bench: JoustingBench, chains: number, depth: number, concurrency = 100) {
  const run = ++runCounter;
  const chainTasks: NewTask[][] = Array.from({ length: chains }, (_, k) =>
    Array.from({ length: depth }, (_, level) => ({
      id: `c${run}-${k}-l${level}`,
      title: `chain ${k} level ${level}`,
      kind: 'noop',
      deps: level + 1 < depth ? [`c${run}-${k}-l${level + 1}`] : [],
    })),
  );
  const batches = chunk(chainTasks, Math.floor(BATCH / depth)).map((group) => group.flat());
  return withWorker(bench, concurrency, () => timed(bench, chains * depth, batches));
}

/** `levels` layers of `width` tasks; each depends on two tasks of the layer before (a real DAG). */
export function joustingLayeredDag(bench: JoustingBench, levels: number, width: number, concurrency = 100) {
  const run = ++runCounter;
  const id = (level: number, i: number) => `d${run}-${level}-${i}`;
  const tasks: NewTask[] = [];
  for (let level = 0; level < levels; level++) {
    for (let i = 0; i < width; i++) {
      tasks.push({
        id: id(level, i),
        title: id(level, i),
        kind: 'noop',
        deps: level === 0 ? [] : [...new Set([id(level - 1, i), id(level - 1, (i * 7 + 3) % width)])],
      });
    }
  }
  return withWorker(bench, concurrency, () => timed(bench, tasks.length, chunk(tasks, BATCH)));
}

/**
 * Tasks created at a steady rate; latency from the create request to the handler starting (ms).
 * The SDK worker runs in its own process (bench/steady-worker.mts).
 */
export function joustingSteadyLatency(
  bench: JoustingBench,
  ratePerSecond: number,
  seconds: number,
  concurrency = 100,
) {
  return measureSteadyLatency({
    workerEnv: {
      BENCH_SIDE: 'jousting',
      NATS_URL: bench.natsUrl,
      BENCH_WORKER_TOKEN: bench.workerToken,
      BENCH_CONCURRENCY: String(concurrency),
    },
    ratePerSecond,
    seconds,
    pipelined: true,
    send: (count, first) => {
      const tasks = Array.from({ length: count }, (_, i) => ({
        title: `steady ${first + i}`,
        kind: 'noop',
        payload: { sentAt: wallNow() },
      }));
      return callCommand(bench.nc, coordCommands.createBatchIds, { tasks, actor: 'bench' });
    },
  });
}

/** Coordinator resident memory added by `count` held (pending) tasks, in bytes per task. */
export async function joustingMemoryPerTask(bench: JoustingBench, coordinatorPid: number, count: number) {
  const run = ++runCounter;
  const rss = () =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${coordinatorPid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  // No worker runs kind "held", so the blocker stays queued and everything after it pending.
  const blocker = `m${run}-blocker`;
  await callCommand(bench.nc, coordCommands.create, {
    task: { id: blocker, title: 'blocker', kind: 'held' },
    actor: 'bench',
  });
  await new Promise((r) => setTimeout(r, 500));
  const before = rss();
  const tasks: NewTask[] = Array.from({ length: count }, (_, i) => ({
    title: `held task ${i} waiting on the blocker`,
    kind: 'held',
    labels: ['bench'],
    payload: { command: 'true', n: i },
    deps: [blocker],
  }));
  await createAll(bench.nc, chunk(tasks, BATCH));
  await new Promise((r) => setTimeout(r, 1000));
  const after = rss();
  await callCommand(bench.nc, coordCommands.cancel, { id: blocker, actor: 'bench' }, { timeoutMs: 60_000 });
  return { tasks: count, rssBefore: before, rssAfter: after, bytesPerTask: (after - before) / count };
}
