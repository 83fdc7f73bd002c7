import { endpoint, type HandlerContext, newId, serveCommands } from '@jousting/bus';
import {
  CreatedWebhook,
  Delivery,
  JoustingError,
  type Notification,
  NotificationPage,
  notifierCommands,
  Page,
  RotatedWebhookSecret,
  type Webhook,
  WebhookTestResult,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { client, createToken, type GatewayUnderTest, silentLogger, startGateway } from './harness.js';

interface NotifierCall {
  op: string;
  request: Record<string, unknown>;
  traceId: string;
}

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const AT = '2026-11-22T10:00:00.000Z';

/**
 * A stand-in notifier on the real NATS server: the `api.notifier.*` commands over webhooks and
 * notifications in memory, with the real one's error replies (not_found). The real service is
 * services/notifier; this one tests the gateway alone. Every call is recorded.
 */
async function startNotifierResponder(nc: NatsConnection) {
  const calls: NotifierCall[] = [];
  const hooks = new Map<string, Webhook>();
  const notifications: Notification[] = [
    {
      id: newId(),
      kind: 'task-failed',
      severity: 'error',
      title: 'Task a1 failed',
      body: 'exit 1',
      link: '/tasks/a1',
      eventId: 'e1',
      createdAt: AT,
      read: false,
    },
  ];
  const record = (op: string, request: object, ctx: HandlerContext) =>
    calls.push({ op, request: request as Record<string, unknown>, traceId: ctx.traceId });
  const mustGet = (id: string) => {
    const hook = hooks.get(id);
    if (!hook) throw new JoustingError('not_found', `webhook ${id} does not exist`);
    return hook;
  };
  const delivery = (webhookId: string): Delivery => ({
    id: newId(),
    webhookId,
    eventId: 'e1',
    eventType: 'coord.task-created',
    status: 'delivered',
    attempts: [{ at: AT, responseStatus: 200, durationMs: 3 }],
    attemptCount: 1,
    createdAt: AT,
    updatedAt: AT,
  });
  const service = await serveCommands(nc, { name: 'notifier', version: '0.0.0-test', logger: silentLogger }, [
    endpoint(notifierCommands.webhookCreate, async (req, ctx) => {
      record('webhook-create', req, ctx);
      const { actor: _a, traceId: _t, ...fields } = req;
      const hook: Webhook = {
        id: newId(),
        ...fields,
        hasSecret: true,
        state: { consecutiveFailures: 0 },
        createdAt: AT,
        updatedAt: AT,
      };
      hooks.set(hook.id, hook);
      return { ...hook, secret: SECRET };
    }),
    endpoint(notifierCommands.webhookList, async (req, ctx) => {
      record('webhook-list', req, ctx);
      return { items: [...hooks.values()] };
    }),
    endpoint(notifierCommands.webhookGet, async (req, ctx) => {
      record('webhook-get', req, ctx);
      return mustGet(req.id);
    }),
    endpoint(notifierCommands.webhookUpdate, async (req, ctx) => {
      record('webhook-update', req, ctx);
      const { id, actor: _a, traceId: _t, description, ...rest } = req;
      const next = { ...mustGet(id), ...rest, ...(description ? { description } : {}) };
      hooks.set(id, next);
      return next;
    }),
    endpoint(notifierCommands.webhookDelete, async (req, ctx) => {
      record('webhook-delete', req, ctx);
      mustGet(req.id);
      hooks.delete(req.id);
      return { id: req.id, deleted: true as const };
    }),
    endpoint(notifierCommands.webhookTest, async (req, ctx) => {
      record('webhook-test', req, ctx);
      mustGet(req.id);
      return { eventId: newId(), delivered: true, responseStatus: 204, durationMs: 4 };
    }),
    endpoint(notifierCommands.webhookDeliveries, async (req, ctx) => {
      record('webhook-deliveries', req, ctx);
      mustGet(req.id);
      return { items: [delivery(req.id)], total: 1, limit: req.limit, offset: req.offset, hasMore: false };
    }),
    endpoint(notifierCommands.webhookRedeliver, async (req, ctx) => {
      record('webhook-redeliver', req, ctx);
      mustGet(req.id);
      return { ...delivery(req.id), id: req.deliveryId, status: 'pending' as const };
    }),
    endpoint(notifierCommands.webhookRotateSecret, async (req, ctx) => {
      record('webhook-rotate-secret', req, ctx);
      const hook = mustGet(req.id);
      return { webhook: hook, secret: SECRET, previousSecretValidUntil: '2026-11-23T10:00:00.000Z' };
    }),
    endpoint(notifierCommands.notificationsList, async (req, ctx) => {
      record('notifications-list', req, ctx);
      const items = notifications.filter((n) => !req.unread || !n.read);
      return { items, total: items.length, limit: req.limit, offset: req.offset, hasMore: false, unread: 1 };
    }),
    endpoint(notifierCommands.notificationsUnreadCount, async () => ({ unread: 1 })),
    endpoint(notifierCommands.notificationsMarkRead, async (req, ctx) => {
      record('notifications-mark-read', req, ctx);
      const n = notifications.find((x) => x.id === req.id);
      if (!n) throw new JoustingError('not_found', `notification ${req.id} does not exist`);
      n.read = true;
      return n;
    }),
    endpoint(notifierCommands.notificationsMarkAllRead, async (req, ctx) => {
      record('notifications-mark-all-read', req, ctx);
      return { marked: 1, unread: 0 };
    }),
  ]);
  await nc.flush();
  return { calls, hooks, notifications, stop: () => service.stop() };
}

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let admin: ReturnType<typeof client>;
let operator: ReturnType<typeof client>;
let viewer: ReturnType<typeof client>;
let notifier: Awaited<ReturnType<typeof startNotifierResponder>>;

const lastCall = (op: string) => notifier.calls.filter((c) => c.op === op).at(-1);
const newHook = { url: 'https://hooks.example.com/a', events: ['coord.*'], label: 'ops' };

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  admin = client(gw.url, await createToken(gw, 'hook-admin', 'admin'));
  operator = client(gw.url, await createToken(gw, 'hook-operator', 'operator'));
  viewer = client(gw.url, await createToken(gw, 'hook-viewer', 'viewer'));
});
afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});
beforeEach(async () => {
  notifier = await startNotifierResponder(nc);
});
afterEach(async () => {
  await notifier.stop();
});

