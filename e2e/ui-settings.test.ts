import { existsSync } from 'node:fs';
import { launchService } from '@jousting/testing';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, asOtherUser, createToken, eventually, openUi, probes, signIn } from './browser.js';
import { type Stack, startStack } from './stack.js';

// The operator UI in a real (system) Chromium against a real gateway, settings service and NATS.
// Needs the built services and UI: `npm run build` (or `npx tsc -b services/settings services/gateway`
// and `npm run build -w @jousting/ui`).

const SCREENSHOT_LIGHT = '/tmp/ui-settings.png';
const SCREENSHOT_DARK = '/tmp/ui-settings-dark.png';

let stack: Stack;
let browser: Browser;
let page: Page;
let nc: NatsConnection;
let adminName: string;

const { text } = probes(() => page);

const toastTexts = async () => (await page.getByTestId('toast').allTextContents()).join('\n');
const inputValue = (key: string) => page.locator(`[name="${key}"]`).inputValue();
const theme = () => page.locator('html').getAttribute('data-theme');

const api = <T>(method: string, path: string, body?: unknown) => adminApi<T>(stack, method, path, body);

const serverSettings = async () =>
  (await api<{ settings: Record<string, unknown> }>('GET', '/api/settings')).body.settings;

async function putKv(key: string, value: unknown): Promise<void> {
  const kv = await new Kvm(nc).open('settings');
  await kv.put(key, JSON.stringify(value));
}

/** The maxTurns property of the settings schema, with or without a `$ref` into `$defs`. */
function maxTurnsProperty(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = schema.$defs as
    | Record<string, { properties: Record<string, Record<string, unknown>> }>
    | undefined;
  const root = defs?.Settings ?? (schema as { properties: Record<string, Record<string, unknown>> });
  const prop = root.properties.maxTurns;
  if (!prop) throw new Error('the settings schema has no maxTurns');
  return prop;
}

beforeAll(async () => {
  stack = await startStack();
  nc = await connect({ servers: stack.nats.url });
  adminName = (await api<{ name: string }>('GET', '/api/auth/me')).body.name;
  ({ browser, page } = await openUi({ viewport: { width: 1280, height: 900 } }));
});

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await stack?.stop();
});

