/**
 * 50,000 no-op tasks through the SDK against the in-memory fake coordinator on a real NATS
 * server: how fast the worker side goes when the coordinator is not the limit.
 *   npx tsc -b libs/worker-sdk libs/testing && npx tsx libs/worker-sdk/bench/noop-throughput.ts [tasks] [concurrency]
 */
import { createLogger } from '@jousting/bus';
import { startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { createWorker } from '../src/index.js';
import { FakeCoordinator } from '../test/fake-coordinator.js';

const total = Number(process.argv[2] ?? 50_000);
const concurrency = Number(process.argv[3] ?? 200);

const nats = await startNats();
const coordNc = await connect({ servers: nats.url });
const coord = new FakeCoordinator(coordNc, { leaseMs: 60_000, token: 'bench' });
await coord.start();
const ids = coord.add(total);
const worker = createWorker({
  servers: nats.url,
  token: 'bench',
  concurrency,
  handlers: { exec: async () => undefined },
  logger: createLogger('bench', { level: 'warn' }),
});
const started = performance.now();
await worker.start();
const last = ids.at(-1) as string;
const allDone = () => ids.every((id) => coord.task(id).status === 'complete');
while (coord.task(last).status !== 'complete' || !allDone()) await new Promise((r) => setTimeout(r, 5));
const seconds = (performance.now() - started) / 1000;
const stats = worker.stats();
console.log(
  JSON.stringify({
    tasks: total,
    concurrency,
    seconds: Number(seconds.toFixed(2)),
    tasksPerSecond: Math.round(total / seconds),
    claimRequests: stats.claimRequests,
    reportRequests: stats.reportRequests,
    reportsPerRequest: Math.round(coord.reports.length / stats.reportRequests),
  }),
);
await worker.stop();
await coord.stop();
await coordNc.close();
await nats.stop();