describe('/api/webhooks', () => {
  it('creates a webhook as an admin: 201 with the secret, the caller as actor', async () => {
    const res = await admin('POST', '/api/webhooks', { body: { ...newHook, format: 'slack' } });
    expect(res.status).toBe(201);
    expect(CreatedWebhook.parse(res.json)).toMatchObject({ ...newHook, format: 'slack', secret: SECRET });
    const call = lastCall('webhook-create')!;
    expect(call.request).toMatchObject({
      ...newHook,
      format: 'slack',
      active: true,
      actor: 'token:hook-admin',
    });
    expect(call.request.traceId).toBe(call.traceId);
  });

  it('refuses a bad body by field before calling the notifier', async () => {
    for (const [body, field] of [
      [{ ...newHook, url: 'ftp://x.example.com/' }, 'url'],
      [{ ...newHook, events: ['a.>.b'] }, 'events.0'],
      [{ ...newHook, format: 'teams' }, 'format'],
      [{ ...newHook, colour: 'red' }, 'colour'],
    ] as const) {
      const res = await admin('POST', '/api/webhooks', { body });
      expect(res.status, field).toBe(400);
      expect(
        res.json.error.details.fields.map((f: { field: string }) => f.field),
        field,
      ).toContain(field);
    }
    expect(lastCall('webhook-create')).toBeUndefined();
  });

  it('lets operators read but only admins change where data goes; viewers see nothing', async () => {
    expect((await operator('POST', '/api/webhooks', { body: newHook })).status).toBe(403);
    expect((await viewer('GET', '/api/webhooks')).status).toBe(403);
    const created = (await admin('POST', '/api/webhooks', { body: newHook })).json;
    const list = await operator('GET', '/api/webhooks');
    expect(list.status).toBe(200);
    expect(list.json.items.map((h: Webhook) => h.id)).toEqual([created.id]);
    expect(list.text).not.toContain(SECRET);
    expect((await operator('GET', `/api/webhooks/${created.id}`)).json.label).toBe('ops');
    expect((await operator('DELETE', `/api/webhooks/${created.id}`)).status).toBe(403);
  });

  it('updates, tests, rotates and deletes one webhook; an unknown id is 404, a malformed one 400', async () => {
    const { id } = (await admin('POST', '/api/webhooks', { body: newHook })).json;
    const patched = await admin('PATCH', `/api/webhooks/${id}`, {
      body: { active: false, description: null },
    });
    expect(patched.status).toBe(200);
    expect(lastCall('webhook-update')?.request).toMatchObject({
      id,
      active: false,
      description: null,
      actor: 'token:hook-admin',
    });

    const tested = await admin('POST', `/api/webhooks/${id}/test`);
    expect(WebhookTestResult.parse(tested.json)).toMatchObject({ delivered: true, responseStatus: 204 });
    expect(lastCall('webhook-test')?.request).toMatchObject({ id, actor: 'token:hook-admin' });

    const rotated = await admin('POST', `/api/webhooks/${id}/rotate-secret`);
    expect(RotatedWebhookSecret.parse(rotated.json).secret).toBe(SECRET);

    expect((await admin('DELETE', `/api/webhooks/${id}`)).json).toEqual({ ok: true });
    const gone = await operator('GET', `/api/webhooks/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('not_found');
    const bad = await operator('GET', '/api/webhooks/not-a-ulid');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.error)).toContain('id');
  });

  it('lists deliveries with status and paging passed on, and redelivers one', async () => {
    const { id } = (await admin('POST', '/api/webhooks', { body: newHook })).json;
    const page = await operator('GET', `/api/webhooks/${id}/deliveries?status=failed&limit=5&offset=2`);
    expect(page.status).toBe(200);
    expect(Page(Delivery).parse(page.json).items[0]?.webhookId).toBe(id);
    expect(lastCall('webhook-deliveries')?.request).toEqual({ id, status: 'failed', limit: 5, offset: 2 });
    expect((await operator('GET', `/api/webhooks/${id}/deliveries?status=lost`)).status).toBe(400);
    expect((await operator('GET', `/api/webhooks/${id}/deliveries?limit=101`)).status).toBe(400);

    const deliveryId = newId();
    const again = await admin('POST', `/api/webhooks/${id}/deliveries/${deliveryId}/redeliver`);
    expect(again.status).toBe(200);
    expect(Delivery.parse(again.json)).toMatchObject({ id: deliveryId, status: 'pending' });
    expect(lastCall('webhook-redeliver')?.request).toMatchObject({
      id,
      deliveryId,
      actor: 'token:hook-admin',
    });
  });

  it('answers 503 when the notifier is not running', async () => {
    await notifier.stop();
    const res = await operator('GET', '/api/webhooks');
    expect(res.status).toBe(503);
    expect(res.json.error.message).toMatch(/notifier/);
    notifier = await startNotifierResponder(nc);
  });
});

describe('/api/notifications', () => {
  it('lists the inbox with the unread count for viewers, passing the filter on', async () => {
    const res = await viewer('GET', '/api/notifications?unread=true&limit=5');
    expect(res.status).toBe(200);
    const page = NotificationPage.parse(res.json);
    expect(page).toMatchObject({ unread: 1, total: 1 });
    expect(page.items[0]).toMatchObject({ kind: 'task-failed', link: '/tasks/a1' });
    expect(lastCall('notifications-list')?.request).toEqual({ unread: true, limit: 5, offset: 0 });
    await viewer('GET', '/api/notifications');
    expect(lastCall('notifications-list')?.request).toEqual({ limit: 50, offset: 0 });
    expect((await viewer('GET', '/api/notifications?unread=yes')).status).toBe(400);
  });

  it('marks one or all as read (operators), 404 for an unknown one', async () => {
    const id = notifier.notifications[0]!.id;
    expect((await viewer('POST', `/api/notifications/${id}/read`)).status).toBe(403);
    const read = await operator('POST', `/api/notifications/${id}/read`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ id, read: true });
    expect((await operator('POST', `/api/notifications/${newId()}/read`)).status).toBe(404);
    const all = await operator('POST', '/api/notifications/read-all');
    expect(all.json).toEqual({ marked: 1, unread: 0 });
    expect(lastCall('notifications-mark-all-read')).toBeDefined();
  });
});
