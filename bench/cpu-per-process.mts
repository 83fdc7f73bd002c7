// CPU seconds each process uses for the same no-op workload on both sides: nats-server, the
// coordinator and this process (producer + SDK worker) for Jousting; redis-server and this
// process (producer + BullMQ Worker) for BullMQ. On a machine whose cores are all busy, CPU per
// task is what bounds tasks/s. Run: npx tsx bench/cpu-per-process.mts
// BENCH_WORKLOAD=independent (default, 50,000 tasks) | fanin (10,000 × 1 parent + 4 children) |
// chains (2,500 × 20). BENCH_CONCURRENCY (default 100) and BENCH_PREFETCH (default 100) set the
// SDK worker; the coordinator's CPU is also split by thread. BENCH_BULLMQ=false leaves BullMQ
// out; BENCH_COORD_NODE_ARGS adds Node flags to the coordinator.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { bullmqChains, bullmqFanIn, bullmqIndependent, REDIS_PORT } from './bullmq-workloads.ts';
import {
  type JoustingBench,
  joustingChains,
  joustingFanIn,
  joustingIndependent,
} from './jousting-workloads.ts';
import { cpuDuring, findPid, nodeThreadSplit, threadCpuSeconds } from './proc-cpu.ts';

const workload = process.env.BENCH_WORKLOAD ?? 'independent';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
const cores = availableParallelism();
/** Each workload runs 50,000 tasks on both sides. */
const TASKS = 50_000;
const workloads = {
  independent: {
    jousting: (bench: JoustingBench) => joustingIndependent(bench, TASKS, concurrency),
    bullmq: () => bullmqIndependent(TASKS, concurrency),
  },
  fanin: {
    jousting: (bench: JoustingBench) => joustingFanIn(bench, TASKS / 5),
    bullmq: () => bullmqFanIn(TASKS / 5),
  },
  chains: {
    jousting: (bench: JoustingBench) => joustingChains(bench, TASKS / 20, 20),
    bullmq: () => bullmqChains(TASKS / 20, 20),
  },
};
if (!(workload in workloads))
  throw new Error(`BENCH_WORKLOAD must be one of ${Object.keys(workloads).join(', ')}, not ${workload}`);
const run = workloads[workload as keyof typeof workloads];

function report(
  side: string,
  measured: { result: { perSecond: number }; wallSeconds: number; cpu: Record<string, number> },
) {
  const total = Object.values(measured.cpu).reduce((a, b) => a + b, 0);
  console.log(
    `${side} ${workload}: ${Math.round(measured.result.perSecond)} tasks/s, wall ${measured.wallSeconds.toFixed(2)} s;`,
    `cpu seconds ${JSON.stringify(measured.cpu)} = ${total.toFixed(2)} of ${(cores * measured.wallSeconds).toFixed(2)} available;`,
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
const coordThreadsBefore = threadCpuSeconds(coord.proc.pid!);
const jousting = await cpuDuring(
  { nats: findPid('nats-server', new URL(nats.url).port), coordinator: coord.proc.pid!, bench: process.pid },
  () => run.jousting(bench),
);
report('jousting', jousting);
const split = nodeThreadSplit(coord.proc.pid!, coordThreadsBefore, threadCpuSeconds(coord.proc.pid!));
console.log(
  `  coordinator threads: main ${split.main}, event thread ${split.busiestOther}, V8 and libuv helpers ${split.rest} CPU-s`,
);
await nc.close();
await coord.stop('SIGTERM');
await nats.stop();

if (process.env.BENCH_BULLMQ !== 'false') {
  await bullmqIndependent(20000);
  const bullmq = await cpuDuring(
    { redis: findPid('redis-server', `:${REDIS_PORT}`), bench: process.pid },
    () => run.bullmq(),
  );
  report('bullmq', bullmq);
}
process.exit(0);
