import {
  callCommand,
  endpoint,
  type HandlerContext,
  type Logger,
  type NatsConnection,
  type ServiceDefinition,
  subscribeEvents,
} from '@jousting/bus';
import {
  coordCommands,
  DEFAULT_SETTINGS,
  EVENT_DATA,
  settingsCommands,
  WORKER_TOKEN_HEADER,
  workerCommands,
} from '@jousting/contracts';
import { z } from 'zod';
import { Coordinator } from './coordinator.js';
import { DEFAULT_BACKOFF } from './retry-policy.js';
import { CoordinatorStore } from './store.js';
import { loadWorkerToken, workerTokenCheck } from './worker-token.js';

export const COORDINATOR_VERSION = '0.1.0';

/** Environment variables of the coordinator (on top of NATS_URL, LOG_LEVEL, JOUSTING_DATA_DIR). */
export const CoordinatorConfig = z.object({
  COORD_LEASE_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  // Empty counts as unset, as compose passes `${JOUSTING_WORKER_TOKEN:-}` through.
  JOUSTING_WORKER_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional()),
  COORD_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  COORD_SNAPSHOT_EVERY_OPS: z.coerce.number().int().min(100).default(500_000),
  /** A snapshot on graceful stop makes the next start quick; `false` leaves it to the journal. */
  COORD_SNAPSHOT_ON_STOP: z.enum(['true', 'false']).default('true'),
  /** Publish events from a worker thread (default) or on the main thread. */
  COORD_EVENT_THREAD: z.enum(['true', 'false']).default('true'),
  /** Wait before the first retry of a failed task; each further retry waits 4× longer. */
  COORD_RETRY_BASE_MS: z.coerce.number().int().min(1).default(DEFAULT_BACKOFF.baseMs),
  /** Longest wait between retries (before ±20 % jitter). */
  COORD_RETRY_MAX_MS: z.coerce.number().int().min(1).default(DEFAULT_BACKOFF.maxMs),
});

export interface CoordinatorServiceOptions {
  /** The journal cannot be written: default logs and exits 1 so the supervisor restarts us. */
  onFatal?: (err: Error) => void;
  /** Receives the running coordinator (tests). */
  onStarted?: (coordinator: Coordinator) => void;
}

