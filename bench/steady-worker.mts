// The worker of the steady-latency workloads, in its own process as production workers are, so
// the benchmark's create client and the worker do not share one event loop. Started by
// bench/jousting-workloads.ts and bench/bullmq-workloads.ts with fork(); not run by hand.
// Each task's payload carries `sentAt` (performance.timeOrigin + performance.now() in the
// producer): both processes read the same system clock, so the difference is the latency.
import { createLogger } from '@jousting/bus';
import { createWorker } from '@jousting/worker-sdk';
import { Worker } from 'bullmq';

const side = process.env.BENCH_SIDE;
const total = Number(process.env.BENCH_TOTAL);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
const send = (message: unknown) => process.send?.(message);

let finish: () => Promise<void> = async () => {};
const seen = (payload: { sentAt?: unknown }) => {
  latencies.push(now() - Number(payload.sentAt));
  if (latencies.length === total) {
    void finish().then(() => {
      send({ kind: 'done', latencies });
      process.disconnect?.();
    });
  }
};

if (side === 'jousting') {
  const worker = createWorker({
    servers: process.env.NATS_URL ?? '',
    token: process.env.BENCH_WORKER_TOKEN ?? '',
    name: 'bench-steady',
    concurrency,
    prefetch: Number(process.env.BENCH_PREFETCH ?? 100),
    logger: createLogger('bench-worker', { level: 'warn' }),
    handlers: {
      noop: async (task) => {
        seen(task.payload);
        return null;
      },
    },
  });
  await worker.start();
  finish = () => worker.stop({ graceMs: 1000, release: true });
} else if (side === 'bullmq') {
  const worker = new Worker(
    process.env.BENCH_QUEUE ?? '',
    async (job) => {
      seen(job.data as { sentAt?: unknown });
      return null;
    },
    {
      connection: {
        host: process.env.REDIS_HOST ?? '127.0.0.1',
        port: Number(process.env.REDIS_PORT ?? 6379),
        maxRetriesPerRequest: null,
      },
      concurrency,
      removeOnComplete: { count: 0 },
    },
  );
  await worker.waitUntilReady();
  finish = () => worker.close();
} else {
  throw new Error(`BENCH_SIDE must be jousting or bullmq, not ${side}`);
}
send({ kind: 'ready' });
