// Create → worker-start latency at a steady 1,000 tasks/s while the coordinator holds a big
// table (BENCH_HELD_TASKS, default 150,000) and snapshots fall inside the window
// (COORD_SNAPSHOT_INTERVAL_MS=2000). Run after `npm run build`: npx tsx bench/snapshot-latency.mts
// BENCH_COORD_NODE_ARGS adds Node flags to the coordinator (e.g. "--max-semi-space-size=32").
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { joustingIndependent, joustingSteadyLatency } from './jousting-workloads.ts';
import { percentile } from './stats.ts';

const HELD = Number(process.env.BENCH_HELD_TASKS ?? 150_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
const nats = await startNats({ ...process.env, NATS_URL: '' });
const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const coord = await launchService('coordinator', {
  natsUrl: nats.url,
  nodeArgs: [
    ...(process.env.BENCH_TRACE_GC ? ['--trace-gc'] : []),
    ...(process.env.BENCH_COORD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ],
  env: {
    LOG_LEVEL: process.env.BENCH_COORD_LOG ?? 'warn',
    JOUSTING_WORKER_TOKEN: workerToken,
    JOUSTING_DATA_DIR: '/tmp/snap-lat-data',
    COORD_SNAPSHOT_INTERVAL_MS: process.env.COORD_SNAPSHOT_INTERVAL_MS ?? '2000',
  },
});
const nc = await connect({ servers: nats.url });
const bench = { nc, natsUrl: nats.url, workerToken };
for (let done = 0; done < HELD; done += 50_000)
  await joustingIndependent(bench, Math.min(50_000, HELD - done));
for (let run = 1; run <= Number(process.env.BENCH_RUNS ?? 1); run++) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const lat = (await joustingSteadyLatency(bench, RATE, SECONDS)).sort((a, b) => a - b);
  loop.disable();
  console.log(
    `benchmark process event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`,
  );
  console.log(
    `held ${HELD}, ${RATE}/s for ${SECONDS} s: p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, p99.9 ${percentile(lat, 99.9).toFixed(2)} ms, max ${lat[lat.length - 1]!.toFixed(2)} ms`,
  );
}
if (process.env.BENCH_COORD_OUTPUT) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.BENCH_COORD_OUTPUT, coord.output());
}
await nc.close();
await coord.stop('SIGTERM');
await nats.stop();
process.exit(0);
