import { type Logger, parseEvent } from '@jousting/bus';
import { type CloudEvent, STREAMS } from '@jousting/contracts';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { StoredDelivery } from './delivery-store.js';
import type { Dispatcher } from './dispatcher.js';
import { derivedUlid } from './ids.js';
import type { Inbox } from './inbox.js';
import { mayNeedNotification, notificationFor } from './notification-rules.js';
import type { WebhookRegistry } from './webhook-registry.js';

export const INTAKE_DURABLE = 'notifier';
/** Events held un-acknowledged at most (JetStream stops sending beyond this). */
const MAX_ACK_PENDING = 10_000;
/** Queued first attempts (with their event in memory) beyond which the intake waits. */
const MAX_BACKLOG = 50_000;

export interface IntakeDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  registry: WebhookRegistry;
  dispatcher: Dispatcher;
  inbox: Inbox;
  logger: Logger;
  now: () => number;
  /** Redelivery after this when no ack came; also bounds how long a restart can delay events. */
  ackWaitMs: number;
}

/**
 * Pull requests last this long. nats-server 2.9 keeps a stopped process's pending pull request
 * until it expires and may hand it events meanwhile; those come back after the ack wait.
 */
const PULL_EXPIRES_MS = 2000;

/**
 * Reads EVENTS through a durable consumer and turns each event into deliveries (one per matching
 * webhook) and at most one notification. Messages are handled in batches: everything that arrived
 * in one turn of the event loop is recorded together, and each event is acknowledged only after
 * its deliveries and notification are durable. (libs/bus consumeDurable handles one event at a
 * time, which would cap the notifier at one KV round trip per event.)
 */
export class EventIntake {
  private messages: ConsumerMessages | undefined;
  private batch: JsMsg[] = [];
  private scheduled = false;
  private readonly inProgress = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: IntakeDeps) {}

  async start(): Promise<void> {
    const { jsm, js } = this.deps;
    const stream = STREAMS.events.name;
    const exists = await jsm.consumers.info(stream, INTAKE_DURABLE).then(
      () => true,
      () => false,
    );
    const ackWait = nanos(this.deps.ackWaitMs);
    if (!exists) {
      // New events only on first start: webhooks registered later get what happens after them.
      await jsm.consumers.add(stream, {
        durable_name: INTAKE_DURABLE,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ackWait,
        deliver_policy: DeliverPolicy.New,
        max_ack_pending: MAX_ACK_PENDING,
      });
    } else {
      await jsm.consumers.update(stream, INTAKE_DURABLE, {
        ack_wait: ackWait,
        max_ack_pending: MAX_ACK_PENDING,
      });
    }
    const consumer = await js.consumers.get(stream, INTAKE_DURABLE);
    this.messages = await consumer.consume({ max_messages: 1000, expires: PULL_EXPIRES_MS });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const msg of messages) {
        this.batch.push(msg);
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.processBatch());
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.messages?.stop();
    await this.loop;
    if (this.batch.length) this.processBatch();
    await Promise.allSettled([...this.inProgress]);
  }

  private processBatch() {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const work = this.handle(batch)
      .catch((err: unknown) => {
        // Nothing of the batch is lost: what was not acknowledged comes again.
        this.deps.logger.error({ err, events: batch.length }, 'could not handle a batch of events');
        for (const msg of batch) msg.nak(1000);
      })
      .finally(() => this.inProgress.delete(work));
    this.inProgress.add(work);
  }

  private async handle(batch: JsMsg[]) {
    const { dispatcher, registry, inbox, logger } = this.deps;
    logger.trace({ events: batch.length, first: batch[0]?.seq }, 'intake batch');
    await dispatcher.waitForRoom(MAX_BACKLOG);
    const recorded: Array<{ msg: JsMsg; done: Promise<unknown> }> = [];
    for (const msg of batch) {
      // Most events concern neither a webhook nor the inbox (our own delivery announcements,
      // task progress): they are acknowledged unparsed.
      const wanted = registry.wantsType(msg.subject);
      if (!wanted && !mayNeedNotification(msg.subject, msg.data)) {
        msg.ack();
        continue;
      }
      const event = parseEvent(msg.data);
      if (!event) {
        logger.warn({ seq: msg.seq, subject: msg.subject }, 'terminating a message that is not a CloudEvent');
        msg.term();
        continue;
      }
      const writes: Promise<unknown>[] = [];
      const hooks = wanted ? registry.matching(event) : [];
      if (hooks.length) {
        const raw = new TextDecoder().decode(msg.data);
        for (const hook of hooks)
          writes.push(dispatcher.submitOnce(this.newDelivery(hook.id, event, msg.seq), { event, raw }));
      }
      const draft = notificationFor(event);
      if (draft) writes.push(inbox.add(draft, event));
      if (writes.length === 0) msg.ack();
      else recorded.push({ msg, done: Promise.all(writes) });
    }
    await Promise.all(
      recorded.map(({ msg, done }) =>
        done.then(
          () => msg.ack(),
          (err: unknown) => {
            logger.error({ err, seq: msg.seq }, 'could not record an event; it will be redelivered');
            msg.nak(1000);
          },
        ),
      ),
    );
  }

  private newDelivery(webhookId: string, event: CloudEvent, seq: number): StoredDelivery {
    const at = new Date(this.deps.now()).toISOString();
    return {
      id: derivedUlid(Date.parse(event.time), `delivery:${webhookId}:${event.id}`),
      webhookId,
      eventId: event.id,
      eventType: event.type,
      status: 'pending',
      attempts: [],
      attemptCount: 0,
      nextAttemptAt: at,
      createdAt: at,
      updatedAt: at,
      eventSeq: seq,
      step: 0,
    };
  }
}
