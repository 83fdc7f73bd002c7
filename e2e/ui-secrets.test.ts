import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditEntry } from '@jousting/contracts';
import { launchService } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  asOtherUser,
  createToken,
  eventually,
  openUi,
  probes,
  screenshotOnFailure,
  sidebarOrder,
  signInAsAdmin,
} from './browser.js';
import { type Stack, startStack } from './stack.js';

// The secrets page of the operator UI in a real (system) Chromium against the real gateway and
// settings service (with its vault) on a real NATS. Needs the built services and UI
// (`npm run build`). Both services log at debug level, and no stored value may appear in their
// output. Screenshots: /tmp/ui-secrets.png, /tmp/ui-secrets-operator.png.

const FIRST = `ghp_${randomBytes(12).toString('hex')}`;
const SECOND = `ghp_${randomBytes(12).toString('hex')}`;

let stack: Stack;
let browser: Browser;
let page: Page;
let nc: NatsConnection;
const audit: AuditEntry[] = [];

const { text, count } = probes(() => page);

const revealedState = (name: string) =>
  page.getByTestId(`secret-value-${name}`).getAttribute('data-revealed');

beforeAll(async () => {
  stack = await startStack({ services: ['settings', 'gateway'], env: { LOG_LEVEL: 'debug' } });
  nc = await connect({ servers: stack.nats.url });
  nc.subscribe('audit.settings.>', { callback: (_e, m) => void audit.push(AuditEntry.parse(m.json())) });
  await nc.flush();
  ({ browser, page } = await openUi());
});

screenshotOnFailure(() => page);

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  const outputs = Object.values(stack?.services ?? {}).map((s) => [s.name, s.output()] as const);
  await stack?.stop();
  // After everything above: the values went through the gateway and the vault, never into a log.
  for (const [name, output] of outputs) {
    expect(output.length, `${name} wrote logs`).toBeGreaterThan(0);
    expect(output, `${name} logged a secret value`).not.toContain(FIRST);
    expect(output, `${name} logged a secret value`).not.toContain(SECOND);
  }
  expect(JSON.stringify(audit)).not.toContain(FIRST);
  expect(JSON.stringify(audit)).not.toContain(SECOND);
});

