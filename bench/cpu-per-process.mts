// CPU seconds used by nats-server, the coordinator and this process (the SDK worker) for 50,000
// no-op tasks, to see which one bounds throughput. Run: npx tsx bench/cpu-per-process.mts
// BENCH_WORKLOAD=independent (default) | fanin (10,000 × 1 parent + 4 children) | chains (2,500 × 20).
// BENCH_CONCURRENCY (default 100) and BENCH_PREFETCH (default 100) set the SDK worker.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { joustingChains, joustingFanIn, joustingIndependent } from './jousting-workloads.ts';

const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const nats = await startNats({ ...process.env, NATS_URL: '' });
const port = new URL(nats.url).port;
const natsPid = Number(
  readdirSync('/proc').find(
    (p) =>
      /^\d+$/.test(p) &&
      (() => {
        try {
          return (
            readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(port) &&
            readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('nats-server')
          );
        } catch {
          return false;
        }
      })(),
  ),
);
const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const coord = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { LOG_LEVEL: 'warn', JOUSTING_WORKER_TOKEN: workerToken, JOUSTING_DATA_DIR: '/tmp/prof-data' },
});
const nc = await connect({ servers: nats.url });
const bench = { nc, natsUrl: nats.url, workerToken };
await joustingIndependent(bench, 20000);
const pids = { nats: natsPid, coordinator: coord.proc.pid!, bench: process.pid };
const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, ticks(p)]));
const t0 = performance.now();
const workload = process.env.BENCH_WORKLOAD ?? 'independent';
const r =
  workload === 'fanin'
    ? await joustingFanIn(bench, 10_000)
    : workload === 'chains'
      ? await joustingChains(bench, 2_500, 20)
      : await joustingIndependent(bench, 50_000, Number(process.env.BENCH_CONCURRENCY ?? 100));
const wall = (performance.now() - t0) / 1000;
const used = Object.fromEntries(
  Object.entries(pids).map(([k, p]) => [k, +(ticks(p) - before[k]!).toFixed(2)]),
);
console.log(
  workload,
  'tasks/s',
  Math.round(r.perSecond),
  'wall',
  wall.toFixed(2),
  's; cpu seconds',
  used,
  'of',
  (2 * wall).toFixed(2),
  'available',
);
await nc.close();
await coord.stop('SIGTERM');
await nats.stop();
process.exit(0);
