// Jousting vs BullMQ, side by side in one run on this machine.
// Run: npm run bench:tasks   (needs Redis on 127.0.0.1:6379 for the BullMQ side; nats-server for ours)
// Sizes: BENCH_TASKS (50000), BENCH_FAMILIES (10000), BENCH_CHAINS (1000) x 20 levels,
// BENCH_RATE (1000/s) for BENCH_STEADY_SECONDS (10), BENCH_HELD (100000); BENCH_WARMUP (10000)
// independent tasks through each side first, so neither is measured with cold JIT.
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { startStack } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { bullmqChains, bullmqFanIn, bullmqIndependent, bullmqSteadyLatency } from './bullmq-workloads.js';
import {
  type JoustingBench,
  joustingChains,
  joustingFanIn,
  joustingIndependent,
  joustingLayeredDag,
  joustingMemoryPerTask,
  joustingSteadyLatency,
} from './jousting-workloads.js';
import { percentile } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TASKS = env('BENCH_TASKS', 50_000);
const FAMILIES = env('BENCH_FAMILIES', 10_000);
const CHAINS = env('BENCH_CHAINS', 1000);
const DEPTH = 20;
const RATE = env('BENCH_RATE', 1000);
const STEADY_SECONDS = env('BENCH_STEADY_SECONDS', 10);
const HELD = env('BENCH_HELD', 100_000);
const WARMUP = env('BENCH_WARMUP', 10_000);

const pct = (values: number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
const rate = (r: { perSecond: number }) => Math.round(r.perSecond).toLocaleString('en-US');

const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const stack = await startStack({
  services: ['coordinator'],
  env: { LOG_LEVEL: 'warn', JOUSTING_WORKER_TOKEN: workerToken },
});
const nc = await connect({ servers: stack.nats.url });
const bench: JoustingBench = { nc, natsUrl: stack.nats.url, workerToken };
const rows: string[][] = [];
const log = (line: string) => console.error(line);
const addRow = (row: string[]) => {
  rows.push(row);
  log(`  | ${row.join(' | ')} |`);
};

try {
  if (WARMUP > 0) {
    log(`warm-up: ${WARMUP} independent tasks each, not measured`);
    await joustingIndependent(bench, WARMUP);
    await bullmqIndependent(WARMUP);
  }
  log(`independent: ${TASKS} no-op tasks`);
  const ji = await joustingIndependent(bench, TASKS);
  const bi = await bullmqIndependent(TASKS);
  addRow([
    `${TASKS.toLocaleString('en-US')} independent no-op tasks, end to end`,
    rate(ji),
    rate(bi),
    (ji.perSecond / bi.perSecond).toFixed(2),
  ]);

  log(`fan-in: ${FAMILIES} × (1 parent + 4 children)`);
  const jf = await joustingFanIn(bench, FAMILIES);
  const bf = await bullmqFanIn(FAMILIES);
  addRow([
    `${FAMILIES.toLocaleString('en-US')} × (1 parent waiting on 4 children)`,
    rate(jf),
    rate(bf),
    (jf.perSecond / bf.perSecond).toFixed(2),
  ]);

  log(`chains: ${CHAINS} × ${DEPTH} levels`);
  const jc = await joustingChains(bench, CHAINS, DEPTH);
  const bc = await bullmqChains(CHAINS, DEPTH);
  addRow([
    `${CHAINS.toLocaleString('en-US')} chains × ${DEPTH} levels`,
    rate(jc),
    rate(bc),
    (jc.perSecond / bc.perSecond).toFixed(2),
  ]);

  log('layered DAG: 20 levels × 1000, two deps each (no BullMQ equivalent: flows are trees)');
  const jd = await joustingLayeredDag(bench, DEPTH, 1000);
  addRow([`layered DAG, ${DEPTH} levels × 1,000, 2 deps per task`, rate(jd), 'n/a (flows are trees)', '']);

  log(`steady ${RATE}/s for ${STEADY_SECONDS} s`);
  const jl = await joustingSteadyLatency(bench, RATE, STEADY_SECONDS);
  const bl = await bullmqSteadyLatency(RATE, STEADY_SECONDS);
  const lat = (v: number[]) => `p50 ${pct(v, 50).toFixed(2)} / p99 ${pct(v, 99).toFixed(2)} ms`;
  addRow([`create → worker start at a steady ${RATE}/s`, lat(jl), lat(bl), '']);

  log(`memory: ${HELD} held tasks`);
  const pid = stack.services.coordinator?.proc.pid;
  if (!pid) throw new Error('no coordinator pid');
  const mem = await joustingMemoryPerTask(bench, pid, HELD);
  addRow([
    `coordinator RSS per held task (${HELD.toLocaleString('en-US')} pending tasks)`,
    `${Math.round(mem.bytesPerTask)} B`,
    '',
    '',
  ]);
} finally {
  await nc.close();
  await stack.stop();
}

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`,
);
console.log('| workload | Jousting (tasks/s) | BullMQ 5 (tasks/s) | ratio |');
console.log('| --- | --- | --- | --- |');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
process.exit(0);
