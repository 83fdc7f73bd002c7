import {
  callCommand,
  endpoint,
  type HandlerContext,
  LeaderLease,
  type Logger,
  type NatsConnection,
  openKv,
  type ServiceDefinition,
  subscribeEvents,
} from '@jousting/bus';
import {
  coordCommands,
  coordPolicyCommands,
  DEFAULT_SETTINGS,
  EVENT_DATA,
  settingsCommands,
  WORKER_TOKEN_HEADER,
  workerCommands,
  workerPolicyCommands,
} from '@jousting/contracts';
import { z } from 'zod';
import { Coordinator, type PolicySettings } from './coordinator.js';
import { DEFAULT_BACKOFF } from './retry-policy.js';
import { COORD_LEADER_BUCKET, CoordinatorStore } from './store.js';
import { loadWorkerToken, workerTokenCheck } from './worker-token.js';

export const COORDINATOR_VERSION = '0.1.0';

/** Environment variables of the coordinator (on top of NATS_URL, LOG_LEVEL, JOUSTING_DATA_DIR). */
export const CoordinatorConfig = z.object({
  COORD_LEASE_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  /** One coordinator writes; replicas stand by and take over this long after it stops renewing. */
  COORD_LEADER_LEASE_MS: z.coerce.number().int().min(200).max(600_000).default(5000),
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
  /** How long a worker whose last attempts failed is skipped before a trial task. */
  COORD_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(1).default(30_000),
  /** Consecutive failed attempts that open a worker's circuit. */
  COORD_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1000).default(3),
  /** How often running tasks are checked against staleTaskMinutes. */
  COORD_STALE_CHECK_MS: z.coerce.number().int().min(10).default(5000),
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
      const fatal =
        opts.onFatal ??
        (() => {
          // Memory may now be ahead of the journal: never keep serving from it.
          process.exit(1);
        });
      // Standing by here while another instance holds the lease: nothing is read or served yet.
      const lease = await LeaderLease.acquire({
        kv: await openKv(ctx.js, COORD_LEADER_BUCKET, {
          description: 'Which coordinator instance writes the journal (a lease renewed by CAS)',
        }),
        holder: ctx.instanceId,
        leaseMs: config.COORD_LEADER_LEASE_MS,
        logger,
        onLost: (reason) => fatal(new Error(reason)),
      });
      logger.info('holding the leader lease');
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
      let changed: { settings: PolicySettings; actor: string } | undefined;
      let running: Coordinator | undefined;
      const settingsChanged = subscribeEvents(
        ctx.nc,
        'settings.changed',
        (event) => {
          const data = EVENT_DATA['settings.changed'].safeParse(event.data);
          if (!data.success) return;
          const { settings, actor } = data.data;
          if (running) running.reconfigure(settings, actor);
          else changed = { settings, actor };
        },
        logger,
      );
      const settings = await readPolicySettings(ctx.nc, logger);
      const coordinator = new Coordinator({
        maxTaskRetries: settings.maxTaskRetries,
        settings,
        circuit: {
          coolDownMs: config.COORD_CIRCUIT_COOLDOWN_MS,
          failureThreshold: config.COORD_CIRCUIT_FAILURES,
        },
        staleCheckMs: config.COORD_STALE_CHECK_MS,
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
        onFatal: fatal,
        replicas: () => lease.replicas,
      });
      try {
        await coordinator.start();
      } catch (err) {
        settingsChanged.unsubscribe();
        await lease.release();
        throw err;
      }
      running = coordinator;
      if (changed) coordinator.reconfigure(changed.settings, changed.actor);
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
          endpoint(
            coordCommands.createBatchIds,
            (req, ctx) =>
              c.createIds(req.tasks, {
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

          endpoint(coordPolicyCommands.state, async () => c.state()),
          endpoint(coordPolicyCommands.drain, (req, ctx) =>
            c.drain(req.timeoutSeconds, req.reason, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.pause, (req, ctx) =>
            c.pause(req.reason, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.resume, (req, ctx) => c.resume(req.actor, req.traceId ?? ctx.traceId)),
          endpoint(coordPolicyCommands.requeue, (req, ctx) =>
            c.requeue(req.id, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.bulkCancel, (req, ctx) =>
            c.bulkCancel(req.selection, req.reason, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.bulkRetry, (req, ctx) =>
            c.bulkRetry(req.selection, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.bulkReprioritize, (req, ctx) =>
            c.bulkReprioritize(req.selection, req.priority, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.templateList, () => c.listTemplates()),
          endpoint(coordPolicyCommands.templateGet, (req) => c.getTemplate(req.name)),
          endpoint(coordPolicyCommands.templateSave, (req, ctx) =>
            c.saveTemplate(req.template, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.templateDelete, (req, ctx) =>
            c.deleteTemplate(req.name, req.actor, req.traceId ?? ctx.traceId),
          ),
          endpoint(coordPolicyCommands.templateInstantiate, (req, ctx) =>
            c.instantiateTemplate(
              req.name,
              {
                values: req.request.values,
                ...(req.request.priority === undefined ? {} : { priority: req.request.priority }),
                ...(req.request.labels === undefined ? {} : { labels: req.request.labels }),
              },
              req.actor,
              req.traceId ?? ctx.traceId,
            ),
          ),
          endpoint(workerPolicyCommands.grant, async (req, ctx) => {
            worker(ctx);
            return c.grant(req.workerId);
          }),
          endpoint(workerPolicyCommands.usage, async (req, ctx) => {
            worker(ctx);
            return c.usage(req.workerId, req.taskId, req.attempt, {
              usd: req.usd,
              inputTokens: req.inputTokens,
              outputTokens: req.outputTokens,
            });
          }),

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
          // After the last journal write: a standby may start at once.
          await lease.release();
        },
      };
    },
  };
}

export const coordinatorService = createCoordinatorService();

/** The policy settings from the settings service; their defaults when it does not answer. */
async function readPolicySettings(nc: NatsConnection, logger: Logger): Promise<PolicySettings> {
  try {
    const { settings } = await callCommand(nc, settingsCommands.get, {}, { timeoutMs: 2000 });
    return settings;
  } catch (err) {
    logger.warn(
      { err },
      'settings service did not answer; using default policy settings until settings change',
    );
    return DEFAULT_SETTINGS;
  }
}
