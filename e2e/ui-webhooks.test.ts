import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  asOtherUser,
  createToken,
  eventually,
  openUi,
  probes,
  screenshotOnFailure,
  signInAsAdmin,
} from './browser.js';
import { jousting as runCli } from './cli.js';
import { type Stack, startStack, workerEnv } from './stack.js';

// The webhooks page, the notification bell and the notifications page of the operator UI in a
// real (system) Chromium against the whole stack (settings, coordinator, reference worker,
// notifier, gateway) on a real NATS, with an HTTP receiver in this test on 127.0.0.1. Signatures
// are checked with the `standardwebhooks` library and the secret copied from the page.
// Needs `npm run build`. Screenshots: /tmp/ui-webhooks.png, /tmp/ui-webhooks-secret.png,
// /tmp/ui-bell.png, /tmp/ui-notifications.png.

interface Received {
  headers: Record<string, string>;
  body: string;
}

const RECEIVER_ANSWER = 'thanks from the receiver';
const received: Received[] = [];
let receiver: Server;
let receiverUrl = '';
let stack: Stack;
let browser: Browser;
let page: Page;
let webhookId = '';
let secret = '';
const secretsShown: string[] = [];

const { text, count } = probes(() => page);

const api = <T>(method: string, path: string, body?: unknown) => adminApi<T>(stack, method, path, body);

const jousting = (...args: string[]) => runCli(stack, ...args);

/** The payload when a request verifies against `key` (throws otherwise). */
const verify = (r: Received, key: string) =>
  new StandardWebhook(key).verify(r.body, r.headers) as { type: string; id: string; data: unknown };
