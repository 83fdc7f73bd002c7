/**
 * Create → worker-has-it latency of the built coordinator at a steady rate (default 1,000
 * tasks/s for 10 s): the time from sending a create until a long-polling claim returns the task.
 * That includes the create's journal write, so it bounds ready → worker-start from above.
 *   npx tsc -b services/coordinator && npx tsx services/coordinator/scripts/latency.ts
 */
import { callCommand } from '@jousting/bus';
import { coordCommands, WORKER_TOKEN_HEADER, workerCommands } from '@jousting/contracts';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';

const RATE = Number(process.env.RATE ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const TOKEN = 'jsw_latency';
const nats = await startNats();
const coordinator = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { JOUSTING_WORKER_TOKEN: TOKEN, JOUSTING_DATA_DIR: '/tmp/coord-latency', LOG_LEVEL: 'warn' },
});
const producer = await connect({ servers: nats.url });
const workerNc = await connect({ servers: nats.url });
const headers = { [WORKER_TOKEN_HEADER]: TOKEN };
await callCommand(
  workerNc,
  workerCommands.hello,
  { workerId: 'lat', name: 'lat', kinds: ['noop'], capacity: 10_000 },
  { headers },
);

const sentAt = new Map<string, number>();
const latencies: number[] = [];
const total = RATE * SECONDS;
let running = true;
const claimer = async () => {
  while (running) {
    const { tasks } = await callCommand(
      workerNc,
      workerCommands.claim,
      { workerId: 'lat', max: 100, waitMs: 1000 },
      { headers, timeoutMs: 5000 },
    );
    const now = performance.now();
    for (const t of tasks) latencies.push(now - sentAt.get(t.taskId)!);
    if (tasks.length) {
      void callCommand(
        workerNc,
        workerCommands.report,
        {
          workerId: 'lat',
          reports: tasks.map((t) => ({ type: 'completed' as const, taskId: t.taskId, attempt: t.attempt })),
        },
        { headers },
      );
    }
  }
};
const claimers = [claimer(), claimer()];
const start = performance.now();
const creates: Promise<unknown>[] = [];
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const id = `lat-${i}`;
  sentAt.set(id, performance.now());
  creates.push(
    callCommand(producer, coordCommands.create, { task: { id, title: id, kind: 'noop' }, actor: 'bench' }),
  );
}
await Promise.all(creates);
while (latencies.length < total) await new Promise((r) => setTimeout(r, 50));
running = false;
await Promise.all(claimers);
latencies.sort((a, b) => a - b);
const pct = (p: number) => Math.round(latencies[Math.floor((latencies.length - 1) * p)]! * 100) / 100;
console.log(
  JSON.stringify({ rate: RATE, tasks: total, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: pct(1) }),
);
await producer.close();
await workerNc.close();
await coordinator.stop();
await nats.stop();
