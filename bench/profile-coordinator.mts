// Writes CPU profiles of the coordinator (main and event thread) under 50,000 no-op tasks to
// /tmp/prof. Run: npx tsx bench/profile-coordinator.mts; open them in Chrome DevTools.
import { randomBytes } from 'node:crypto';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { joustingIndependent } from './jousting-workloads.ts';

const nats = await startNats({ ...process.env, NATS_URL: '' });
const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const coord = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { LOG_LEVEL: 'warn', JOUSTING_WORKER_TOKEN: workerToken, JOUSTING_DATA_DIR: '/tmp/prof-data' },
  nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'],
});
const nc = await connect({ servers: nats.url });
const bench = { nc, natsUrl: nats.url, workerToken };
await joustingIndependent(bench, 20000);
const r = await joustingIndependent(bench, 50000, Number(process.env.BENCH_CONCURRENCY ?? 100));
console.log('independent', Math.round(r.perSecond), 'tasks/s; create phase', r.addSeconds.toFixed(2), 's');
await nc.close();
await coord.stop('SIGTERM');
await nats.stop();
process.exit(0);
