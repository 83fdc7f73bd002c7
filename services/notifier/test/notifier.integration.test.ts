import type { LookupAddress } from 'node:dns';
import { callCommand, createLogger, newId, openKv, type RunningService, startService } from '@jousting/bus';
import {
  type CloudEvent,
  type CreatedWebhook,
  JoustingError,
  notifierCommands,
  Webhook,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifierService } from '../src/service.js';
import { type Received, startReceiver } from './support/receiver.js';
import { startSettingsResponder } from './support/settings-responder.js';

const HOUR = 3_600_000;
let nats: NatsHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let settings: Awaited<ReturnType<typeof startSettingsResponder>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let notifier: RunningService | undefined;
/** Every log line the notifier wrote, at debug level. */
const logLines: string[] = [];
/** Every message on the server except the vault's own requests and replies. */
const traffic: Array<{ subject: string; data: string }> = [];
let events: CloudEvent[] = [];
/** The notifier's clock runs this far ahead of the real one. */
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
/** Names the test points at chosen addresses (DNS rebinding); anything else resolves to 127.0.0.1. */
const dns = new Map<string, string>();
const resolve = async (host: string): Promise<LookupAddress[]> => {
  const address = dns.get(host) ?? '127.0.0.1';
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};

const logger = createLogger('notifier', {
  level: 'debug',
  destination: { write: (line: string) => void logLines.push(line) },
});

async function startNotifier(env: Record<string, string> = {}) {
  notifier = await startService(createNotifierService({ now, resolve }), {
    env: {
      NATS_URL: nats.url,
      NOTIFIER_RETRY_SCHEDULE: '0,100ms,200ms,300ms,400ms,500ms,600ms,700ms',
      NOTIFIER_RETRY_JITTER: '0',
      NOTIFIER_TIMEOUT_MS: '2000',
      NOTIFIER_ACK_WAIT_MS: '1000',
      ...env,
    },
    logger,
  });
}

async function stopNotifier() {
  await notifier?.stop();
  notifier = undefined;
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      if (process.env.DEBUG_NOTIFIER) {
        const jsm = await js.jetstreamManager();
        console.log(JSON.stringify(await jsm.consumers.info('EVENTS', 'notifier')));
        console.log(logLines.slice(-15).join(''));
      }
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes a CloudEvent into EVENTS the way any service would (stored before it returns). */
async function publish(type: string, data: unknown, id = newId()): Promise<CloudEvent> {
  const event: CloudEvent = {
    specversion: '1.0',
    id,
    source: '/test',
    type,
    time: new Date(now()).toISOString(),
    datacontenttype: 'application/json',
    traceid: 'trace-test',
    data,
  };
  await js.publish(type, JSON.stringify(event), { msgID: id });
  return event;
}

const create = (url: string, extra: Record<string, unknown> = {}) =>
  callCommand(nc, notifierCommands.webhookCreate, {
    url,
    events: ['fleet.>'],
    label: 'test hook',
    actor: 'token:test',
    ...extra,
  });
const deliveries = async (id: string) =>
  (await callCommand(nc, notifierCommands.webhookDeliveries, { id, limit: 100 })).items;
const getHook = (id: string) => callCommand(nc, notifierCommands.webhookGet, { id });
const eventsOf = (type: string) => events.filter((e) => e.type === type);
const bodiesWithId = (id: string) =>
  receiver.received.filter((r) => r.body.includes(`"id":"${id}"`) || r.body.includes(id));

async function refusal(promise: Promise<unknown>): Promise<JoustingError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JoustingError);
  return err as JoustingError;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  nc.subscribe('>', {
    callback: (_err, msg) => {
      if (msg.subject.startsWith('api.settings.secret-') || msg.subject.startsWith('_INBOX.')) return;
      traffic.push({ subject: msg.subject, data: msg.string() });
      if (/^(notify|settings|fleet|coord|backup)\./.test(msg.subject)) {
        try {
          events.push(JSON.parse(msg.string()) as CloudEvent);
        } catch {}
      }
    },
  });
  settings = await startSettingsResponder(nc);
  receiver = await startReceiver();
  await startNotifier();
});
afterAll(async () => {
  await stopNotifier();
  await receiver?.close();
  await settings?.stop();
  await nc?.close();
  await nats?.stop();
});
beforeEach(async () => {
  clockOffset = 0;
  events = [];
  receiver.answer(() => ({ status: 200 }));
  await settings.patch({ webhookAllowPrivateUrls: true });
  await until(() => eventsOf('settings.changed').length > 0, 'settings.changed');
  // The notifier follows the change through its own subscription; give it a moment.
  await new Promise((r) => setTimeout(r, 50));
});
afterEach(async () => {
  for (const hook of (await callCommand(nc, notifierCommands.webhookList, {})).items) {
    await callCommand(nc, notifierCommands.webhookDelete, { id: hook.id, actor: 'test' });
  }
});

