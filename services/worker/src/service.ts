import { hostname } from 'node:os';
import type { ServiceDefinition } from '@jousting/bus';
import { createWorker } from '@jousting/worker-sdk';
import { WorkerConfig } from './config.js';
import { runExecTask } from './exec-task.js';
import { readWorkerToken } from './worker-token.js';

export const WORKER_VERSION = '0.1.0';

/** The reference worker: runs `exec` tasks claimed from the coordinator. */
export const workerService: ServiceDefinition<typeof WorkerConfig> = {
  name: 'worker',
  version: WORKER_VERSION,
  description: 'Runs exec tasks from the coordinator',
  config: WorkerConfig,
  async start(ctx) {
    const { config } = ctx;
    const token =
      config.JOUSTING_WORKER_TOKEN ?? (await readWorkerToken(config.JOUSTING_DATA_DIR, ctx.logger));
    const worker = createWorker({
      nc: ctx.nc,
      token,
      workerId: config.WORKER_ID,
      name: config.WORKER_NAME ?? hostname(),
      version: `@jousting/worker ${WORKER_VERSION}`,
      kinds: ['exec'],
      labels: config.WORKER_LABELS,
      concurrency: config.WORKER_CONCURRENCY,
      prefetch: config.WORKER_PREFETCH,
      handlers: { exec: runExecTask },
      logger: ctx.logger,
    });
    await worker.start();
    return {
      endpoints: [],
      // Alive but of no use while the coordinator has not answered our hello.
      status: () => (worker.stats().registered ? 'ok' : 'degraded'),
      stop: () => worker.stop({ graceMs: config.WORKER_DRAIN_SECONDS * 1000, release: true }),
    };
  },
  // Running tasks get WORKER_DRAIN_SECONDS to finish, then their processes get time to die.
  shutdownTimeoutMs: (config) => workerStopDeadlineMs(config.WORKER_DRAIN_SECONDS),
};

/** How long stopping a worker may take: the drain, then killing and releasing what is left. */
export const workerStopDeadlineMs = (drainSeconds: number) => drainSeconds * 1000 + 20_000;
