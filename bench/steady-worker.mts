// The worker of the steady-latency workloads, in its own process as production workers are, so
// the benchmark's create client and the worker do not share one event loop. Started by
// measureSteadyLatency (bench/steady-worker-process.ts) with fork(); not run by hand.
// Each task's payload carries `sentAt` (wallNow() in the producer): both processes read the same
// system clock, so the difference is the latency.
import { createBullmqWorker } from './bullmq-workloads.ts';
import { createBenchWorker } from './jousting-workloads.ts';
import { wallNow } from './steady-worker-process.ts';

const side = process.env.BENCH_SIDE;
const total = Number(process.env.BENCH_TOTAL);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
const latencies: number[] = [];
const send = (message: unknown) => process.send?.(message);

let finish: () => Promise<void> = async () => {};
const seen = (payload: { sentAt?: unknown }) => {
  latencies.push(wallNow() - Number(payload.sentAt));
  if (latencies.length === total) {
    void finish().then(() => {
      send({ kind: 'done', latencies });
      process.disconnect?.();
    });
  }
};

if (side === 'jousting') {
  const worker = createBenchWorker(
    process.env.NATS_URL ?? '',
    process.env.BENCH_WORKER_TOKEN ?? '',
    concurrency,
    seen,
  );
  await worker.start();
  finish = () => worker.stop({ graceMs: 1000, release: true });
} else if (side === 'bullmq') {
  const worker = createBullmqWorker(process.env.BENCH_QUEUE ?? '', concurrency, seen);
  await worker.waitUntilReady();
  finish = () => worker.close();
} else {
  throw new Error(`BENCH_SIDE must be jousting or bullmq, not ${side}`);
}
send({ kind: 'ready' });
