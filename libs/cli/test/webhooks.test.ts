import type { Delivery, Notification, Webhook } from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli, errorResponse, gatewayStandIn, jsonResponse, T0 } from './cli-runner.js';

const TOKEN = `jst_${'b'.repeat(64)}`;
const SECRET = `whsec_${'A'.repeat(43)}=`;
const NEW_SECRET = `whsec_${'B'.repeat(43)}=`;
const WH = '01JD0000000000000000000001';
const DL = '01JD00000000000000000000D1';
const N1 = '01JD00000000000000000000N1';
const N2 = '01JD00000000000000000000N2';

const webhookOf = (fields: Partial<Webhook> = {}): Webhook => ({
  id: WH,
  url: 'https://ci.example.com/hook',
  events: ['coord.*'],
  format: 'generic',
  label: 'ci',
  active: true,
  hasSecret: true,
  state: { consecutiveFailures: 0 },
  createdAt: T0,
  updatedAt: T0,
  ...fields,
});

const delivery: Delivery = {
  id: DL,
  webhookId: WH,
  eventId: 'ev-1',
  eventType: 'coord.task-created',
  status: 'pending',
  attempts: [{ at: T0, responseStatus: 503, durationMs: 12, error: 'HTTP 503' }],
  attemptCount: 1,
  nextAttemptAt: new Date(Date.now() + 60_000).toISOString(),
  createdAt: T0,
  updatedAt: T0,
};

const notificationOf = (id: string, read: boolean): Notification => ({
  id,
  kind: 'dead-lettered',
  severity: 'error',
  title: `Task ${id} dead-lettered`,
  body: 'exited with code 3',
  link: `/tasks/${id}`,
  eventId: `ev-${id}`,
  createdAt: T0,
  read,
});

const error = (status: number, code: string, message: string, fields?: unknown) =>
  errorResponse(status, code, message, fields ? { fields } : undefined);

/** A stand-in for the gateway's /api/webhooks and /api/notifications routes, recording requests. */
function fakeNotifyGateway() {
  const webhooks = new Map<string, Webhook>();
  const notifications = [notificationOf(N2, false), notificationOf(N1, true)];
  let testAnswer: unknown = {
    eventId: 'ev-t',
    delivered: true,
    responseStatus: 200,
    responseBody: 'ok!',
    durationMs: 7,
  };
  const { fetch, requests } = gatewayStandIn(({ method, url, parts, body }) => {
    if (parts[1] === 'notifications') {
      if (method === 'GET') {
        const unreadOnly = url.searchParams.get('unread') === 'true';
        const items = notifications.filter((n) => !unreadOnly || !n.read);
        return jsonResponse(200, {
          items,
          total: items.length,
          limit: 50,
          offset: 0,
          hasMore: false,
          unread: notifications.filter((n) => !n.read).length,
        });
      }
      if (parts[2] === 'read-all') {
        const marked = notifications.filter((n) => !n.read).length;
        for (const n of notifications) n.read = true;
        return jsonResponse(200, { marked, unread: 0 });
      }
      const found = notifications.find((n) => n.id === parts[2]);
      if (!found) return error(404, 'not_found', `notification ${parts[2]} not found`);
      found.read = true;
      return jsonResponse(200, found);
    }
    if (method === 'GET' && parts.length === 2) return jsonResponse(200, { items: [...webhooks.values()] });
    if (method === 'POST' && parts.length === 2) {
      if (String(body.url).includes('127.0.0.1')) {
        return error(400, 'validation_failed', 'invalid webhook', [
          { field: 'url', message: 'resolves to a loopback address' },
        ]);
      }
      const created = webhookOf({ ...body, format: body.format ?? 'generic', active: body.active ?? true });
      webhooks.set(created.id, created);
      return jsonResponse(201, { ...created, secret: SECRET });
    }
    const found = webhooks.get(parts[2] ?? '');
    if (!found) return error(404, 'not_found', `webhook ${parts[2]} not found`);
    if (method === 'GET' && parts.length === 3) return jsonResponse(200, found);
    if (method === 'PATCH') {
      const { description, ...rest } = body;
      const updated: Webhook = { ...found, ...rest };
      if (description === null) delete updated.description;
      else if (description !== undefined) updated.description = description;
      if (body.active === true) delete updated.disabledReason;
      webhooks.set(found.id, updated);
      return jsonResponse(200, updated);
    }
    if (method === 'DELETE') {
      webhooks.delete(found.id);
      return jsonResponse(200, { ok: true });
    }
    if (parts[3] === 'test') return jsonResponse(200, testAnswer);
    if (parts[3] === 'rotate-secret') {
      return jsonResponse(200, {
        webhook: found,
        secret: NEW_SECRET,
        previousSecretValidUntil: '2026-01-03T03:04:05.000Z',
      });
    }
    if (parts[3] === 'deliveries' && method === 'GET') {
      return jsonResponse(200, { items: [delivery], total: 3, limit: 1, offset: 0, hasMore: true });
    }
    if (parts[5] === 'redeliver') {
      if (parts[4] !== DL) return error(404, 'not_found', `delivery ${parts[4]} not found`);
      return jsonResponse(200, { ...delivery, attempts: [], nextAttemptAt: T0 });
    }
    return error(404, 'not_found', `no route for ${method} ${url.pathname}`);
  });
  return {
    fetch,
    requests,
    webhooks,
    notifications,
    answerTestWith(answer: unknown) {
      testAnswer = answer;
    },
  };
}