const receivedOfType = (type: string) =>
  received.filter((r) => (JSON.parse(r.body) as { type?: string }).type === type);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(RECEIVER_ANSWER);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/jousting`;

  stack = await startStack({
    services: ['settings', 'coordinator', 'worker', 'notifier', 'gateway'],
    env: {
      ...workerEnv('wh-worker'),
      COORD_CIRCUIT_FAILURES: '1000',
      LOG_LEVEL: 'debug',
    },
  });
  // The receiver is on loopback, which the notifier refuses unless told otherwise.
  const allowed = await api('PATCH', '/api/settings', { webhookAllowPrivateUrls: true, maxTaskRetries: 0 });
  expect(allowed.status).toBe(200);
  ({ browser, page } = await openUi({
    grant: { permissions: ['clipboard-read', 'clipboard-write'], origin: stack.baseUrl },
  }));
});

screenshotOnFailure(() => page);

afterAll(async () => {
  await browser?.close();
  const outputs = Object.values(stack?.services ?? {}).map((s) => [s.name, s.output()] as const);
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  // Signing secrets went from the notifier to this page, never into a log line.
  for (const [name, output] of outputs) {
    for (const s of secretsShown) expect(output, `${name} logged a signing secret`).not.toContain(s.slice(6));
  }
});

describe('operator UI: webhooks', () => {
  it('signs in, finds Webhooks in the sidebar and the bell without a count', async () => {
    await signInAsAdmin(page, stack);
    await page.getByTestId('bell').waitFor();
    expect(await count('bell-count')).toBe(0);
    await page.getByTestId('nav-webhooks').click();
    await eventually(() => text('wh-empty')).toContain('No webhooks yet');
  });

  it('checks the form, then creates a webhook and shows its secret once, copyable', async () => {
    await page.getByTestId('wh-new').click();
    await page.getByTestId('wh-form-submit').click();
    await eventually(() => text('wh-form-error-url')).toContain('Enter the URL');
    expect(await text('wh-form-error-events')).toContain('at least one event pattern');
    expect(await text('wh-form-error-label')).toContain('Give it a name');

    await page.getByTestId('wh-form-url').fill(receiverUrl);
    await page.getByTestId('wh-form-events').fill('coord.task-created, coord.>.bad');
    await page.getByTestId('wh-form-label').fill('e2e receiver');
    await page.getByTestId('wh-form-submit').click();
    await eventually(() => text('wh-form-error-events')).toContain('"coord.>.bad" is not a pattern');

    await page.getByTestId('wh-form-events').fill('coord.task-created');
    await page.getByTestId('wh-form-description').fill('checks signatures');
    await page.getByTestId('wh-form-submit').click();
    await page.getByTestId('wh-secret-box').waitFor();
    expect(await text('wh-secret-box')).toContain("you won't see it again");
    const shown = (await text('wh-secret'))?.trim() ?? '';
    expect(shown).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.getByTestId('wh-secret-copy').click();
    await eventually(() => text('wh-secret-copy')).toBe('Copied');
    await page.screenshot({ path: '/tmp/ui-webhooks-secret.png', fullPage: false });
    // What a person would paste: the page wrote it to the clipboard.
    secret = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(secret).toBe(shown);
    secretsShown.push(secret);

    const listed = await api<{ items: Array<{ id: string; label: string; hasSecret: boolean }> }>(
      'GET',
      '/api/webhooks',
    );
    expect(listed.body.items).toMatchObject([{ label: 'e2e receiver', hasSecret: true }]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    webhookId = listed.body.items[0]?.id ?? '';
    await eventually(() => text(`wh-state-${webhookId}`)).toBe('Active');

    await page.getByTestId('wh-secret-done').click();
    expect(await count('wh-secret-box')).toBe(0);
    expect(await page.content()).not.toContain(secret);
  });

  it('sends a test: the page shows status, time and body; the receiver got a signed webhook.test', async () => {
    await page.getByTestId(`wh-test-${webhookId}`).click();
    const result = `wh-test-result-${webhookId}`;
    await eventually(() => count(result)).toBe(1);
    expect(await page.getByTestId(result).getAttribute('data-delivered')).toBe('true');
    expect(await text(`${result}-summary`)).toMatch(/^Delivered: HTTP 200 in \d+(\.\d)? (ms|s)$/);
    expect(await text(`${result}-body`)).toBe(RECEIVER_ANSWER);
    const tests = receivedOfType('webhook.test');
    expect(tests).toHaveLength(1);
    expect(verify(tests[0]!, secret).type).toBe('webhook.test');
    expect(() => verify(tests[0]!, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toThrow();
  });

  it('a new task is delivered, signed, and shows in the delivery log live', async () => {
    await page.getByTestId(`wh-deliveries-${webhookId}`).click();
    await eventually(() => count(`wh-log-empty-${webhookId}`)).toBe(1);
    const created = await api<{ task: { id: string } }>('POST', '/api/tasks', {
      title: 'announce me',
      kind: 'exec',
      payload: { command: 'true' },
    });
    expect(created.status).toBe(201);
    await eventually(() => receivedOfType('coord.task-created').length).toBe(1);
    const request = receivedOfType('coord.task-created')[0]!;
    const payload = verify(request, secret);
    expect(payload).toMatchObject({ type: 'coord.task-created' });
    expect(JSON.stringify(payload.data)).toContain(created.body.task.id);

    // The log row is the delivery whose id the receiver got as webhook-id.
    const row = page.getByTestId(`wh-delivery-${request.headers['webhook-id']}`);
    await eventually(() => row.getAttribute('data-status')).toBe('delivered');
    expect(await row.getAttribute('data-event-type')).toBe('coord.task-created');
    expect(await row.textContent()).toMatch(/HTTP 200 in \d+/);
    await eventually(() => text(`wh-last-${webhookId}`)).toMatch(/^200 · /);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: '/tmp/ui-webhooks.png', fullPage: true });
  });

  it('redelivers from the log with the same webhook-id', async () => {
    const first = receivedOfType('coord.task-created')[0]!;
    await page.getByTestId(`wh-redeliver-${first.headers['webhook-id']}`).click();
    await eventually(() => receivedOfType('coord.task-created').length).toBe(2);
    const again = receivedOfType('coord.task-created')[1]!;
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(verify(again, secret).type).toBe('coord.task-created');
  });

  it('the CLI sees the same webhook, log and test answer', async () => {
    const ls = await jousting('webhooks', 'ls', '--json');
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout).items).toMatchObject([{ id: webhookId, label: 'e2e receiver' }]);
    expect(ls.stdout).not.toContain(secret);
    const log = await jousting('webhooks', 'deliveries', webhookId, '--status', 'delivered');
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/coord\.task-created\s+delivered\s+\d+\s+200 \(\d+ ms\)/);
    const test = await jousting('webhooks', 'test', webhookId);
    expect(test).toMatchObject({ code: 0 });
    expect(test.stdout).toContain(`delivered: HTTP 200 in`);
    expect(test.stdout).toContain(RECEIVER_ANSWER);
    expect(verify(receivedOfType('webhook.test').at(-1)!, secret).type).toBe('webhook.test');
  });

  it('rotates the secret after a confirmation: the new one is shown once, both sign for now', async () => {
    await page.getByTestId(`wh-rotate-${webhookId}`).click();
    await eventually(() => page.getByTestId('confirm-dialog').isVisible()).toBe(true);
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('wh-secret-box').waitFor();
    expect(await text('wh-secret-box')).toContain('The previous secret stays valid until');
    const fresh = (await text('wh-secret'))?.trim() ?? '';
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    secretsShown.push(fresh);
    await page.getByTestId('wh-secret-done').click();

    await page.getByTestId(`wh-test-${webhookId}`).click();
    await eventually(() => receivedOfType('webhook.test').length).toBe(3);
    const signed = receivedOfType('webhook.test')[2]!;
    expect(signed.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify(signed, fresh).type).toBe('webhook.test');
    expect(verify(signed, secret).type).toBe('webhook.test');
  });

  it('disables and enables it, and deletes it only after a confirmation', async () => {
    await page.getByTestId(`wh-toggle-${webhookId}`).click();
    await eventually(() => text(`wh-state-${webhookId}`)).toBe('Paused');
    await page.getByTestId(`wh-toggle-${webhookId}`).click();
    await eventually(() => text(`wh-state-${webhookId}`)).toBe('Active');

    await page.getByTestId(`wh-delete-${webhookId}`).click();
    await eventually(() => page.getByTestId('confirm-dialog').isVisible()).toBe(true);
    await page.getByTestId('confirm-cancel').click();
    expect(await count(`wh-row-${webhookId}`)).toBe(1);
    // Kept for the operator's view below; deleted at the end.
  });

  it('shows an operator the webhooks and logs, without the admin actions and with why', async () => {
    const token = await createToken(stack, 'ui-wh-operator', 'operator');
    const login = { url: `${stack.baseUrl}/webhooks`, token, colorScheme: 'dark' as const };
    await asOtherUser(browser, login, async (opage) => {
      await opage.getByTestId('wh-readonly').waitFor();
      expect(await opage.getByTestId('wh-readonly').textContent()).toContain('admin');
      await opage.getByTestId(`wh-row-${webhookId}`).waitFor();
      for (const id of [
        'wh-new',
        `wh-test-${webhookId}`,
        `wh-rotate-${webhookId}`,
        `wh-delete-${webhookId}`,
      ]) {
        expect(await opage.getByTestId(id).count(), id).toBe(0);
      }
      await opage.getByTestId(`wh-deliveries-${webhookId}`).click();
      await opage.getByTestId(`wh-log-${webhookId}`).locator('[data-status="delivered"]').first().waitFor();
      expect(await opage.locator('[data-testid^="wh-redeliver-"]').count()).toBe(0);
    });
  });

  it('deletes the webhook', async () => {
    await page.getByTestId(`wh-delete-${webhookId}`).click();
    await page.getByTestId('confirm-ok').click();
    await eventually(() => count(`wh-row-${webhookId}`)).toBe(0);
    expect((await api<{ items: unknown[] }>('GET', '/api/webhooks')).body.items).toEqual([]);
  });
});

describe('operator UI: notifications', () => {
  it('the bell counts a task that fails for good, live', async () => {
    const failing = await api<{ task: { id: string } }>('POST', '/api/tasks', {
      title: 'fails for good',
      kind: 'exec',
      payload: { command: 'sh', args: ['-c', 'exit 3'] },
    });
    expect(failing.status).toBe(201);
    const taskId = failing.body.task.id;
    // No reload: the count comes from notify.created over the live connection.
    await eventually(() => count('bell-count'), 30_000).toBe(1);
    expect(Number(await text('bell-count'))).toBeGreaterThan(0);
    await page.getByTestId('bell').click();
    await page.getByTestId('bell-menu').waitFor();
    await eventually(() => page.getByTestId('bell-menu').textContent()).toContain(`Task ${taskId}`);
    await page.screenshot({ path: '/tmp/ui-bell.png', fullPage: false });
    await page.getByTestId('bell-all').click();
    await eventually(() => count('bell-menu')).toBe(0);
    await page.waitForURL(`${stack.baseUrl}/notifications`);
  });

  it('lists them newest first with unread highlighted and links; mark all read clears the bell', async () => {
    const listed = await api<{
      items: Array<{ id: string; kind: string; read: boolean; link?: string }>;
      unread: number;
    }>('GET', '/api/notifications');
    expect(listed.body.unread).toBeGreaterThan(0);
    const failed = listed.body.items.find((n) => n.kind === 'task-failed');
    expect(failed).toBeDefined();
    const item = page.getByTestId(`notif-${failed!.id}`);
    await eventually(() => item.getAttribute('data-read')).toBe('false');
    expect(await item.getAttribute('class')).toContain('is-unread');
    expect(await page.getByTestId(`notif-link-${failed!.id}`).getAttribute('href')).toBe(failed!.link);
    // The bell and the inbox agree (the dead letter's notification may land a moment later).
    await eventually(async () => {
      const { unread } = (await api<{ unread: number }>('GET', '/api/notifications')).body;
      return (await text('bell-count')) === (unread > 9 ? '9+' : String(unread));
    }).toBe(true);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: '/tmp/ui-notifications.png', fullPage: false });

    await page.getByTestId('notif-read-all').click();
    await eventually(() => count('bell-count')).toBe(0);
    await eventually(() => item.getAttribute('data-read')).toBe('true');
    expect((await api<{ unread: number }>('GET', '/api/notifications')).body.unread).toBe(0);
  });

  it('the CLI lists them as read', async () => {
    const ls = await jousting('notifications', 'ls', '--json');
    expect(ls.code).toBe(0);
    const listed = JSON.parse(ls.stdout) as { unread: number; items: Array<{ kind: string; read: boolean }> };
    expect(listed.unread).toBe(0);
    expect(listed.items.map((n) => n.kind).sort()).toEqual(['dead-lettered', 'task-failed']);
    expect(listed.items.every((n) => n.read)).toBe(true);
    expect((await jousting('notifications', 'ls', '--unread')).stdout).toContain(
      'no notifications (0 unread)',
    );
  });
});