/** Task queue, DAG and dispatch: the single writer of the coordinator journal. */
export function createCoordinatorService(
  opts: CoordinatorServiceOptions = {},
): ServiceDefinition<typeof CoordinatorConfig> {
  return {
    name: 'coordinator',
    version: COORDINATOR_VERSION,
    description: 'Task queue, dependencies and dispatch to workers',
    config: CoordinatorConfig,
    async start(ctx) {
      const { config, logger } = ctx;
      const store = await CoordinatorStore.open(ctx.js, ctx.jsm);
      const checkToken = workerTokenCheck(
        await loadWorkerToken({
          envToken: config.JOUSTING_WORKER_TOKEN,
          dataDir: config.JOUSTING_DATA_DIR,
          logger,
        }),
      );
      // Settings changes apply without a restart. Subscribed before the settings are read, so a
      // change in between is not lost; one made while we are down is read at the next start.
      let changed: { maxTaskRetries: number; actor: string } | undefined;
      let running: Coordinator | undefined;
      const settingsChanged = subscribeEvents(
        ctx.nc,
        'settings.changed',
        (event) => {
          const data = EVENT_DATA['settings.changed'].safeParse(event.data);
          if (!data.success) return;
          const { settings, actor } = data.data;
          if (running) running.reconfigure(settings, actor);
          else changed = { maxTaskRetries: settings.maxTaskRetries, actor };
        },
        logger,
      );
      const maxTaskRetries = await readMaxTaskRetries(ctx.nc, logger);
      const coordinator = new Coordinator({
        maxTaskRetries,
        backoff: {
          ...DEFAULT_BACKOFF,
          baseMs: config.COORD_RETRY_BASE_MS,
          maxMs: config.COORD_RETRY_MAX_MS,
        },
        store,
        nc: ctx.nc,
        events: ctx.events,
        audit: ctx.audit,
        logger,
        instanceId: ctx.instanceId,
        leaseMs: config.COORD_LEASE_MS,
        snapshotIntervalMs: config.COORD_SNAPSHOT_INTERVAL_MS,
        snapshotEveryOps: config.COORD_SNAPSHOT_EVERY_OPS,
        snapshotOnStop: config.COORD_SNAPSHOT_ON_STOP === 'true',
        ...(config.COORD_EVENT_THREAD === 'true'
          ? { eventThread: { servers: config.NATS_URL, name: ctx.instanceId } }
          : {}),
        onFatal:
          opts.onFatal ??
          (() => {
            // Memory may now be ahead of the journal: never keep serving from it.
            process.exit(1);
          }),
      });
      try {
        await coordinator.start();
      } catch (err) {
        settingsChanged.unsubscribe();
        throw err;
      }
      running = coordinator;
      if (changed) coordinator.reconfigure({ maxTaskRetries: changed.maxTaskRetries }, changed.actor);
      opts.onStarted?.(coordinator);
      const worker = (ctx: HandlerContext) => checkToken(ctx.header(WORKER_TOKEN_HEADER));
      const c = coordinator;
      // Hot paths answer with objects built from validated state; callers still parse them.
      const hot = { checkReply: false };
      return {
        endpoints: [
          endpoint(
            coordCommands.create,
            async (req, ctx) => {
              const r = await c.create([req.task], {
                ...(req.idempotencyKey === undefined ? {} : { idempotencyKey: req.idempotencyKey }),
                actor: req.actor,
                traceId: req.traceId ?? ctx.traceId,
                batch: false,
              });
              return { task: r.tasks[0]!, created: r.created };
            },
            hot,
          ),
          endpoint(
            coordCommands.createBatch,
            (req, ctx) =>
              c.create(req.tasks, {
                ...(req.idempotencyKey === undefined ? {} : { idempotencyKey: req.idempotencyKey }),
                actor: req.actor,
                traceId: req.traceId ?? ctx.traceId,
                batch: true,
              }),
            hot,
          ),
          endpoint(coordCommands.get, (req) => c.get(req.id)),
          endpoint(coordCommands.list, async (req) => c.list(req)),
          endpoint(coordCommands.update, (req, ctx) =>
            c.update(req.id, req.patch, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordCommands.cancel, (req, ctx) =>
            c.cancel(req.id, req.reason, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordCommands.retry, (req, ctx) => c.retry(req.id, req.actor, req.traceId ?? ctx.traceId)),
          endpoint(coordCommands.addDep, (req, ctx) =>
            c.addDep(req.id, req.depId, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordCommands.removeDep, (req, ctx) =>
            c.removeDep(req.id, req.depId, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordCommands.graph, async () => c.graph()),
          endpoint(coordCommands.progress, async () => c.progressReport()),
          endpoint(coordCommands.workers, async () => ({ items: c.workerList() })),
          endpoint(coordCommands.deadLetters, async (req) => c.deadLetters(req)),
          endpoint(coordCommands.deadLetterRetry, (req, ctx) =>
            c.retryDeadLetter(
              req.id,
              {
                ...(req.priority === undefined ? {} : { priority: req.priority }),
                ...(req.labels === undefined ? {} : { labels: req.labels }),
              },
              req.actor,
              req.traceId ?? ctx.traceId,
            ),
          ),
          endpoint(coordCommands.deadLetterDismiss, (req, ctx) =>
            c.dismissDeadLetter(req.id, req.reason, req.actor, req.traceId ?? ctx.traceId),
          ),

          endpoint(workerCommands.hello, async (req, ctx) => {
            worker(ctx);
            return c.hello(req);
          }),
          endpoint(
            workerCommands.claim,
            async (req, ctx) => {
              worker(ctx);
              return c.claim(req.workerId, req.max, req.waitMs);
            },
            hot,
          ),
          endpoint(
            workerCommands.report,
            async (req, ctx) => {
              worker(ctx);
              return c.report(req.workerId, req.reports);
            },
            hot,
          ),
          endpoint(workerCommands.bye, async (req, ctx) => {
            worker(ctx);
            return c.bye(req.workerId, req.release);
          }),
        ],
        status: () => 'ok',
        stop: async () => {
          settingsChanged.unsubscribe();
          await coordinator.stop();
        },
      };
    },
  };
}

export const coordinatorService = createCoordinatorService();

/** maxTaskRetries from the settings service; its default when the service does not answer. */
async function readMaxTaskRetries(nc: NatsConnection, logger: Logger): Promise<number> {
  try {
    const { settings } = await callCommand(nc, settingsCommands.get, {}, { timeoutMs: 2000 });
    return settings.maxTaskRetries;
  } catch (err) {
    logger.warn(
      { err, maxTaskRetries: DEFAULT_SETTINGS.maxTaskRetries },
      'settings service did not answer; using the default retry limit until settings change',
    );
    return DEFAULT_SETTINGS.maxTaskRetries;
  }
}