describe('configuration', () => {
  it('refuses a retry schedule it cannot read, naming the variable and the entry', async () => {
    await expect(
      startService(createNotifierService(), {
        env: { NATS_URL: nats.url, NOTIFIER_RETRY_SCHEDULE: '0,5s,soon' },
        logger,
      }),
    ).rejects.toThrow(/NOTIFIER_RETRY_SCHEDULE.*"soon"/);
  });
});

describe('registering webhooks', () => {
  it('returns the secret once; listings only say hasSecret', async () => {
    const created = await create(receiver.url, { format: 'slack', description: 'ops channel' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created).toMatchObject({ format: 'slack', active: true, hasSecret: true, label: 'test hook' });
    const listed = (await callCommand(nc, notifierCommands.webhookList, {})).items;
    expect(listed).toHaveLength(1);
    expect(Webhook.strict().parse(listed[0])).not.toHaveProperty('secret');
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(settings.secrets.get(`webhook_${created.id}_1`)?.value).toBe(created.secret);
  });

  it('refuses bad patterns and schemes by field', async () => {
    const err = await refusal(create(receiver.url, { events: ['coord.>.x'] }));
    expect(err.details?.fields?.[0]?.field).toBe('events.0');
    const scheme = await refusal(create('ftp://example.com/x'));
    expect(scheme.details?.fields?.map((f) => f.field)).toEqual(['url']);
  });

  it('deleting removes the webhook, its log and its secret', async () => {
    const created = await create(receiver.url);
    await publish('fleet.ping', { n: 1 });
    await until(async () => (await deliveries(created.id)).length === 1, 'a logged delivery');
    await callCommand(nc, notifierCommands.webhookDelete, { id: created.id, actor: 'test' });
    expect(settings.secrets.has(`webhook_${created.id}_1`)).toBe(false);
    const gone = await refusal(getHook(created.id));
    expect(gone.code).toBe('not_found');
    const kv = await openKv(js, 'notifier-deliveries');
    const left: string[] = [];
    for await (const key of await kv.keys(`${created.id}.>`)) left.push(key);
    expect(left).toEqual([]);
  });
});

describe('SSRF protection', () => {
  it('refuses loopback, private and metadata targets unless webhookAllowPrivateUrls is on', async () => {
    await settings.patch({ webhookAllowPrivateUrls: false });
    await until(
      async () =>
        (await create('http://10.1.2.3/x').then(
          () => false,
          () => true,
        )) === true,
      'the notifier to follow the setting',
    );
    for (const url of [
      receiver.url,
      'http://[::1]:9/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://169.254.169.254/latest/meta-data',
      'http://192.168.0.10/',
      'http://internal.example/x',
    ]) {
      const err = await refusal(create(url));
      expect(err.code, url).toBe('validation_failed');
      expect(
        err.details?.fields?.map((f) => f.field),
        url,
      ).toEqual(['url']);
      expect(err.message, url).toMatch(/webhookAllowPrivateUrls/);
    }
    dns.set('public.example', '93.184.216.34');
    const ok = await create('https://public.example/hook');
    // An update to an internal target is refused the same way.
    const err = await refusal(
      callCommand(nc, notifierCommands.webhookUpdate, { id: ok.id, url: 'http://127.0.0.1:1/', actor: 't' }),
    );
    expect(err.details?.fields?.map((f) => f.field)).toEqual(['url']);
    expect((await getHook(ok.id)).url).toBe('https://public.example/hook');
  });

  it('checks again at delivery time: a name re-pointed inward (DNS rebinding) is not sent to', async () => {
    await settings.patch({ webhookAllowPrivateUrls: false });
    dns.set('rebind.example', '93.184.216.34');
    await until(
      async () =>
        (await create('http://10.9.9.9/').then(
          () => false,
          () => true,
        )) === true,
      'the setting to apply',
    );
    const hook = await create(`http://rebind.example:${receiver.port}/hook`);
    dns.set('rebind.example', '127.0.0.1');
    const before = receiver.received.length;
    await publish('fleet.ping', { n: 2 });
    await until(async () => {
      const d = (await deliveries(hook.id))[0];
      return (d?.attempts.length ?? 0) >= 1;
    }, 'a refused attempt');
    const [d] = await deliveries(hook.id);
    expect(d?.attempts[0]?.error).toMatch(/127\.0\.0\.1, a loopback address/);
    expect(receiver.received.length).toBe(before);
  });
});

describe('deliveries', () => {
  it('sends the CloudEvent signed so standardwebhooks verifies it, and logs it', async () => {
    const hook = await create(receiver.url);
    const event = await publish('fleet.ping', { hello: 'world' });
    await until(() => bodiesWithId(event.id).length > 0, 'the delivery');
    const got = bodiesWithId(event.id)[0]!;
    const verified = new StandardWebhook(hook.secret).verify(got.body, got.headers as Record<string, string>);
    expect(verified).toMatchObject({ id: event.id, type: 'fleet.ping', data: { hello: 'world' } });
    expect(got.headers['content-type']).toBe('application/json');
    await until(
      async () => (await deliveries(hook.id))[0]?.status === 'delivered',
      'the log to say delivered',
    );
    const [logged] = await deliveries(hook.id);
    expect(logged).toMatchObject({ eventId: event.id, eventType: 'fleet.ping', attemptCount: 1 });
    expect(got.headers['webhook-id']).toBe(logged!.id);
    expect(logged!.attempts[0]).toMatchObject({ responseStatus: 200 });
    await until(() => eventsOf('notify.webhook-delivered').length > 0, 'notify.webhook-delivered');
    expect(eventsOf('notify.webhook-delivered')[0]!.data).toMatchObject({
      webhookId: hook.id,
      deliveryId: logged!.id,
      eventId: event.id,
      responseStatus: 200,
    });
    // Our own announcements are never delivered (they would loop), even to a ">" webhook.
    expect(receiver.received.some((r) => r.body.includes('notify.webhook-delivered'))).toBe(false);
  });

  it('sends only what the patterns match, in the chosen format', async () => {
    const hook = await create(receiver.url, { events: ['fleet.a.*'], format: 'discord' });
    const skipped = await publish('fleet.b.x', {});
    const wanted = await publish('fleet.a.x', { v: 1 });
    await until(() => bodiesWithId(wanted.id).length > 0, 'the matching event');
    const body = JSON.parse(bodiesWithId(wanted.id)[0]!.body);
    expect(body).toMatchObject({ content: 'fleet.a.x', embeds: [{ title: 'fleet.a.x' }] });
    expect(bodiesWithId(skipped.id)).toHaveLength(0);
    expect((await deliveries(hook.id)).map((d) => d.eventId)).toEqual([wanted.id]);
  });

  it('loses nothing to a receiver that fails, flaps and recovers', async () => {
    const hook = await create(receiver.url);
    // 15 refusals, then every other request fails (500 or a dropped connection), then all is well.
    receiver.answer((_req, n) => {
      if (n < 15) return { status: 500 };
      if (n < 60) return n % 2 ? { status: 200 } : n % 4 ? { status: 502 } : { status: 0, drop: true };
      return { status: 200 };
    });
    const sent: CloudEvent[] = [];
    for (let i = 0; i < 40; i++) sent.push(await publish('fleet.burst', { i }));
    const okIds = () =>
      new Set(
        receiver.received
          .filter((r) => r.answered >= 200 && r.answered < 300)
          .map((r) => (JSON.parse(r.body) as CloudEvent).id),
      );
    await until(() => sent.every((e) => okIds().has(e.id)), 'every event accepted at least once', 20_000);
    await until(
      async () => (await deliveries(hook.id)).filter((d) => d.status === 'delivered').length === 40,
      'all 40 logged as delivered',
    );
    const log = await deliveries(hook.id);
    expect(log.filter((d) => d.status === 'failed')).toEqual([]);
    expect(log.some((d) => d.attemptCount > 1)).toBe(true);
    expect(eventsOf('notify.webhook-failed')).toEqual([]);
  });

  it('counts an endpoint that does not answer in time as failed, and tries again', async () => {
    const hook = await create(receiver.url);
    receiver.answer((_req, n) => (n === 0 ? { status: 0, hang: true } : { status: 200 }));
    const event = await publish('fleet.ping', {});
    await until(() => bodiesWithId(event.id).length >= 2, 'the retry after the timeout', 8000);
    await until(async () => (await deliveries(hook.id))[0]?.status === 'delivered', 'delivered');
    const [first, second] = (await deliveries(hook.id))[0]!.attempts;
    expect(first).toMatchObject({ error: 'no complete response within 2000 ms' });
    expect(first!.responseStatus).toBeUndefined();
    expect(first!.durationMs).toBeGreaterThanOrEqual(1900);
    expect(second).toMatchObject({ responseStatus: 200 });
  });

  it('keeps the last 100 finished deliveries per webhook, across a restart', async () => {
    const hook = await create(receiver.url);
    const sent: CloudEvent[] = [];
    for (let i = 0; i < 104; i++) sent.push(await publish('fleet.log', { i }));
    // Ids sort by event time (ms): the last one apart from the rest, so it is surely the newest.
    await new Promise((r) => setTimeout(r, 5));
    const last = await publish('fleet.log', { i: 104 });
    sent.push(last);
    await until(
      async () => (await deliveries(hook.id)).some((d) => d.eventId === last.id && d.status === 'delivered'),
      'the last delivery',
    );
    await until(async () => (await deliveries(hook.id)).length === 100, 'the log to hold 100');
    await stopNotifier();
    await startNotifier();
    const log = await callCommand(nc, notifierCommands.webhookDeliveries, { id: hook.id, limit: 100 });
    expect(log.total).toBe(100);
    expect(log.items.every((d) => d.status === 'delivered')).toBe(true);
    // The five oldest made room; the newest is first.
    expect(log.items[0]!.eventId).toBe(last.id);
    const kept = new Set(log.items.map((d) => d.eventId));
    expect(sent.filter((e) => !kept.has(e.id))).toHaveLength(5);
    const page = await callCommand(nc, notifierCommands.webhookDeliveries, {
      id: hook.id,
      status: 'delivered',
      limit: 10,
      offset: 95,
    });
    expect(page).toMatchObject({ total: 100, hasMore: false });
    expect(page.items).toHaveLength(5);
  });

  it('honours Retry-After on 429 instead of the (much shorter) schedule', async () => {
    const hook = await create(receiver.url);
    receiver.answer((_req, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const event = await publish('fleet.ping', {});
    await until(() => bodiesWithId(event.id).length >= 2, 'the retry', 5000);
    const [first, second] = bodiesWithId(event.id) as [Received, Received];
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    await until(async () => (await deliveries(hook.id))[0]?.status === 'delivered', 'delivered');
    expect((await deliveries(hook.id))[0]!.attempts.map((a) => a.responseStatus)).toEqual([429, 200]);
  });

  it('fails a delivery after the last scheduled attempt and announces it', async () => {
    await stopNotifier();
    await startNotifier({ NOTIFIER_RETRY_SCHEDULE: '0,50ms,50ms' });
    try {
      const hook = await create(receiver.url);
      receiver.answer(() => ({ status: 500, body: 'nope' }));
      const event = await publish('fleet.ping', {});
      await until(() => eventsOf('notify.webhook-failed').length > 0, 'notify.webhook-failed');
      expect(eventsOf('notify.webhook-failed')[0]!.data).toMatchObject({
        webhookId: hook.id,
        eventId: event.id,
        attempts: 3,
        lastResponseStatus: 500,
        lastError: 'HTTP 500',
      });
      expect(bodiesWithId(event.id)).toHaveLength(3);
      expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'failed', attemptCount: 3 });
      expect((await getHook(hook.id)).state).toMatchObject({
        consecutiveFailures: 3,
        lastResponseStatus: 500,
      });
    } finally {
      await stopNotifier();
      await startNotifier();
    }
  });

  it('disables an endpoint that answers 410 Gone, and tells the inbox', async () => {
    const hook = await create(receiver.url);
    receiver.answer(() => ({ status: 410 }));
    await publish('fleet.ping', {});
    await until(() => eventsOf('notify.webhook-disabled').length > 0, 'notify.webhook-disabled');
    const disabled = await getHook(hook.id);
    expect(disabled).toMatchObject({ active: false });
    expect(disabled.disabledReason).toMatch(/410 Gone/);
    await until(() => eventsOf('notify.created').length > 0, 'notify.created');
    const inbox = await callCommand(nc, notifierCommands.notificationsList, { unread: true });
    expect(inbox.items.find((n) => n.kind === 'webhook-disabled')).toMatchObject({
      severity: 'warning',
      title: 'Webhook "test hook" disabled',
      link: `/webhooks/${hook.id}`,
    });
    // Disabled: later events are not sent; switched on again it starts clean.
    const count = receiver.received.length;
    await publish('fleet.ping', {});
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.length).toBe(count);
    const again = await callCommand(nc, notifierCommands.webhookUpdate, {
      id: hook.id,
      active: true,
      actor: 't',
    });
    expect(again).toMatchObject({ active: true, state: { consecutiveFailures: 0 } });
    expect(again.disabledReason).toBeUndefined();
  });

  it('disables an endpoint that failed every attempt for longer than webhookDisableAfterHours', async () => {
    await stopNotifier();
    await startNotifier({ NOTIFIER_RETRY_SCHEDULE: '0,300ms,300ms,300ms,300ms' });
    try {
      const hook = await create(receiver.url);
      receiver.answer(() => ({ status: 503 }));
      await publish('fleet.ping', {});
      await until(async () => (await getHook(hook.id)).state.consecutiveFailures >= 1, 'a first failure');
      expect((await getHook(hook.id)).active).toBe(true);
      clockOffset = 73 * HOUR;
      await until(() => eventsOf('notify.webhook-disabled').length > 0, 'notify.webhook-disabled');
      const disabled = await getHook(hook.id);
      expect(disabled.disabledReason).toMatch(/every attempt failed for 7[23](\.\d)? h/);
      // The delivery still pending is failed and announced.
      await until(() => eventsOf('notify.webhook-failed').length > 0, 'notify.webhook-failed');
      expect((await deliveries(hook.id))[0]!.status).toBe('failed');
    } finally {
      clockOffset = 0;
      await stopNotifier();
      await startNotifier();
    }
  });

  it('keeps pending retries across a restart, and catches up on events published while down', async () => {
    await stopNotifier();
    await startNotifier({ NOTIFIER_RETRY_SCHEDULE: '0,1500ms,1500ms' });
    const hook = await create(receiver.url);
    receiver.answer(() => ({ status: 500 }));
    const early = await publish('fleet.ping', { when: 'before' });
    await until(async () => (await deliveries(hook.id))[0]?.attemptCount === 1, 'the failed first attempt');
    await stopNotifier();
    receiver.answer(() => ({ status: 200 }));
    const whileDown = await publish('fleet.ping', { when: 'down' });
    await startNotifier({ NOTIFIER_RETRY_SCHEDULE: '0,1500ms,1500ms' });
    try {
      await until(
        () => bodiesWithId(whileDown.id).some((r) => r.answered === 200),
        'the event sent while down',
      );
      await until(() => bodiesWithId(early.id).some((r) => r.answered === 200), 'the pending retry', 6000);
      const requests = bodiesWithId(early.id);
      expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
      await until(
        async () => (await deliveries(hook.id)).every((d) => d.status === 'delivered'),
        'both delivered in the log',
      );
      const log = await deliveries(hook.id);
      expect(log.find((d) => d.eventId === early.id)).toMatchObject({ attemptCount: 2, status: 'delivered' });
    } finally {
      await stopNotifier();
      await startNotifier();
    }
  });

  it('redelivers a logged delivery with the same webhook-id', async () => {
    const hook = await create(receiver.url);
    const event = await publish('fleet.ping', {});
    await until(async () => (await deliveries(hook.id))[0]?.status === 'delivered', 'delivered');
    const [first] = await deliveries(hook.id);
    const again = await callCommand(nc, notifierCommands.webhookRedeliver, {
      id: hook.id,
      deliveryId: first!.id,
      actor: 't',
    });
    expect(again.status).toBe('pending');
    await until(() => bodiesWithId(event.id).length === 2, 'the second send');
    expect(bodiesWithId(event.id).map((r) => r.headers['webhook-id'])).toEqual([first!.id, first!.id]);
    await until(async () => (await deliveries(hook.id))[0]?.attemptCount === 2, 'two attempts logged');
    const missing = await refusal(
      callCommand(nc, notifierCommands.webhookRedeliver, { id: hook.id, deliveryId: newId(), actor: 't' }),
    );
    expect(missing.code).toBe('not_found');
  });

  it('test delivery sends a signed webhook.test once and shows the response', async () => {
    const hook = await create(receiver.url);
    receiver.answer(() => ({ status: 202, body: `accepted ${'x'.repeat(3000)}` }));
    const result = await callCommand(nc, notifierCommands.webhookTest, { id: hook.id, actor: 't' });
    expect(result).toMatchObject({ delivered: true, responseStatus: 202 });
    expect(result.responseBody).toMatch(/^accepted x+$/);
    expect(result.responseBody).toHaveLength(1000);
    const got = bodiesWithId(result.eventId)[0]!;
    expect(
      new StandardWebhook(hook.secret).verify(got.body, got.headers as Record<string, string>),
    ).toMatchObject({
      type: 'webhook.test',
    });
    receiver.answer(() => ({ status: 500, body: 'broken' }));
    const failed = await callCommand(nc, notifierCommands.webhookTest, { id: hook.id, actor: 't' });
    expect(failed).toMatchObject({ delivered: false, responseStatus: 500, responseBody: 'broken' });
    // No retry, no log entry, no effect on health.
    await new Promise((r) => setTimeout(r, 300));
    expect(bodiesWithId(failed.eventId)).toHaveLength(1);
    expect(await deliveries(hook.id)).toEqual([]);
    expect((await getHook(hook.id)).state.consecutiveFailures).toBe(0);
  });

  it('after a rotation signs with both secrets for 24 h, then with the new one only', async () => {
    const hook: CreatedWebhook = await create(receiver.url);
    const rotated = await callCommand(nc, notifierCommands.webhookRotateSecret, { id: hook.id, actor: 't' });
    expect(rotated.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.previousSecretValidUntil) - now()).toBeGreaterThan(23.9 * HOUR);
    const during = await publish('fleet.ping', {});
    await until(() => bodiesWithId(during.id).length > 0, 'a delivery after rotation');
    const got = bodiesWithId(during.id)[0]!;
    const headers = got.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new StandardWebhook(hook.secret).verify(got.body, headers)).toBeTruthy();
    expect(new StandardWebhook(rotated.secret).verify(got.body, headers)).toBeTruthy();

    clockOffset = 25 * HOUR;
    const after = await publish('fleet.ping', {});
    await until(() => bodiesWithId(after.id).length > 0, 'a delivery after the grace');
    const later = bodiesWithId(after.id)[0]!;
    expect((later.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(() =>
      new StandardWebhook(hook.secret).verify(later.body, later.headers as Record<string, string>),
    ).toThrow();
  });
});