describe('operator UI: settings', () => {
  it('refuses a malformed token on the client and an unknown one from the server', async () => {
    await signIn(page, stack.baseUrl, 'not-a-token');
    await eventually(() => text('login-error')).toContain('starts with "jst_"');

    await page.getByTestId('token-input').fill(`jst_${'0'.repeat(64)}`);
    await page.getByTestId('login-submit').click();
    await eventually(() => text('login-error')).toMatch(/\S/);
    expect(await page.getByTestId('connection-status').count()).toBe(0);
  });

  it('signs in with the admin token and shows the live connection online', async () => {
    await page.getByTestId('token-input').fill(stack.adminToken);
    await page.getByTestId('login-submit').click();
    await eventually(() => text('user-name')).toBe(adminName);
    expect(await text('user-role')).toBe('admin');
    await eventually(() => text('connection-status')).toBe('online');
  });

  it('shows NATS and the settings service as ready on the overview', async () => {
    await eventually(() => text('nats-status')).toBe('Connected');
    await eventually(() => page.getByTestId('service-settings').getAttribute('data-ok')).toBe('true');
  });

  it('shows the current settings in a form built from the schema', async () => {
    await page.getByTestId('nav-settings').click();
    const current = await serverSettings();
    await eventually(() => inputValue('maxTurns')).toBe(String(current.maxTurns));
    expect(await inputValue('model')).toBe(current.model);
    expect(await page.locator('[name="autoPush"]').isChecked()).toBe(current.autoPush);
    expect(await page.getByLabel('Max turns', { exact: true }).getAttribute('max')).toBe('200');
    expect(await page.getByTestId('group-coordinator').locator('h2').textContent()).toBe('Coordinator');
  });

  it('validates on the client: an out-of-range value is explained and cannot be saved', async () => {
    await page.locator('[name="maxTurns"]').fill('999');
    await eventually(() => text('field-error-maxTurns')).toContain('Must be at most 200');
    expect(await page.getByTestId('save-settings').isDisabled()).toBe(true);
    await page.getByTestId('discard-settings').click();
    await eventually(() => page.getByTestId('field-error-maxTurns').count()).toBe(0);
  });

  it('shows the server refusal inline when the client lets a value through', async () => {
    // A schema with a looser maximum stands in for a client whose schema is out of date.
    await page.route('**/api/settings/schema', async (route) => {
      const res = await route.fetch();
      const schema = (await res.json()) as Record<string, unknown>;
      maxTurnsProperty(schema).maximum = 1000;
      await route.fulfill({ response: res, json: schema });
    });
    await page.reload();
    await page.locator('[name="maxTurns"]').fill('999');
    expect(await page.getByTestId('field-error-maxTurns').count()).toBe(0);
    await page.getByTestId('save-settings').click();
    await eventually(() => text('server-error-maxTurns')).toMatch(/^Server: .+/);
    await eventually(() => text('last-error')).toContain('maxTurns:');
    expect((await serverSettings()).maxTurns).not.toBe(999);
    await page.unroute('**/api/settings/schema');
    await page.reload();
    await eventually(() => text('connection-status')).toBe('online');
  });

  it('saves only the changed field and confirms it', async () => {
    const before = (await serverSettings()).maxTurns;
    await page.locator('[name="maxTurns"]').fill('50');
    await eventually(() => text('save-bar')).toContain('1 unsaved change: maxTurns');
    await page.getByTestId('save-settings').click();
    await eventually(toastTexts).toContain(`Saved 1 setting`);
    expect(await toastTexts()).toContain(`maxTurns ${before} → 50`);
    await eventually(() => text('last-action')).toContain('Saved 1 setting');
    expect((await serverSettings()).maxTurns).toBe(50);
    // The event of our own save is not announced as somebody else's change.
    await page.waitForTimeout(500);
    expect(await toastTexts()).not.toContain('changed maxTurns');
  });

  it('updates live when the API changes a setting, and keeps a field the user is editing', async () => {
    await page.locator('[name="maxContinuations"]').fill('9');
    const patch = await api('PATCH', '/api/settings', { maxTurns: 60, maxContinuations: 7 });
    expect(patch.status).toBe(200);

    await eventually(() => inputValue('maxTurns')).toBe('60');
    await eventually(toastTexts).toContain(`${adminName} changed maxTurns 50 → 60`);
    expect(await inputValue('maxContinuations')).toBe('9');
    await eventually(() => page.getByTestId('remote-badge-maxContinuations').count()).toBe(1);
    await page.getByTestId('use-remote-maxContinuations').click();
    expect(await inputValue('maxContinuations')).toBe('7');
  });

  it('updates live on a direct KV write by "external" and reports a refused one', async () => {
    await putKv('maxTurns', 77);
    await eventually(() => inputValue('maxTurns')).toBe('77');
    await eventually(toastTexts).toContain('external changed maxTurns 60 → 77');

    await putKv('maxTurns', 999);
    await eventually(toastTexts).toContain('Setting change refused');
    expect(await toastTexts()).toContain('maxTurns to 999');
    await eventually(() => inputValue('maxTurns')).toBe('77');
  });

  it('catches up on changes made while the gateway was down', async () => {
    const old = stack.services.gateway;
    if (!old) throw new Error('no gateway process');
    await old.stop();
    await eventually(() => text('connection-status')).not.toBe('online');
    await putKv('maxTurns', 88);

    const port = new URL(stack.baseUrl).port;
    stack.services.gateway = await launchService('gateway', {
      natsUrl: stack.nats.url,
      env: {
        JOUSTING_DATA_DIR: stack.dataDir,
        JOUSTING_ADMIN_TOKEN: stack.adminToken,
        GATEWAY_PORT: port,
        GATEWAY_HOST: '127.0.0.1',
      },
    });
    await eventually(() => text('connection-status'), 30_000).toBe('online');
    await eventually(() => inputValue('maxTurns')).toBe('88');
    await eventually(toastTexts).toContain('external changed maxTurns 77 → 88');
    expect(await text('last-action')).toContain('caught up on 1 missed event');
  });

  it('lists every event on the live events page, filterable by pattern', async () => {
    await page.getByTestId('nav-events').click();
    await eventually(() => page.getByTestId('event-row').count()).toBeGreaterThanOrEqual(4);
    await page.getByTestId('event-filter').fill('settings.rejected');
    const shownTypes = async () => {
      const rows = await page.getByTestId('event-row').all();
      return [...new Set(await Promise.all(rows.map((row) => row.getAttribute('data-type'))))];
    };
    await eventually(shownTypes).toEqual(['settings.rejected']);
    await page.getByTestId('event-row').first().getByRole('button').click();
    expect(await page.getByTestId('event-json').first().textContent()).toContain('"field": "maxTurns"');
  });

  it('looks right in light mode and keeps dark mode across a reload', async () => {
    await page.getByTestId('nav-settings').click();
    await page.locator('[name="maxTurns"]').fill('120');
    await eventually(() => inputValue('maxTurns')).toBe('120');
    expect(await theme()).toBe('light');
    await page.screenshot({ path: SCREENSHOT_LIGHT, fullPage: false });

    await page.getByTestId('theme-toggle').click();
    expect(await theme()).toBe('dark');
    await page.reload();
    await eventually(() => text('connection-status')).toBe('online');
    expect(await theme()).toBe('dark');
    await eventually(() => inputValue('maxTurns')).toBe('88');
    await page.locator('[name="maxTurns"]').fill('999');
    await page.screenshot({ path: SCREENSHOT_DARK, fullPage: false });
    expect(existsSync(SCREENSHOT_LIGHT) && existsSync(SCREENSHOT_DARK)).toBe(true);
  });

  it('lets a viewer read the settings but not change them', async () => {
    const token = await createToken(stack, 'ui-viewer', 'viewer');
    const login = { url: `${stack.baseUrl}/settings`, token, viewport: { width: 1280, height: 900 } };
    await asOtherUser(browser, login, async (vpage) => {
      await vpage.getByTestId('readonly-notice').waitFor();
      expect(await vpage.getByTestId('user-role').textContent()).toBe('viewer');
      expect(await vpage.locator('[name="maxTurns"]').inputValue()).toBe(
        String((await serverSettings()).maxTurns),
      );
      expect(await vpage.locator('[name="maxTurns"]').isDisabled()).toBe(true);
      expect(await vpage.getByTestId('save-settings').isDisabled()).toBe(true);
      expect(await vpage.getByTestId('reset-all').isDisabled()).toBe(true);
    });
  });
});
