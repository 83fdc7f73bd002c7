import type { EventPublisher, Logger } from '@jousting/bus';
import {
  type CloudEvent,
  type Delivery,
  JoustingError,
  WEBHOOK_TEST_EVENT_TYPE,
  type WebhookTestResult,
} from '@jousting/contracts';
import { type DeliveryStore, type StoredDelivery, toListing, withAttempt } from './delivery-store.js';
import { renderBody } from './formats.js';
import type { HttpSender, SendResult } from './http-sender.js';
import { MinHeap } from './min-heap.js';
import { parseRetryAfter, type RetrySchedule } from './retry-schedule.js';
import { webhookHeaders } from './signing.js';
import { urlOrigin } from './url-guard.js';
import type { StoredWebhook, WebhookRegistry } from './webhook-registry.js';

export interface LoadedEvent {
  event: CloudEvent;
  /** The event's JSON exactly as stored: the generic body. */
  raw: string;
}

export interface DispatcherDeps {
  registry: WebhookRegistry;
  store: DeliveryStore;
  sender: HttpSender;
  schedule: RetrySchedule;
  events: EventPublisher;
  logger: Logger;
  now: () => number;
  /** Reads an event back from the EVENTS stream for a retry; undefined once it is gone. */
  loadEvent: (seq: number) => Promise<LoadedEvent | undefined>;
  /** How long an endpoint may fail every attempt before it is disabled. */
  disableAfterMs: () => number;
  /** Attempts in flight at once, over all endpoints. */
  maxConcurrency: number;
  /** Attempts in flight at once per endpoint. */
  endpointConcurrency: number;
  /** How long a new delivery's first write may wait for its first attempt. */
  holdMs: number;
}

interface Job {
  webhookId: string;
  deliveryId: string;
  /** Present for a first attempt: the event as it arrived, so it need not be read back. */
  loaded?: LoadedEvent;
}

type Due = { kind: 'retry'; webhookId: string; deliveryId: string; at: string } | { kind: 'resume' };

/** A FIFO with O(1) shift. */
class JobQueue {
  private items: Job[] = [];
  private head = 0;
  get size() {
    return this.items.length - this.head;
  }
  push(job: Job) {
    this.items.push(job);
  }
  shift(): Job | undefined {
    if (this.head >= this.items.length) return undefined;
    const job = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return job;
  }
}

class EndpointState {
  readonly ready = new JobQueue();
  inFlight = 0;
  pausedUntil = 0;
}

/** Retry after this when the vault cannot give the signing secret (not the endpoint's fault). */
const SECRET_RETRY_MS = 5000;
const TEST_BODY_LIMIT = 1000;
/** Queued jobs per endpoint beyond which new ones do not keep their event in memory. */
const DEEP_QUEUE = 20_000;

/**
 * Sends deliveries: a ready queue per endpoint, bounded concurrency per endpoint and overall
 * (round-robin, so one slow endpoint cannot take every slot), and a heap of due retries driven by
 * one timer. Every outcome is written to the delivery store before anything else relies on it.
 */