describe('notifications inbox', () => {
  it('makes notifications from events an operator must see, newest first, with read state', async () => {
    const before = (await callCommand(nc, notifierCommands.notificationsMarkAllRead, {})).unread;
    expect(before).toBe(0);
    await publish('coord.task-updated', { id: 'build-7', from: 'running', to: 'failed', reason: 'exit 2' });
    await publish('coord.task-updated', { id: 'build-8', from: 'queued', to: 'running' });
    // Notifications sort by their event's time (ms): keep the two apart.
    await new Promise((r) => setTimeout(r, 5));
    const rejected = await publish('settings.rejected', {
      field: 'maxTurns',
      value: 9999,
      reason: 'too big',
      restored: 30,
      actor: 'external',
    });
    await until(
      async () => (await callCommand(nc, notifierCommands.notificationsUnreadCount, {})).unread === 2,
      'two unread notifications',
    );
    const page = await callCommand(nc, notifierCommands.notificationsList, { unread: true, limit: 10 });
    expect(page.items.map((n) => n.kind)).toEqual(['settings-rejected', 'task-failed']);
    expect(page.unread).toBe(2);
    expect(page.items[1]).toMatchObject({
      title: 'Task build-7 failed',
      severity: 'error',
      link: '/tasks/build-7',
    });
    const announced = () =>
      eventsOf('notify.created').map((e) => (e.data as { notification: { id: string } }).notification.id);
    await until(
      () => page.items.every((n) => announced().includes(n.id)),
      `notify.created for both (saw ${announced().length})`,
    );

    // The same event again (a redelivery) makes no second notification.
    await js.publish('settings.rejected', JSON.stringify({ ...rejected }), { msgID: `${rejected.id}-again` });
    await new Promise((r) => setTimeout(r, 300));
    expect((await callCommand(nc, notifierCommands.notificationsUnreadCount, {})).unread).toBe(2);

    const read = await callCommand(nc, notifierCommands.notificationsMarkRead, { id: page.items[0]!.id });
    expect(read.read).toBe(true);
    expect((await callCommand(nc, notifierCommands.notificationsUnreadCount, {})).unread).toBe(1);
    expect(await callCommand(nc, notifierCommands.notificationsMarkAllRead, {})).toEqual({
      marked: 1,
      unread: 0,
    });
    const missing = await refusal(callCommand(nc, notifierCommands.notificationsMarkRead, { id: newId() }));
    expect(missing.code).toBe('not_found');
  });

  it('keeps the newest 500, across a restart', async () => {
    const total = (await callCommand(nc, notifierCommands.notificationsList, { limit: 1 })).total;
    const burst = 505 - total;
    // Pipelined; the last one a few ms later, so it is the newest by its event time.
    await Promise.all(
      Array.from({ length: burst - 1 }, (_, i) =>
        publish('backup.failed', { name: `nightly-${i}`, reason: 'disk full' }),
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    await publish('backup.failed', { name: `nightly-${burst - 1}`, reason: 'disk full' });
    await until(
      async () =>
        (await callCommand(nc, notifierCommands.notificationsList, { limit: 1 })).items[0]?.title ===
        `Backup failed: nightly-${burst - 1}`,
      'the newest notification',
      40_000,
    );
    await stopNotifier();
    await startNotifier();
    const page = await callCommand(nc, notifierCommands.notificationsList, { limit: 500 });
    expect(page.total).toBe(500);
    expect(page.items[0]!.title).toBe(`Backup failed: nightly-${burst - 1}`);
    expect(page.hasMore).toBe(false);
  }, 60_000);
});

describe('secrets', () => {
  it('never appear in a log line, an event, an audit entry or a stored record', async () => {
    // Runs last: everything the tests above did is in the logs and the traffic by now.
    expect(settings.everPut.length).toBeGreaterThan(5);
    expect(logLines.length).toBeGreaterThan(10);
    expect(traffic.some((t) => t.subject.startsWith('audit.notify.'))).toBe(true);
    expect(traffic.some((t) => t.subject.startsWith('$KV.notifier-webhooks.'))).toBe(true);
    for (const secret of settings.everPut) {
      const key = secret.slice('whsec_'.length);
      for (const line of logLines) expect(line.includes(key), 'a log line holds a secret').toBe(false);
      for (const t of traffic) expect(t.data.includes(key), `${t.subject} holds a secret`).toBe(false);
    }
  });
});
