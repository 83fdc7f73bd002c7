// The BullMQ side of bench/tasks-vs-bullmq.ts: the same workloads on the local Redis.
// Redis is used here only, for comparison; the product never depends on it.
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, type FlowJob, FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';

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

/** 50,000 (default) independent no-op jobs: addBulk in chunks, one worker at concurrency 100. */
export async function bullmqIndependent(count: number, concurrency = 100) {
  const name = queueName('independent');
  const queue = new Queue(name, { connection: REDIS });
  let done = 0;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const started = performance.now();
  const worker = new Worker(name, async () => null, {
    connection: REDIS,
    concurrency,
    removeOnComplete: { count: 0 },
  });
  worker.on('completed', () => {
    if (++done === count) resolveAll();
  });
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })),
    );
  }
  const addedAt = performance.now();
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await cleanup(queue);
  return { tasks: count, seconds, perSecond: count / seconds, addSeconds: (addedAt - started) / 1000 };
}

/** Flows: `parents` × (1 parent waiting on `children` children), added with FlowProducer.addBulk. */
export async function bullmqFanIn(parents: number, children = 4, concurrency = 100) {
  const name = queueName('fanin');
  const queue = new Queue(name, { connection: REDIS });
  const flows = new FlowProducer({ connection: REDIS });
  const total = parents * (children + 1);
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
  for (let i = 0; i < parents; i += 200) {
    const batch: FlowJob[] = Array.from({ length: Math.min(200, parents - i) }, (_, j) => ({
      name: 'parent',
      queueName: name,
      data: { p: i + j },
      children: Array.from({ length: children }, (_, c) => ({ name: 'child', queueName: name, data: { c } })),
    }));
    await flows.addBulk(batch);
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await flows.close();
  await cleanup(queue);
  return { tasks: total, seconds, perSecond: total / seconds };
}

/** `chains` chains of `depth` levels: each job waits on the one below it (a tree of depth `depth`). */
export async function bullmqChains(chains: number, depth: number, concurrency = 100) {
  const name = queueName('layered');
  const queue = new Queue(name, { connection: REDIS });
  const flows = new FlowProducer({ connection: REDIS });
  const total = chains * depth;
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
  const chain = (level: number): FlowJob => ({
    name: `l${level}`,
    queueName: name,
    data: { level },
    ...(level + 1 < depth ? { children: [chain(level + 1)] } : {}),
  });
  const started = performance.now();
  for (let i = 0; i < chains; i += 50) {
    await flows.addBulk(Array.from({ length: Math.min(50, chains - i) }, () => chain(0)));
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await flows.close();
  await cleanup(queue);
  return { tasks: total, seconds, perSecond: total / seconds };
}

/** Jobs added at a steady rate; latency from add to the worker starting it (p50/p99 in ms). */
export async function bullmqSteadyLatency(ratePerSecond: number, seconds: number, concurrency = 100) {
  const name = queueName('latency');
  const queue = new Queue(name, { connection: REDIS });
  const events = new QueueEvents(name, { connection: REDIS });
  await events.waitUntilReady();
  const latencies: number[] = [];
  const total = ratePerSecond * seconds;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker(
    name,
    async (job) => {
      latencies.push(Date.now() + (performance.timeOrigin % 1) - (job.data as { sentAt: number }).sentAt);
      if (latencies.length === total) resolveAll();
      return null;
    },
    { connection: REDIS, concurrency, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((ratePerSecond * tickMs) / 1000));
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const batch = Array.from({ length: Math.min(perTick, total - sent) }, () => ({
      name: 'noop',
      data: { sentAt: Date.now() },
    }));
    sent += batch.length;
    await queue.addBulk(batch);
    const next = start + (sent / perTick) * tickMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await allDone;
  await worker.close();
  await events.close();
  await cleanup(queue);
  return latencies;
}