const env = { JOUSTING_URL: 'http://gateway.test', JOUSTING_TOKEN: TOKEN };
let gateway: ReturnType<typeof fakeNotifyGateway>;
let jousting: ReturnType<typeof cli>;
beforeEach(() => {
  gateway = fakeNotifyGateway();
  jousting = cli(env, gateway.fetch);
});

describe('jousting webhooks add', () => {
  it('registers a webhook and prints the secret once with a warning', async () => {
    const res = await jousting(
      'webhooks',
      'add',
      'https://ci.example.com/hook',
      '--events',
      'coord.*, settings.changed',
      '--format',
      'slack',
      '--description',
      'CI',
    );
    expect(res.code).toBe(0);
    expect(gateway.requests).toEqual([
      {
        method: 'POST',
        path: '/api/webhooks',
        query: {},
        body: {
          url: 'https://ci.example.com/hook',
          events: ['coord.*', 'settings.changed'],
          label: 'ci.example.com',
          format: 'slack',
          description: 'CI',
        },
      },
    ]);
    expect(res.stdout).toContain(`created webhook ${WH} (ci.example.com)`);
    expect(res.stdout).toContain(`signing secret: ${SECRET}`);
    expect(res.stdout).toMatch(/warning: This secret is shown once/);
  });

  it('--json prints the created webhook with its secret, the warning goes to stderr', async () => {
    const res = await jousting(
      'webhooks',
      'add',
      'https://x.example/h',
      '--events',
      '>',
      '--label',
      'all',
      '--json',
    );
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ id: WH, label: 'all', secret: SECRET, events: ['>'] });
    expect(res.stderr).toMatch(/shown once/);
  });

  it('refuses bad patterns, URL, format or a missing --events without sending anything', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['webhooks', 'add', 'https://x.example', '--events', 'coord.*,bad pattern!'],
        /"pattern!" is not an event pattern/,
      ],
      [
        ['webhooks', 'add', 'https://x.example', '--events', 'coord.>.x'],
        /"coord\.>\.x" is not an event pattern/,
      ],
      [['webhooks', 'add', 'ftp://x.example', '--events', '>'], /not an http or https URL/],
      [
        ['webhooks', 'add', 'https://x.example', '--events', '>', '--format', 'teams'],
        /--format must be generic, slack or discord/,
      ],
      [['webhooks', 'add', 'https://x.example'], /missing --events/],
      [['webhooks', 'add', 'https://x.example', '--events', ' , '], /at least one event pattern/],
    ];
    for (const [argv, message] of cases) {
      const res = await jousting(...argv);
      expect(res.code, argv.join(' ')).toBe(64);
      expect(res.stderr, argv.join(' ')).toMatch(message);
    }
    expect(gateway.requests).toEqual([]);
  });

  it('shows the server refusal with its field (exit 1)', async () => {
    const res = await jousting('webhooks', 'add', 'http://127.0.0.1:9/h', '--events', '>');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('error: invalid webhook');
    expect(res.stderr).toContain('url: resolves to a loopback address');
  });
});

