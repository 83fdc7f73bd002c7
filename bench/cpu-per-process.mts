// CPU seconds each process uses for the same no-op workload on both sides: nats-server, the
// coordinator and this process (producer + SDK worker) for Jousting; redis-server and this
// process (producer + BullMQ Worker) for BullMQ. On a machine whose cores are all busy, CPU per
// task is what bounds tasks/s. Run: npx tsx bench/cpu-per-process.mts
// BENCH_WORKLOAD=independent (default, 50,000 tasks) | fanin (10,000 × 1 parent + 4 children) |
// chains (2,500 × 20). BENCH_CONCURRENCY (default 100) and BENCH_PREFETCH (default 100) set the
// SDK worker; BENCH_BULLMQ=false leaves BullMQ out; BENCH_COORD_NODE_ARGS adds Node flags to the
// coordinator.
import { randomBytes } from 'node:crypto';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { bullmqChains, bullmqFanIn, bullmqIndependent, REDIS_PORT } from './bullmq-workloads.ts';
import { joustingChains, joustingFanIn, joustingIndependent } from './jousting-workloads.ts';
import { cpuDuring, findPid } from './proc-cpu.ts';

const workload = process.env.BENCH_WORKLOAD ?? 'independent';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
/** Every workload runs 50,000 tasks. */
const TASKS = 50_000;
if (!['independent', 'fanin', 'chains'].includes(workload))
  throw new Error(`BENCH_WORKLOAD must be independent, fanin or chains, not ${workload}`);

function report(
  side: string,
  run: { result: { perSecond: number }; wallSeconds: number; cpu: Record<string, number> },
) {
  const total = Object.values(run.cpu).reduce((a, b) => a + b, 0);
  console.log(
    `${side} ${workload}: ${Math.round(run.result.perSecond)} tasks/s, wall ${run.wallSeconds.toFixed(2)} s;`,
    `cpu seconds ${JSON.stringify(run.cpu)} = ${total.toFixed(2)} of ${(2 * run.wallSeconds).toFixed(2)} available;`,
    `${Math.round((total / TASKS) * 1e6)} µs per task`,
  );
}

const nats = await startNats({ ...process.env, NATS_URL: '' });
const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const coord = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { LOG_LEVEL: 'warn', JOUSTING_WORKER_TOKEN: workerToken, JOUSTING_DATA_DIR: '/tmp/prof-data' },
  nodeArgs: process.env.BENCH_COORD_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
});
const nc = await connect({ servers: nats.url });
const bench = { nc, natsUrl: nats.url, workerToken };
await joustingIndependent(bench, 20000);
const jousting = await cpuDuring(
  { nats: findPid('nats-server', new URL(nats.url).port), coordinator: coord.proc.pid!, bench: process.pid },
  () =>
    workload === 'fanin'
      ? joustingFanIn(bench, 10_000)
      : workload === 'chains'
        ? joustingChains(bench, 2_500, 20)
        : joustingIndependent(bench, 50_000, concurrency),
);
report('jousting', jousting);
await nc.close();
await coord.stop('SIGTERM');
await nats.stop();

if (process.env.BENCH_BULLMQ !== 'false') {
  await bullmqIndependent(20000);
  const bullmq = await cpuDuring(
    { redis: findPid('redis-server', `:${REDIS_PORT}`), bench: process.pid },
    () =>
      workload === 'fanin'
        ? bullmqFanIn(10_000)
        : workload === 'chains'
          ? bullmqChains(2_500, 20)
          : bullmqIndependent(50_000, concurrency),
  );
  report('bullmq', bullmq);
}
process.exit(0);
