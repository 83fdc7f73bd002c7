import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@jousting/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { beforeEach, expect } from 'vitest';
import type { Stack } from './stack.js';

const UI_INDEX = join(repoRoot(), 'services', 'gateway', 'ui', 'dist', 'index.html');
const CHROMIUM = '/usr/bin/chromium';

/**
 * The distribution's Chromium, headless (never a downloaded browser). Without the
 * background-networking flags it keeps dialing out, which this closed network refuses.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(UI_INDEX)) throw new Error(`${UI_INDEX} is missing: run \`npm run build -w @jousting/ui\``);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** A JSON call to the gateway with the stack's admin token. */
export async function adminApi<T>(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(stack.baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Retries `read` until the assertion that follows holds (the page updates asynchronously). */
export const eventually = <T>(read: () => T | Promise<T>, timeout = 15_000) =>
  expect.poll(read, { timeout, interval: 100 });

/** Short reads of the element with a data-testid on the page `current` returns. */
export function probes(current: () => Page) {
  return {
    text: (testId: string) => current().getByTestId(testId).textContent(),
    count: (testId: string) => current().getByTestId(testId).count(),
    attr: (testId: string, name: string) => current().getByTestId(testId).getAttribute(name),
  };
}

export interface UiOptions {
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

/** Chromium with one light page: what a UI test file drives. `grant` permissions on one origin. */
export async function openUi(
  options: UiOptions & { grant?: { permissions: string[]; origin: string } } = {},
): Promise<{ browser: Browser; context: BrowserContext; page: Page }> {
  const browser = await launchChromium();
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1440, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  if (options.grant)
    await context.grantPermissions(options.grant.permissions, { origin: options.grant.origin });
  const page = await context.newPage();
  return { browser, context, page };
}

/** A failing test leaves a picture of the page behind, in /tmp/ui-failed-<test name>.png. */
export function screenshotOnFailure(current: () => Page | undefined): void {
  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(async () => {
      await current()?.screenshot({
        path: `/tmp/ui-failed-${task.name.replace(/\W+/g, '-').slice(0, 60)}.png`,
      });
    });
  });
}

/** Opens `url` and submits `token` on the login form it shows. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('login-submit').click();
}

/** Signs in as the stack's admin and waits until the live connection is online. */
export async function signInAsAdmin(page: Page, stack: Stack): Promise<void> {
  await signIn(page, stack.baseUrl, stack.adminToken);
  await eventually(() => page.getByTestId('connection-status').textContent()).toBe('online');
}

/** A new API token with `role`, made by the admin. */
export async function createToken(
  stack: Stack,
  name: string,
  role: 'viewer' | 'operator' | 'admin',
): Promise<string> {
  const created = await adminApi<{ token: string }>(stack, 'POST', '/api/tokens', { name, role });
  expect(created.status).toBe(201);
  return created.body.token;
}

/**
 * A second browser window signed in with `token` at `url` (another user next to the admin's page),
 * closed after `use`.
 */
export async function asOtherUser(
  browser: Browser,
  login: { url: string; token: string } & UiOptions,
  use: (page: Page) => Promise<void>,
): Promise<void> {
  const context = await browser.newContext({
    viewport: login.viewport ?? { width: 1440, height: 900 },
    ...(login.colorScheme ? { colorScheme: login.colorScheme } : {}),
  });
  try {
    const page = await context.newPage();
    await signIn(page, login.url, login.token);
    await use(page);
  } finally {
    await context.close();
  }
}

/** The data-testids of the sidebar's main links, top to bottom. */
export const sidebarOrder = (page: Page) =>
  page
    .locator('.sidebar .nav-list')
    .first()
    .locator('a')
    .evaluateAll((links) => links.map((a) => a.getAttribute('data-testid')));
