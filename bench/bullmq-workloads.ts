// The BullMQ side of bench/tasks-vs-bullmq.ts: the same workloads on the local Redis.
// Redis is used here only, for comparison; the product never depends on it.
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, type FlowJob, FlowProducer, Queue, Worker } from 'bullmq';
import { measureSteadyLatency, wallNow } from './steady-worker-process.js';

export const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6379);
export const REDIS: ConnectionOptions = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: REDIS_PORT,
  maxRetriesPerRequest: null,
};

const queueName = (what: string) => `jousting-bench-${what}-${process.pid}-${Date.now()}`;

async function cleanup(queue: Queue) {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
}

/** The no-op BullMQ Worker of every workload (completed jobs are not kept, as Jousting's are). */
export function createBullmqWorker(
  queue: string,
  concurrency: number,
  onJob: (data: Record<string, unknown>) => void = () => {},
) {
  return new Worker(
    queue,
    async (job) => {
      onJob(job.data as Record<string, unknown>);
      return null;
    },
    { connection: REDIS, concurrency, removeOnComplete: { count: 0 } },
  );
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
  const worker = createBullmqWorker(name, concurrency);
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
  try {
    return await measureSteadyLatency({
      workerEnv: { BENCH_SIDE: 'bullmq', BENCH_QUEUE: name, BENCH_CONCURRENCY: String(concurrency) },
      ratePerSecond,
      seconds,
      pipelined: false,
      send: (count) =>
        queue.addBulk(Array.from({ length: count }, () => ({ name: 'noop', data: { sentAt: wallNow() } }))),
    });
  } finally {
    await cleanup(queue);
  }
}
