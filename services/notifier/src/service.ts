import { endpoint, newId, openKv, type ServiceDefinition } from '@jousting/bus';
import {
  type CloudEvent,
  JoustingError,
  notifierCommands,
  STREAMS,
  WEBHOOK_TIMEOUT_MS,
} from '@jousting/contracts';
import { z } from 'zod';
import { DELIVERIES_BUCKET, DeliveryStore, toListing } from './delivery-store.js';
import { Dispatcher, type LoadedEvent } from './dispatcher.js';
import { EventIntake } from './event-intake.js';
import { HttpSender } from './http-sender.js';
import { INBOX_BUCKET, Inbox } from './inbox.js';
import { NotifierSettings } from './notifier-settings.js';
import {
  DEFAULT_JITTER,
  DEFAULT_RETRY_SCHEDULE,
  parseRetrySchedule,
  RetrySchedule,
} from './retry-schedule.js';
import { checkWebhookUrl, type Resolver } from './url-guard.js';
import { VaultClient } from './vault-client.js';
import { WEBHOOKS_BUCKET, WebhookRegistry } from './webhook-registry.js';

export const NOTIFIER_VERSION = '0.1.0';

const NotifierConfig = z.object({
  NOTIFIER_RETRY_SCHEDULE: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE)
    .transform((text, ctx) => {
      try {
        return parseRetrySchedule(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  NOTIFIER_RETRY_JITTER: z.coerce.number().min(0).max(1).default(DEFAULT_JITTER),
  NOTIFIER_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(WEBHOOK_TIMEOUT_MS),
  NOTIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(512),
  NOTIFIER_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  NOTIFIER_ACK_WAIT_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
});

export interface NotifierOptions {
  /** The clock for timestamps, retry times and the disable rule (tests move it forward). */
  now?: () => number;
  /** DNS for the URL checks (tests point names at chosen addresses). */
  resolve?: Resolver;
}

/** Webhooks (signed, retried, at least once) and the notifications inbox. */
export function createNotifierService(opts: NotifierOptions = {}): ServiceDefinition<typeof NotifierConfig> {
  const now = opts.now ?? Date.now;
  return {
    name: 'notifier',
    version: NOTIFIER_VERSION,
    description: 'Webhooks and the notifications inbox',
    config: NotifierConfig,
    async start(ctx) {
      const { config, logger, nc, js, jsm } = ctx;
      const settings = await NotifierSettings.start(nc, logger);
      const [webhooksKv, deliveriesKv, inboxKv] = await Promise.all([
        openKv(js, WEBHOOKS_BUCKET, { description: 'notifier: registered webhooks' }),
        openKv(js, DELIVERIES_BUCKET, { description: 'notifier: pending deliveries and the delivery logs' }),
        openKv(js, INBOX_BUCKET, { description: 'notifier: the notifications inbox' }),
      ]);
      const vault = new VaultClient(nc, logger);
      const checkUrl = (url: string) =>
        checkWebhookUrl(url, {
          allowPrivate: settings.allowPrivateUrls,
          ...(opts.resolve ? { resolve: opts.resolve } : {}),
        });
      const registry = await WebhookRegistry.open({
        kv: webhooksKv,
        vault,
        audit: ctx.audit,
        logger,
        now,
        checkUrl,
      });
      const store = await DeliveryStore.open(deliveriesKv, logger);
      const inbox = await Inbox.open(inboxKv, ctx.events, logger);
      const sender = new HttpSender({
        timeoutMs: config.NOTIFIER_TIMEOUT_MS,
        maxSocketsPerOrigin: config.NOTIFIER_ENDPOINT_CONCURRENCY,
        allowPrivate: () => settings.allowPrivateUrls,
        ...(opts.resolve ? { resolve: opts.resolve } : {}),
      });
      const loadEvent = async (seq: number): Promise<LoadedEvent | undefined> => {
        const stored = await jsm.streams.getMessage(STREAMS.events.name, { seq }).catch(() => null);
        if (!stored) return undefined;
        const raw = stored.string();
        try {
          return { event: JSON.parse(raw) as CloudEvent, raw };
        } catch {
          return undefined;
        }
      };
      const dispatcher = new Dispatcher({
        registry,
        store,
        sender,
        schedule: new RetrySchedule(config.NOTIFIER_RETRY_SCHEDULE, config.NOTIFIER_RETRY_JITTER),
        events: ctx.events,
        logger,
        now,
        loadEvent,
        disableAfterMs: () => settings.disableAfterHours * 3_600_000,
        maxConcurrency: config.NOTIFIER_CONCURRENCY,
        endpointConcurrency: config.NOTIFIER_ENDPOINT_CONCURRENCY,
        // Well inside the ack wait, so a held event is acknowledged before it would come again.
        holdMs: Math.min(1000, Math.floor(config.NOTIFIER_ACK_WAIT_MS / 4)),
      });
      dispatcher.resume();
      const intake = new EventIntake({
        js,
        jsm,
        registry,
        dispatcher,
        inbox,
        logger,
        now,
        ackWaitMs: config.NOTIFIER_ACK_WAIT_MS,
      });
      await intake.start();
      const expiry = setInterval(() => void registry.expirePreviousSecrets().catch(() => undefined), 60_000);
      logger.info(
        {
          webhooks: registry.list().length,
          pending: store.pending().length,
          schedule: config.NOTIFIER_RETRY_SCHEDULE,
        },
        'notifier ready',
      );

      const who = (req: { actor: string; traceId?: string | undefined }, traceId: string) => ({
        actor: req.actor,
        traceId: req.traceId ?? traceId,
      });
      return {
        endpoints: [
          endpoint(notifierCommands.webhookCreate, ({ actor, traceId, ...fields }, c) =>
            registry.create(fields, who({ actor, traceId }, c.traceId)),
          ),
          endpoint(notifierCommands.webhookList, async () => ({ items: registry.list() })),
          endpoint(
            notifierCommands.webhookGet,
            async (req) => registry.list().find((w) => w.id === req.id) ?? notFound(req.id),
          ),
          endpoint(notifierCommands.webhookUpdate, ({ id, actor, traceId, ...patch }, c) =>
            registry.update(id, patch, who({ actor, traceId }, c.traceId)),
          ),
          endpoint(notifierCommands.webhookDelete, async (req, c) => {
            await registry.delete(req.id, who(req, c.traceId));
            await store.dropWebhook(req.id);
            return { id: req.id, deleted: true as const };
          }),
          endpoint(notifierCommands.webhookTest, (req, c) =>
            dispatcher.test(registry.require(req.id), newId(), req.traceId ?? c.traceId),
          ),
          endpoint(notifierCommands.webhookDeliveries, async (req) => {
            registry.require(req.id);
            const all = store.list(req.id, req.status);
            const items = all.slice(req.offset, req.offset + req.limit).map(toListing);
            return {
              items,
              total: all.length,
              limit: req.limit,
              offset: req.offset,
              hasMore: req.offset + items.length < all.length,
            };
          }),
          endpoint(notifierCommands.webhookRedeliver, (req) => dispatcher.redeliver(req.id, req.deliveryId)),
          endpoint(notifierCommands.webhookRotateSecret, (req, c) =>
            registry.rotateSecret(req.id, who(req, c.traceId)),
          ),
          endpoint(notifierCommands.notificationsList, async (req) => inbox.list(req)),
          endpoint(notifierCommands.notificationsUnreadCount, async () => ({ unread: inbox.unreadCount() })),
          endpoint(notifierCommands.notificationsMarkRead, (req) => inbox.markRead(req.id)),
          endpoint(notifierCommands.notificationsMarkAllRead, () => inbox.markAllRead()),
        ],
        stop: async () => {
          clearInterval(expiry);
          await intake.stop();
          await dispatcher.stop();
          await Promise.all([registry.stop(), inbox.flush()]);
          settings.stop();
          sender.close();
        },
      };
    },
  };
}

function notFound(id: string): never {
  throw new JoustingError('not_found', `webhook ${id} does not exist`);
}

export const notifierService = createNotifierService();