describe('jousting webhooks ls, show, update, rm', () => {
  beforeEach(() => {
    gateway.webhooks.set(WH, webhookOf());
    gateway.webhooks.set(
      '01JD0000000000000000000002',
      webhookOf({
        id: '01JD0000000000000000000002',
        label: 'gone',
        active: false,
        disabledReason: 'endpoint answered 410 Gone',
        disabledAt: T0,
        state: { consecutiveFailures: 1, lastAttemptAt: T0, lastResponseStatus: 410 },
      }),
    );
  });

  it('ls prints a table with the state and last status, never a secret', async () => {
    const res = await jousting('webhooks', 'ls');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+LABEL\s+STATE\s+FORMAT\s+EVENTS\s+LAST\s+URL$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${WH}\\s+ci\\s+active\\s+generic\\s+coord\\.\\*\\s+-\\s+https://ci`),
    );
    expect(lines[2]).toMatch(
      /gone\s+disabled: endpoint answered 410 Gone\s+generic\s+coord\.\*\s+410 \d+d ago/,
    );
    const json = JSON.parse((await jousting('webhooks', 'ls', '--json')).stdout);
    expect(json.items).toHaveLength(2);
    expect(JSON.stringify(json)).not.toContain('whsec_');
  });

  it('show prints the details; a malformed id is refused locally', async () => {
    const res = await jousting('webhooks', 'show', '01JD0000000000000000000002');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/state:\s+disabled: endpoint answered 410 Gone/);
    expect(res.stdout).toMatch(/secret:\s+set \(never shown again\)/);
    const bad = await jousting('webhooks', 'show', 'nope');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('"nope" is not a webhook id');
  });

  it('update sends only the given fields; --description "" removes it; --active true re-enables', async () => {
    const res = await jousting(
      'webhooks',
      'update',
      '01JD0000000000000000000002',
      '--active',
      'true',
      '--events',
      'coord.dead-lettered',
      '--description',
      '',
    );
    expect(res.code).toBe(0);
    expect(gateway.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/api/webhooks/01JD0000000000000000000002',
      body: { active: true, events: ['coord.dead-lettered'], description: null },
    });
    expect(res.stdout).toContain('updated webhook 01JD0000000000000000000002 (gone): active');
    const nothing = await jousting('webhooks', 'update', WH);
    expect(nothing.code).toBe(64);
    expect(nothing.stderr).toContain('nothing to change');
    const badBool = await jousting('webhooks', 'update', WH, '--active', 'yes');
    expect(badBool.stderr).toContain('--active must be true or false');
  });

  it('rm deletes; a second rm fails with the server message', async () => {
    expect(await jousting('webhooks', 'rm', WH)).toMatchObject({
      code: 0,
      stdout: `deleted webhook ${WH}\n`,
    });
    const again = await jousting('webhooks', 'rm', WH, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('jousting webhooks test, deliveries, redeliver, rotate-secret', () => {
  beforeEach(() => {
    gateway.webhooks.set(WH, webhookOf());
  });

  it('test shows status, time and body; a failed test exits 1', async () => {
    const ok = await jousting('webhooks', 'test', WH);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('delivered: HTTP 200 in 7 ms');
    expect(ok.stdout).toContain('ok!');
    gateway.answerTestWith({
      eventId: 'ev-t',
      delivered: false,
      responseStatus: 500,
      responseBody: 'boom',
      durationMs: 30,
      error: 'HTTP 500',
    });
    const failed = await jousting('webhooks', 'test', WH);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('NOT delivered: HTTP 500 after 30 ms');
    expect(failed.stdout).toContain('boom');
  });

  it('deliveries passes the filter and prints attempts, next try and the next offset', async () => {
    const res = await jousting('webhooks', 'deliveries', WH, '--status', 'pending', '--limit', '1');
    expect(res.code).toBe(0);
    expect(gateway.requests.at(-1)).toMatchObject({ query: { status: 'pending', limit: '1' } });
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST\s+NEXT\s+CREATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${DL}\\s+coord\\.task-created\\s+pending\\s+1\\s+503 \\(12 ms\\)\\s+in \\d+s`),
    );
    expect(lines[2]).toBe('… more: --offset 1 (3 in all)');
    const bad = await jousting('webhooks', 'deliveries', WH, '--status', 'lost');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('use pending, delivered or failed');
  });

  it('redeliver posts to the delivery; rotate-secret prints the new secret once and the grace time', async () => {
    const re = await jousting('webhooks', 'redeliver', WH, DL);
    expect(re.code).toBe(0);
    expect(gateway.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: `/api/webhooks/${WH}/deliveries/${DL}/redeliver`,
    });
    expect(re.stdout).toContain(`redelivering ${DL} (coord.task-created): pending`);
    const rotated = await jousting('webhooks', 'rotate-secret', WH);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`signing secret: ${NEW_SECRET}`);
    expect(rotated.stdout).toContain('the previous secret keeps signing until 2026-01-03T03:04:05.000Z');
    expect(rotated.stdout).toContain('shown once');
  });

  it('is listed in the help', async () => {
    const res = await jousting('webhooks', '--help');
    expect(res.code).toBe(0);
    for (const sub of [
      'ls',
      'add',
      'show',
      'update',
      'rm',
      'test',
      'deliveries',
      'redeliver',
      'rotate-secret',
    ]) {
      expect(res.stdout).toContain(`webhooks ${sub}`);
    }
  });
});

describe('jousting notifications', () => {
  it('ls marks unread ones and prints the count; --unread asks for unread only', async () => {
    const res = await jousting('notifications', 'ls');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[1]).toMatch(
      new RegExp(
        `^\\*\\s+${N2}\\s+error\\s+dead-lettered\\s+\\S+ ago\\s+Task ${N2} dead-lettered\\s+/tasks/${N2}$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^\\s+${N1}`));
    expect(lines.at(-1)).toBe('1 unread (* = unread)');
    const unread = await jousting('notifications', 'ls', '--unread', '--json');
    expect(gateway.requests.at(-1)?.query).toEqual({ unread: 'true' });
    expect(JSON.parse(unread.stdout)).toMatchObject({ unread: 1, items: [{ id: N2 }] });
  });

  it('read marks one; read-all marks the rest and says how many', async () => {
    expect((await jousting('notifications', 'read', N2)).stdout).toBe(
      `read ${N2}: Task ${N2} dead-lettered\n`,
    );
    expect(gateway.notifications.every((n) => n.read)).toBe(true);
    gateway.notifications[0]!.read = false;
    const all = await jousting('notifications', 'read-all');
    expect(all).toMatchObject({ code: 0, stdout: 'marked 1 notification as read\n' });
    const bad = await jousting('notifications', 'read', 'x');
    expect(bad.code).toBe(64);
  });
});
