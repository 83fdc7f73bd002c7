// The BullMQ side of bench/tasks-vs-bullmq.ts: the same workloads on the local Redis.
// Redis is used here only, for comparison; the product never depends on it.
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, type FlowJob, FlowProducer, Queue, Worker } from 'bullmq';
import { startSteadyWorker, wallNow } from './steady-worker-process.js';

export const REDIS: ConnectionOptions = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
  maxRetriesPerRequest: null,
};

const queueName = (what: string) => `jousting-bench-${what}-${process.pid}-${Date.now()}`;

async function cleanup(queue: Queue) {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
}

/**
 * Runs one no-op Worker at `concurrency` while `produce` adds jobs to a fresh queue, until `total`
 * jobs completed; times it from the first add.
 */
async function runToCompletion(
  what: string,
  total: number,
  concurrency: number,
  produce: (queueName: string) => Promise<void>,
) {
  const name = queueName(what);
  const queue = new Queue(name, { connection: REDIS });
  let done = 0;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker(name, async () => null, {
    connection: REDIS,
    concurrency,
    removeOnComplete: { count: 0 },
  });
  worker.on('completed', () => {
    if (++done === total) resolveAll();
  });
  const started = performance.now();
  await produce(name);
  const addedAt = performance.now();
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await cleanup(queue);
  return { tasks: total, seconds, perSecond: total / seconds, addSeconds: (addedAt - started) / 1000 };
}

/** Independent no-op jobs, added with addBulk in chunks of 1000. */
export function bullmqIndependent(count: number, concurrency = 100) {
  return runToCompletion('independent', count, concurrency, async (name) => {
    const queue = new Queue(name, { connection: REDIS });
    for (let i = 0; i < count; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })),
      );
    }
    await queue.close();
  });
}

/** Flows: `parents` × (1 parent waiting on `children` children), added with FlowProducer.addBulk. */
export function bullmqFanIn(parents: number, children = 4, concurrency = 100) {
  return runToCompletion('fanin', parents * (children + 1), concurrency, async (name) => {
    const flows = new FlowProducer({ connection: REDIS });
    for (let i = 0; i < parents; i += 200) {
      const batch: FlowJob[] = Array.from({ length: Math.min(200, parents - i) }, (_, j) => ({
        name: 'parent',
        queueName: name,
        data: { p: i + j },
        children: Array.from({ length: children }, (_, c) => ({
          name: 'child',
          queueName: name,
          data: { c },
        })),
      }));
      await flows.addBulk(batch);
    }
    await flows.close();
  });
}

/** `chains` chains of `depth` levels: each job waits on the one below it (a tree of depth `depth`). */
export function bullmqChains(chains: number, depth: number, concurrency = 100) {
  return runToCompletion('layered', chains * depth, concurrency, async (name) => {
    const flows = new FlowProducer({ connection: REDIS });
    const chain = (level: number): FlowJob => ({
      name: `l${level}`,
      queueName: name,
      data: { level },
      ...(level + 1 < depth ? { children: [chain(level + 1)] } : {}),
    });
    for (let i = 0; i < chains; i += 50) {
      await flows.addBulk(Array.from({ length: Math.min(50, chains - i) }, () => chain(0)));
    }
    await flows.close();
  });
}

/**
 * Jobs added at a steady rate; latency from add to the worker starting it (ms). The Worker runs
 * in its own process (bench/steady-worker.mts), like the Jousting side's.
 */
export async function bullmqSteadyLatency(ratePerSecond: number, seconds: number, concurrency = 100) {
  const name = queueName('latency');
  const queue = new Queue(name, { connection: REDIS });
  const total = ratePerSecond * seconds;
  const worker = await startSteadyWorker(
    { BENCH_SIDE: 'bullmq', BENCH_QUEUE: name, BENCH_CONCURRENCY: String(concurrency) },
    total,
  );
  try {
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((ratePerSecond * tickMs) / 1000));
    const start = performance.now();
    for (let sent = 0; sent < total; ) {
      const batch = Array.from({ length: Math.min(perTick, total - sent) }, () => ({
        name: 'noop',
        data: { sentAt: wallNow() },
      }));
      sent += batch.length;
      await queue.addBulk(batch);
      const next = start + (sent / perTick) * tickMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return await worker.latencies;
  } finally {
    worker.kill();
    await cleanup(queue);
  }
}