export class Dispatcher {
  private readonly endpoints = new Map<string, EndpointState>();
  /** Endpoints that may have a job to start now. */
  private readonly runnable = new Set<string>();
  private readonly due = new MinHeap<Due>();
  private readonly inFlightIds = new Set<string>();
  private readonly queuedIds = new Set<string>();
  private inFlight = 0;
  /** Outcomes being written after their slot was freed. */
  private readonly settling = new Set<Promise<void>>();
  /** Deliveries whose first write waits for their first attempt; the intake awaits `promise`. */
  private readonly holds = new Map<
    string,
    { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }
  >();
  /** Webhook id of each held delivery. */
  private readonly heldJobs = new Map<string, string>();
  /** Queued first attempts that still hold their event in memory: what the intake's backpressure counts. */
  private heldEvents = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private pumpScheduled = false;
  private stopped = false;
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly deps: DispatcherDeps) {}

  /** Picks up what the store holds as pending (after a restart): due ones now, the rest on time. */
  resume(): void {
    const now = this.deps.now();
    for (const d of this.deps.store.pending()) {
      const at = d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : now;
      if (at <= now) this.enqueue({ webhookId: d.webhookId, deliveryId: d.id });
      else this.later(d);
    }
  }

  /**
   * A new delivery: stored, then tried at once. Resolves when the record is durable. A delivery
   * the store already has (its event came again after a restart) is not sent twice.
   */
  submitOnce(d: StoredDelivery, loaded: LoadedEvent): Promise<void> {
    const known = this.deps.store.get(d.webhookId, d.id);
    if (known) return this.holds.get(d.id)?.promise ?? this.deps.store.ensureStored(known);
    this.deps.store.track(d);
    const hold = this.hold(d.id);
    this.heldJobs.set(d.id, d.webhookId);
    this.enqueue({ webhookId: d.webhookId, deliveryId: d.id, loaded });
    return hold;
  }

  /**
   * The first write of a delivery waits for its first attempt (usually a few ms), so it is written
   * once, finished; one that has not finished within `holdMs` is written as pending. The event
   * is acknowledged when either write is durable.
   */
  private hold(deliveryId: string): Promise<void> {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => void this.writeHeld(deliveryId), this.deps.holdMs);
    this.holds.set(deliveryId, { promise, resolve, reject, timer });
    return promise;
  }

  private async writeHeld(deliveryId: string) {
    const hold = this.holds.get(deliveryId);
    if (!hold) return;
    const d = this.findTracked(deliveryId);
    // Gone (its webhook was deleted): nothing is left to record.
    if (!d) this.release(deliveryId);
    else await this.record(d);
  }

  private findTracked(deliveryId: string): StoredDelivery | undefined {
    const job = this.heldJobs.get(deliveryId);
    return job ? this.deps.store.get(job, deliveryId) : undefined;
  }

  private release(deliveryId: string, err?: unknown) {
    const hold = this.holds.get(deliveryId);
    if (!hold) return;
    this.holds.delete(deliveryId);
    this.heldJobs.delete(deliveryId);
    clearTimeout(hold.timer);
    if (err === undefined) hold.resolve();
    else hold.reject(err);
  }

  /** Queued jobs holding their event in memory; the intake holds back when this grows too large. */
  get backlog(): number {
    return this.heldEvents;
  }

  /** Resolves once the backlog is below `limit`. */
  waitForRoom(limit: number): Promise<void> {
    if (this.heldEvents < limit || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.heldEvents < limit || this.stopped) resolve();
        else this.roomWaiters.push(check);
      };
      this.roomWaiters.push(check);
    });
  }

  async redeliver(webhookId: string, deliveryId: string): Promise<Delivery> {
    const hook = this.deps.registry.require(webhookId);
    const d = this.deps.store.get(webhookId, deliveryId);
    if (!d)
      throw new JoustingError(
        'not_found',
        `delivery ${deliveryId} of webhook ${webhookId} is not in its log`,
      );
    if (!hook.active) {
      throw new JoustingError(
        'conflict',
        `webhook ${webhookId} is disabled; switch it on (active: true) first`,
      );
    }
    if (this.inFlightIds.has(deliveryId)) {
      throw new JoustingError('conflict', `delivery ${deliveryId} is being sent right now`);
    }
    const loaded = await this.deps.loadEvent(d.eventSeq);
    if (!loaded) {
      throw new JoustingError(
        'conflict',
        `event ${d.eventId} is no longer in the EVENTS stream (kept 7 days); it cannot be sent again`,
      );
    }
    const now = this.iso();
    const next: StoredDelivery = { ...d, status: 'pending', step: 0, nextAttemptAt: now, updatedAt: now };
    await this.deps.store.save(next);
    this.enqueue({ webhookId, deliveryId, loaded });
    return toListing(next);
  }

  /** One signed `webhook.test` event, sent now without retry; health and log are left alone. */
  async test(hook: StoredWebhook, eventId: string, traceId: string): Promise<WebhookTestResult> {
    const event: CloudEvent = {
      specversion: '1.0',
      id: eventId,
      source: '/jousting/notifier',
      type: WEBHOOK_TEST_EVENT_TYPE,
      time: this.iso(),
      datacontenttype: 'application/json',
      traceid: traceId,
      data: { webhookId: hook.id, label: hook.label, message: 'This is a test delivery.' },
    };
    const raw = JSON.stringify(event);
    const secrets = await this.deps.registry.signingSecrets(hook).catch((err: unknown) => {
      throw new JoustingError(
        'unavailable',
        `the signing secret could not be read from the vault: ${(err as Error).message}`,
      );
    });
    const body = renderBody(hook.format, event, raw);
    const headers = webhookHeaders(secrets, eventId, Math.floor(this.deps.now() / 1000), body);
    const result = await this.deps.sender.send(hook.url, body, headers, TEST_BODY_LIMIT);
    return {
      eventId,
      delivered: result.ok,
      durationMs: result.durationMs,
      ...(result.status !== undefined ? { responseStatus: result.status } : {}),
      ...(result.body !== undefined ? { responseBody: result.body } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
    };
  }

  /** Fails every pending delivery of a webhook that was switched off. */
  async failPendingOf(webhookId: string, reason: string): Promise<void> {
    await Promise.all(
      this.deps.store
        .pendingOf(webhookId)
        .filter((d) => !this.inFlightIds.has(d.id))
        .map((d) => this.fail(d, `the endpoint was disabled: ${reason}`)),
    );
  }

  /** Stops starting attempts, waits (up to `graceMs`) for those in flight, stores everything. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const wake of this.roomWaiters.splice(0)) wake();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.settling]);
    await this.deps.store.flush();
  }

  private enqueue(job: Job) {
    if (this.stopped || this.queuedIds.has(job.deliveryId)) return;
    let ep = this.endpoints.get(job.webhookId);
    if (!ep) {
      ep = new EndpointState();
      this.endpoints.set(job.webhookId, ep);
    }
    // Behind a long queue (a slow endpoint) the event is read back from the stream on its turn
    // instead of held in memory, so one slow endpoint neither eats memory nor stalls the intake.
    const queued = job.loaded && ep.ready.size >= DEEP_QUEUE ? { ...job, loaded: undefined } : job;
    ep.ready.push(queued);
    this.queuedIds.add(job.deliveryId);
    if (queued.loaded) this.heldEvents++;
    this.runnable.add(job.webhookId);
    this.schedulePump();
  }

  private later(d: StoredDelivery) {
    const at = Date.parse(d.nextAttemptAt!);
    this.due.push(at, { kind: 'retry', webhookId: d.webhookId, deliveryId: d.id, at: d.nextAttemptAt! });
    this.armTimer();
  }

  private schedulePump() {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private pump() {
    this.pumpScheduled = false;
    const { maxConcurrency, endpointConcurrency } = this.deps;
    const now = this.deps.now();
    let started = true;
    while (started && this.inFlight < maxConcurrency && this.runnable.size > 0 && !this.stopped) {
      started = false;
      for (const id of this.runnable) {
        if (this.inFlight >= maxConcurrency) break;
        const ep = this.endpoints.get(id);
        if (!ep || ep.ready.size === 0 || ep.inFlight >= endpointConcurrency) {
          this.runnable.delete(id);
          continue;
        }
        if (ep.pausedUntil > now) {
          this.runnable.delete(id);
          this.due.push(ep.pausedUntil, { kind: 'resume' });
          this.armTimer();
          continue;
        }
        const job = ep.ready.shift()!;
        this.queuedIds.delete(job.deliveryId);
        if (job.loaded) this.heldEvents--;
        started = true;
        if (this.inFlightIds.has(job.deliveryId)) continue;
        void this.run(job, ep);
      }
    }
    if (this.roomWaiters.length) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private async run(job: Job, ep: EndpointState) {
    ep.inFlight++;
    this.inFlight++;
    this.inFlightIds.add(job.deliveryId);
    try {
      await this.attempt(job, ep);
    } catch (err) {
      this.deps.logger.error(
        { err, webhookId: job.webhookId, deliveryId: job.deliveryId },
        'delivery attempt failed unexpectedly',
      );
    } finally {
      ep.inFlight--;
      this.inFlight--;
      this.inFlightIds.delete(job.deliveryId);
      if (ep.ready.size > 0) this.runnable.add(job.webhookId);
      this.schedulePump();
    }
  }

  private async attempt(job: Job, ep: EndpointState) {
    const { registry, store, logger } = this.deps;
    const d = store.get(job.webhookId, job.deliveryId);
    const hook = registry.get(job.webhookId);
    if (d?.status !== 'pending' || !hook) return;
    if (!hook.active) {
      await this.fail(d, `the endpoint is disabled: ${hook.disabledReason ?? 'switched off'}`);
      return;
    }
    const loaded = job.loaded ?? (await this.deps.loadEvent(d.eventSeq));
    if (!loaded) {
      await this.fail(d, 'the event is no longer in the EVENTS stream');
      return;
    }
    let secrets: string[];
    try {
      secrets = await registry.signingSecrets(hook);
    } catch (err) {
      logger.warn(
        { webhookId: hook.id, code: (err as { code?: string }).code },
        'signing secret unavailable; delivery postponed',
      );
      await this.retryLater(d, this.deps.now() + SECRET_RETRY_MS);
      return;
    }
    const body = renderBody(hook.format, loaded.event, loaded.raw);
    const at = this.deps.now();
    const headers = webhookHeaders(secrets, d.id, Math.floor(at / 1000), body);
    const result = await this.deps.sender.send(hook.url, body, headers);
    // The slot is free once the endpoint answered: the outcome is in memory at once (settle
    // updates the store before its first await) and its KV write needs no endpoint capacity.
    const settling = this.settle(hook, store.get(d.webhookId, d.id) ?? d, result, at, ep)
      .catch((err: unknown) => logger.error({ err, deliveryId: d.id }, 'could not settle a delivery'))
      .finally(() => this.settling.delete(settling));
    this.settling.add(settling);
  }

  private async settle(
    hook: StoredWebhook,
    d: StoredDelivery,
    result: SendResult,
    at: number,
    ep: EndpointState,
  ) {
    const { registry, schedule } = this.deps;
    const now = this.deps.now();
    const attempt = {
      at: new Date(at).toISOString(),
      durationMs: result.durationMs,
      ...(result.status !== undefined ? { responseStatus: result.status } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
    };
    const { nextAttemptAt: _previous, ...rest } = d;
    const base: StoredDelivery = {
      ...rest,
      attempts: withAttempt(d, attempt),
      attemptCount: d.attemptCount + 1,
      step: d.step + 1,
      updatedAt: new Date(now).toISOString(),
    };
    if (result.ok) {
      registry.recordOutcome(hook.id, true, at, result.status);
      await this.record({ ...base, status: 'delivered' });
      this.announceDelivered(base, result);
      return;
    }
    const health = registry.recordOutcome(hook.id, false, at, result.status, result.error);
    if (result.status === 410) {
      await this.fail(base, 'the endpoint answered 410 Gone');
      await this.disable(hook, 'the endpoint answered 410 Gone; it no longer wants deliveries');
      return;
    }
    if (!registry.get(hook.id)?.active) {
      await this.fail(
        base,
        `the endpoint was disabled: ${registry.get(hook.id)?.disabledReason ?? 'switched off'}`,
      );
      return;
    }
    const throttled = result.status === 429 || result.status === 503;
    const retryAfterMs = throttled ? parseRetryAfter(result.retryAfter, now) : undefined;
    const delay = schedule.nextDelayMs(base.step, retryAfterMs);
    if (delay === undefined) await this.fail(base, result.error ?? 'failed');
    else {
      // The endpoint asked for a pause: hold all its deliveries, not just this one.
      if (retryAfterMs !== undefined) ep.pausedUntil = Math.max(ep.pausedUntil, now + delay);
      await this.retryLater(base, now + delay);
    }
    const failingFor = health?.failingSince ? now - Date.parse(health.failingSince) : 0;
    if (failingFor >= this.deps.disableAfterMs()) {
      const hours = Math.round((failingFor / 3_600_000) * 10) / 10;
      await this.disable(
        hook,
        `every attempt failed for ${hours} h (since ${health?.failingSince}); last: ${result.error ?? 'failed'}`,
      );
    }
  }

  private async retryLater(d: StoredDelivery, at: number) {
    const next: StoredDelivery = { ...d, status: 'pending', nextAttemptAt: new Date(at).toISOString() };
    await this.record(next);
    this.later(next);
  }

  private async fail(d: StoredDelivery, error: string) {
    const { nextAttemptAt: _n, ...rest } = d;
    const failed: StoredDelivery = { ...rest, status: 'failed', updatedAt: this.iso() };
    await this.record(failed);
    const last = failed.attempts.at(-1);
    try {
      await this.deps.events.publish(
        'notify.webhook-failed',
        {
          webhookId: d.webhookId,
          deliveryId: d.id,
          eventId: d.eventId,
          eventType: d.eventType,
          attempts: failed.attemptCount,
          ...(last?.responseStatus !== undefined ? { lastResponseStatus: last.responseStatus } : {}),
          lastError: error,
        },
        { subject: d.webhookId, id: `whf-${d.id}-${failed.attemptCount}` },
      );
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: d.id }, 'could not publish notify.webhook-failed');
    }
  }

  private async disable(hook: StoredWebhook, reason: string) {
    const disabled = await this.deps.registry.disable(hook.id, reason);
    if (!disabled) return;
    this.deps.logger.warn({ webhookId: hook.id, reason }, 'webhook disabled');
    try {
      await this.deps.events.publish(
        'notify.webhook-disabled',
        {
          webhookId: hook.id,
          label: hook.label,
          origin: urlOrigin(hook.url),
          reason,
          ...(hook.state.failingSince ? { failingSince: hook.state.failingSince } : {}),
        },
        { subject: hook.id, id: `whx-${hook.id}-${disabled.disabledAt}` },
      );
    } catch (err) {
      this.deps.logger.error({ err, webhookId: hook.id }, 'could not publish notify.webhook-disabled');
    }
    await this.failPendingOf(hook.id, reason);
  }

  /** Writes a delivery's new state; a write that fails is logged (the record is redone after a restart). */
  private async record(d: StoredDelivery) {
    // Its webhook was deleted while the attempt ran: nothing of it may be written back.
    if (!this.deps.registry.get(d.webhookId)) {
      this.release(d.id);
      return;
    }
    try {
      await this.deps.store.save(d);
      this.release(d.id);
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: d.id }, 'could not store a delivery outcome');
      this.release(d.id, err);
    }
  }

  private announceDelivered(d: StoredDelivery, result: SendResult) {
    try {
      this.deps.events.emit(
        'notify.webhook-delivered',
        {
          webhookId: d.webhookId,
          deliveryId: d.id,
          eventId: d.eventId,
          eventType: d.eventType,
          attempt: d.attemptCount,
          responseStatus: result.status ?? 200,
          durationMs: result.durationMs,
        },
        { subject: d.webhookId, id: `whd-${d.id}-${d.attemptCount}`, trusted: true },
      );
    } catch (err) {
      this.deps.logger.warn({ err, deliveryId: d.id }, 'could not announce a delivery');
    }
  }

  private armTimer() {
    const next = this.due.peekKey();
    if (next === undefined || this.stopped) return;
    if (next >= this.timerAt && this.timer) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    // Timers beyond ~24.8 days overflow; re-arming on wake covers long waits.
    const delay = Math.min(Math.max(0, next - this.deps.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.onTimer(), delay);
  }

  private onTimer() {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.deps.now();
    while ((this.due.peekKey() ?? Number.POSITIVE_INFINITY) <= now) {
      const item = this.due.pop()!;
      if (item.kind === 'resume') continue;
      const d = this.deps.store.get(item.webhookId, item.deliveryId);
      // A redelivery or a failure since then made this entry stale.
      if (d?.status === 'pending' && d.nextAttemptAt === item.at) {
        this.enqueue({ webhookId: item.webhookId, deliveryId: item.deliveryId });
      }
    }
    for (const [id, ep] of this.endpoints)
      if (ep.ready.size > 0 && ep.pausedUntil <= now) this.runnable.add(id);
    this.schedulePump();
    this.armTimer();
  }

  private iso() {
    return new Date(this.deps.now()).toISOString();
  }
}
