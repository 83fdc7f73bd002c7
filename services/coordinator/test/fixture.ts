import { callCommand, createLogger, type RunningService, startService } from '@jousting/bus';
import { type Command, WORKER_TOKEN_HEADER } from '@jousting/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import type { Coordinator } from '../src/coordinator.js';
import { createCoordinatorService } from '../src/service.js';

/** The worker token the coordinators of these tests are started with. */
export const WORKER_TOKEN = 'jsw_test_token_for_workers';
const logger = createLogger('coordinator-test', { level: 'silent' });

/**
 * Starts the coordinator in this process against a real NATS server. Snapshots happen only when a
 * test asks (none on a timer, none at stop), so a restart rebuilds from the last explicit
 * snapshot plus the journal after it. Returns the running service and the coordinator inside it.
 */
export async function startTestCoordinator(opts: {
  natsUrl: string;
  dataDir: string;
  env?: Record<string, string>;
}): Promise<{ service: RunningService; coordinator: Coordinator }> {
  let coordinator: Coordinator | undefined;
  const service = await startService(
    createCoordinatorService({
      onStarted: (c) => {
        coordinator = c;
      },
      onFatal: (err) => {
        throw err;
      },
    }),
    {
      env: {
        NATS_URL: opts.natsUrl,
        JOUSTING_DATA_DIR: opts.dataDir,
        JOUSTING_WORKER_TOKEN: WORKER_TOKEN,
        COORD_SNAPSHOT_INTERVAL_MS: '3600000',
        COORD_SNAPSHOT_ON_STOP: 'false',
        // Tests that fail attempts on purpose must not trip the circuit breaker unless they mean to.
        COORD_CIRCUIT_FAILURES: '1000',
        ...opts.env,
      },
      logger,
    },
  );
  if (!coordinator) throw new Error('the coordinator did not report itself started');
  return { service, coordinator };
}

/** A worker-protocol request carrying the test worker token. */
export const workerCall = <C extends Command>(
  nc: NatsConnection,
  command: C,
  request: z.input<C['request']>,
  timeoutMs = 5000,
) => callCommand(nc, command, request, { headers: { [WORKER_TOKEN_HEADER]: WORKER_TOKEN }, timeoutMs });

/** Resolves with the first truthy value of `probe` (awaited when a promise), polling every 10 ms. */
export async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
