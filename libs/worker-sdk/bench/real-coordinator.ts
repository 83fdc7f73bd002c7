/**
 * No-op tasks end to end through the real coordinator (built, run as a process) and one SDK
 * worker in this process: creates the tasks in batches of 1000, then times the worker.
 *   npm run build && npx tsx libs/worker-sdk/bench/real-coordinator.ts [tasks] [concurrency]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, createLogger } from '@jousting/bus';
import { coordCommands } from '@jousting/contracts';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { createWorker } from '../src/index.js';

const total = Number(process.argv[2] ?? 50_000);
const concurrency = Number(process.argv[3] ?? 200);
const token = 'bench-worker-token';

const nats = await startNats();
const dataDir = mkdtempSync(join(tmpdir(), 'jousting-bench-'));
const coordinator = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { JOUSTING_DATA_DIR: dataDir, JOUSTING_WORKER_TOKEN: token, LOG_LEVEL: 'warn' },
});
const nc = await connect({ servers: nats.url });
const createStart = performance.now();
for (let i = 0; i < total; i += 1000) {
  const n = Math.min(1000, total - i);
  const tasks = Array.from({ length: n }, (_, j) => ({ title: `noop ${i + j}`, kind: 'noop' }));
  await callCommand(nc, coordCommands.createBatch, { tasks, actor: 'bench' }, { timeoutMs: 30_000 });
}
const createSeconds = (performance.now() - createStart) / 1000;

const worker = createWorker({
  servers: nats.url,
  token,
  concurrency,
  handlers: { noop: async () => undefined },
  logger: createLogger('bench', { level: 'warn' }),
});
const started = performance.now();
const cpuBefore = process.cpuUsage();
await worker.start();
while (worker.stats().completed < total) await new Promise((r) => setTimeout(r, 5));
const workerSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
// CPU time of this process (the worker; the coordinator and NATS are other processes) per wall second.
const workerCpuShare = (cpu.user + cpu.system) / 1e6 / workerSeconds;
// The coordinator's own count, to be sure every completion was accepted.
let progress = await callCommand(nc, coordCommands.progress, {});
while ((progress.byStatus.complete ?? 0) < total) {
  await new Promise((r) => setTimeout(r, 20));
  progress = await callCommand(nc, coordCommands.progress, {});
}
const endToEnd = (performance.now() - started) / 1000;
const stats = worker.stats();
console.log(
  JSON.stringify({
    tasks: total,
    concurrency,
    createPerSecond: Math.round(total / createSeconds),
    tasksPerSecond: Math.round(total / endToEnd),
    workerSeconds: Number(workerSeconds.toFixed(2)),
    workerCpuShare: Number(workerCpuShare.toFixed(2)),
    claimRequests: stats.claimRequests,
    reportRequests: stats.reportRequests,
    refused: stats.refused,
  }),
);
await worker.stop();
await nc.close();
await coordinator.stop();
await nats.stop();
rmSync(dataDir, { recursive: true, force: true });
