/**
 * Rough end-to-end throughput of the built coordinator (a real process) with a raw in-script
 * worker: N no-op tasks created in batches of 1,000, claimed and completed in batches. The
 * proper comparison against BullMQ lives in bench/; this is for quick checks while developing.
 *   npx tsc -b services/coordinator && npx tsx services/coordinator/scripts/throughput.ts
 */
import { callCommand } from '@jousting/bus';
import { coordCommands, WORKER_TOKEN_HEADER, workerCommands } from '@jousting/contracts';
import { launchService, startNats } from '@jousting/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const TASKS = Number(process.env.TASKS ?? 50_000);
const CLAIMERS = Number(process.env.CLAIMERS ?? 4);
const TOKEN = 'jsw_throughput';
// With COORD_EXTERNAL=1 the coordinator is already running on NATS_URL (e.g. under a profiler).
const external = process.env.COORD_EXTERNAL === '1';
const nats = external ? { url: process.env.NATS_URL!, stop: async () => {} } : await startNats();
const coordinator = external
  ? { stop: async () => {} }
  : await launchService('coordinator', {
      natsUrl: nats.url,
      env: { JOUSTING_WORKER_TOKEN: TOKEN, JOUSTING_DATA_DIR: '/tmp/coord-throughput', LOG_LEVEL: 'warn' },
    });
const producer = await connect({ servers: nats.url });
const workerNc = await connect({ servers: nats.url });
const headers = { [WORKER_TOKEN_HEADER]: TOKEN };
await callCommand(
  workerNc,
  workerCommands.hello,
  { workerId: 'tp', name: 'tp', kinds: ['noop'], capacity: 4000 },
  { headers },
);

let completed = 0;
const started = performance.now();
const produce = async () => {
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < TASKS; i += 1000) {
    inFlight.push(
      callCommand(
        producer,
        coordCommands.createBatch,
        {
          tasks: Array.from({ length: 1000 }, (_, j) => ({ title: `noop ${i + j}`, kind: 'noop' })),
          actor: 'bench',
        },
        { timeoutMs: 30_000 },
      ),
    );
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return performance.now() - started;
};
const work = async () => {
  while (completed < TASKS) {
    const { tasks } = await callCommand(
      workerNc,
      workerCommands.claim,
      { workerId: 'tp', max: 1000, waitMs: 200 },
      { headers, timeoutMs: 10_000 },
    );
    if (!tasks.length) continue;
    const { results } = await callCommand(
      workerNc,
      workerCommands.report,
      {
        workerId: 'tp',
        reports: tasks.flatMap((t) => [
          { type: 'started' as const, taskId: t.taskId, attempt: t.attempt },
          { type: 'completed' as const, taskId: t.taskId, attempt: t.attempt },
        ]),
      },
      { headers, timeoutMs: 10_000 },
    );
    completed += results.filter((r) => r.ok).length / 2;
  }
};
const [createMs] = await Promise.all([produce(), ...Array.from({ length: CLAIMERS }, work)]);
const totalMs = performance.now() - started;
// Every status change is an event: 4 per task plus the all-complete (and the creates).
const jsm = await jetstreamManager(producer);
let stored = 0;
for (let i = 0; i < 50; i++) {
  stored = (await jsm.streams.info('EVENTS')).state.messages;
  if (stored >= TASKS * 4 + 1) break;
  await new Promise((r) => setTimeout(r, 100));
}
console.log(
  JSON.stringify({
    tasks: TASKS,
    createdPerSecond: Math.round(TASKS / (createMs / 1000)),
    endToEndPerSecond: Math.round(TASKS / (totalMs / 1000)),
    seconds: Math.round(totalMs) / 1000,
    eventsStored: stored,
  }),
);
await producer.close();
await workerNc.close();
await coordinator.stop();
await nats.stop();