describe('operator UI: secrets', () => {
  it('signs in as admin and finds the empty Secrets page after Settings in the sidebar', async () => {
    await signInAsAdmin(page, stack);
    const nav = await sidebarOrder(page);
    expect(nav.indexOf('nav-secrets')).toBe(nav.indexOf('nav-settings') + 1);
    await page.getByTestId('nav-secrets').click();
    await eventually(() => text('secrets-empty')).toContain('No secrets yet');
  });

  it('checks the form before sending, then stores a secret that is listed masked', async () => {
    await page.getByTestId('secret-form-submit').click();
    await eventually(() => text('secret-form-error-name')).toContain('Letters, digits');
    expect(await text('secret-form-error-value')).toContain('Enter the value');
    await page.getByTestId('secret-form-name').fill('bad-name');
    await page.getByTestId('secret-form-value').fill(FIRST);
    await page.getByTestId('secret-form-submit').click();
    await eventually(() => text('secret-form-error-name')).toContain('Letters, digits');

    await page.getByTestId('secret-form-name').fill('GITHUB_TOKEN');
    await page.getByTestId('secret-form-description').fill('CI pushes to the release repo');
    expect(await page.getByTestId('secret-form-value').getAttribute('type')).toBe('password');
    await page.getByTestId('secret-form-submit').click();
    await eventually(() => count('secret-row-GITHUB_TOKEN')).toBe(1);
    expect(await count('secret-form-error-name')).toBe(0);
    // The form is cleared and the row shows no value.
    expect(await page.getByTestId('secret-form-value').inputValue()).toBe('');
    expect(await revealedState('GITHUB_TOKEN')).toBe('false');
    expect(await text('secret-row-GITHUB_TOKEN')).not.toContain(FIRST);
    expect(await text('secret-version-GITHUB_TOKEN')).toBe('1');
    expect(await text('secret-description-GITHUB_TOKEN')).toBe('CI pushes to the release repo');
    expect(await page.content()).not.toContain(FIRST);
  });

  it('reveals the value for an admin (audited) and hides it again on click', async () => {
    const before = audit.length;
    await page.getByTestId('secret-reveal-GITHUB_TOKEN').click();
    await eventually(() => revealedState('GITHUB_TOKEN')).toBe('true');
    expect(await text('secret-value-GITHUB_TOKEN')).toBe(FIRST);
    await eventually(async () => audit.slice(before).map((a) => [a.action, a.target, a.actor])).toEqual([
      ['secret-revealed', 'secret:GITHUB_TOKEN', 'token:admin'],
    ]);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: '/tmp/ui-secrets.png', fullPage: true });

    await page.getByTestId('secret-hide-GITHUB_TOKEN').click();
    await eventually(() => revealedState('GITHUB_TOKEN')).toBe('false');
    expect(await page.content()).not.toContain(FIRST);
  });

  it('replaces the value: version 2, and a reveal shows the new value', async () => {
    await page.getByTestId('secret-replace-GITHUB_TOKEN').click();
    expect(await page.getByTestId('secret-form-name').inputValue()).toBe('GITHUB_TOKEN');
    await page.getByTestId('secret-form-value').fill(SECOND);
    await page.getByTestId('secret-form-submit').click();
    await eventually(() => text('secret-version-GITHUB_TOKEN')).toBe('2');
    // The description was left empty, so it is kept.
    expect(await text('secret-description-GITHUB_TOKEN')).toBe('CI pushes to the release repo');
    await page.getByTestId('secret-reveal-GITHUB_TOKEN').click();
    await eventually(() => text('secret-value-GITHUB_TOKEN')).toBe(SECOND);
    await page.getByTestId('secret-hide-GITHUB_TOKEN').click();
  });

  it('shows an operator the names without values, form or actions; the API refuses an operator reveal', async () => {
    await adminApi(stack, 'PUT', '/api/secrets/SLACK_TOKEN', { value: FIRST, description: 'alerts' });
    const token = await createToken(stack, 'ui-secrets-operator', 'operator');
    const refused = await fetch(`${stack.baseUrl}/api/secrets/SLACK_TOKEN/reveal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain(FIRST);

    const login = { url: `${stack.baseUrl}/secrets`, token, colorScheme: 'dark' as const };
    await asOtherUser(browser, login, async (opage) => {
      await opage.getByTestId('secrets-readonly').waitFor();
      await opage.getByTestId('secret-row-SLACK_TOKEN').waitFor();
      await opage.getByTestId('secret-row-GITHUB_TOKEN').waitFor();
      expect(await opage.getByTestId('secret-form').count()).toBe(0);
      expect(await opage.getByTestId('secret-reveal-SLACK_TOKEN').count()).toBe(0);
      expect(await opage.getByTestId('secret-delete-SLACK_TOKEN').count()).toBe(0);
      expect(await opage.getByTestId('secret-value-SLACK_TOKEN').getAttribute('data-revealed')).toBe('false');
      expect(await opage.content()).not.toContain(FIRST);
      await opage.screenshot({ path: '/tmp/ui-secrets-operator.png', fullPage: false });
    });
  });

  it('deletes only after confirmation', async () => {
    // The admin page heard of SLACK_TOKEN through the live feed.
    await eventually(() => count('secret-row-SLACK_TOKEN')).toBe(1);
    await page.getByTestId('secret-delete-SLACK_TOKEN').click();
    await eventually(() => page.getByTestId('confirm-dialog').isVisible()).toBe(true);
    expect(await text('confirm-dialog')).toContain('Delete secret SLACK_TOKEN?');
    await page.getByTestId('confirm-cancel').click();
    await eventually(() => page.getByTestId('confirm-dialog').isVisible()).toBe(false);
    expect(await count('secret-row-SLACK_TOKEN')).toBe(1);

    await page.getByTestId('secret-delete-SLACK_TOKEN').click();
    await page.getByTestId('confirm-ok').click();
    await eventually(() => count('secret-row-SLACK_TOKEN')).toBe(0);
    expect(await count('secret-row-GITHUB_TOKEN')).toBe(1);
    const listed = await adminApi<{ items: Array<{ name: string }> }>(stack, 'GET', '/api/secrets');
    expect(listed.body.items.map((i) => i.name)).toEqual(['GITHUB_TOKEN']);
  });
});

describe('settings service start-up with a bad master key', () => {
  it('exits 1 naming JOUSTING_MASTER_KEY when it is malformed, without printing it', async () => {
    const bad = `not-a-key-${randomBytes(6).toString('hex')}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'jousting-bad-key-'));
    const failure = await launchService('settings', {
      natsUrl: stack.nats.url,
      // The stack's own settings service answers health on this NATS: wait for the exit instead.
      ready: async () => false,
      readyTimeoutMs: 15_000,
      env: { JOUSTING_MASTER_KEY: bad, JOUSTING_DATA_DIR: dataDir },
    }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/settings exited with 1 during start/);
    expect(failure).toMatch(
      /invalid environment: JOUSTING_MASTER_KEY must be 32 bytes as 64 hex characters or as base64/,
    );
    expect(failure).not.toContain(bad);
  });

  it('exits 1 naming the key file when master.key has the wrong length', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jousting-bad-key-file-'));
    writeFileSync(join(dataDir, 'master.key'), 'sixteen bytes!!!');
    const failure = await launchService('settings', {
      natsUrl: stack.nats.url,
      // The stack's own settings service answers health on this NATS: wait for the exit instead.
      ready: async () => false,
      readyTimeoutMs: 15_000,
      env: { JOUSTING_DATA_DIR: dataDir },
    }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/settings exited with 1 during start/);
    expect(failure).toContain(`${join(dataDir, 'master.key')} holds 16 bytes, not 32: refusing to start`);
  });
});
