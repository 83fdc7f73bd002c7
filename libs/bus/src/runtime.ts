import { randomBytes } from 'node:crypto';
import { healthCommand } from '@jousting/contracts';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { AuditWriter } from './audit.js';
import { BaseConfig, loadConfig } from './config.js';
import { connectBus } from './connect.js';
import { EventPublisher } from './events.js';
import { createLogger, type Logger } from './logger.js';
import { type Endpoint, endpoint, serveCommands } from './rpc.js';
import { ensureStream, SHARED_STREAMS } from './streams.js';

export interface ServiceContext<Config> {
  name: string;
  instanceId: string;
  config: Config;
  logger: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  events: EventPublisher;
  audit: AuditWriter;
}

export interface StartedService {
  endpoints: Endpoint[];
  /** Reported by the health endpoint; `degraded` still counts as alive. */
  status?: () => 'ok' | 'degraded';
  /** Runs after the endpoints stopped taking requests, before the connection drains. */
  stop?: () => Promise<void>;
}

export interface ServiceDefinition<S extends z.ZodObject> {
  name: string;
  version: string;
  description: string;
  /** Environment variables of this service, on top of BaseConfig. */
  config: S;
  start(ctx: ServiceContext<z.infer<typeof BaseConfig> & z.infer<S>>): Promise<StartedService>;
  /** How long runService lets stop() take before exiting anyway; default 10 s. */
  shutdownTimeoutMs?: (config: z.infer<typeof BaseConfig> & z.infer<S>) => number;
}

export interface RunningService {
  ctx: ServiceContext<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a service: config from env, logger, NATS connection, shared streams, its endpoints plus
 * `api.<name>.health` as one NATS service. Returns a handle whose stop() drains and closes.
 */
export async function startService<S extends z.ZodObject>(
  def: ServiceDefinition<S>,
  opts: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<RunningService> {
  const config = loadConfig(BaseConfig.extend(def.config.shape), opts.env ?? process.env) as z.infer<
    typeof BaseConfig
  > &
    z.infer<S>;
  const instanceId = `${def.name}-${randomBytes(4).toString('hex')}`;
  const logger = (opts.logger ?? createLogger(def.name, { level: config.LOG_LEVEL })).child({
    instance: instanceId,
  });
  const nc = await connectBus({ servers: config.NATS_URL, name: instanceId, logger });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    for (const spec of SHARED_STREAMS) await ensureStream(jsm, spec);
    const ctx: ServiceContext<typeof config> = {
      name: def.name,
      instanceId,
      config,
      logger,
      nc,
      js,
      jsm,
      events: new EventPublisher(js, `/jousting/${def.name}`, nc),
      audit: new AuditWriter(js),
    };
    const started = await def.start(ctx);
    const startedAt = Date.now();
    const health = endpoint(healthCommand(def.name), async () => ({
      service: def.name,
      instance: instanceId,
      version: def.version,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      status: started.status?.() ?? 'ok',
    }));
    const service = await serveCommands(
      nc,
      { name: def.name, version: def.version, description: def.description, logger },
      [...started.endpoints, health],
    );
    // The server must have our subscriptions before callers are told we are up.
    await nc.flush();
    logger.info({ endpoints: started.endpoints.map((e) => e.command.subject) }, 'service started');
    let stopping: Promise<void> | undefined;
    return {
      ctx: ctx as ServiceContext<unknown>,
      stop: () => {
        stopping ??= (async () => {
          logger.info('stopping');
          await service.stop().catch(() => undefined);
          await started.stop?.();
          await nc.drain().catch(() => undefined);
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The `main` of every service: starts it, and on SIGTERM or SIGINT stops taking requests,
 * finishes what is in flight, drains NATS and exits 0. A failed start exits 1 with the reason.
 */
export async function runService<S extends z.ZodObject>(def: ServiceDefinition<S>): Promise<void> {
  const logger = createLogger(def.name);
  let running: RunningService;
  try {
    running = await startService(def, { logger });
  } catch (err) {
    logger.fatal({ err }, `${def.name} failed to start`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutdown requested');
    const deadlineMs =
      def.shutdownTimeoutMs?.(
        running.ctx.config as Parameters<NonNullable<typeof def.shutdownTimeoutMs>>[0],
      ) ?? 10_000;
    const force = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown took too long; exiting anyway');
      process.exit(1);
    }, deadlineMs);
    force.unref();
    void running.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
