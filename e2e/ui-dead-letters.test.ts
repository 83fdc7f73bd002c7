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
import { type Stack, startStack, workerEnv } from './stack.js';

// The dead-letters page of the operator UI (and the retry state on a task's page) in a real
// (system) Chromium against a real gateway, coordinator, worker, settings service and NATS.
// Needs the built services and UI (`npm run build`). Retries back off 200 ms so they are quick.
// Screenshot: /tmp/ui-dead-letters.png.

const WORKER_ID = 'dl-worker';

let stack: Stack;
let browser: Browser;
let page: Page;
let originalRetries: number | undefined;
let fatalId = '';
let transientId = '';

const { text, count } = probes(() => page);

const api = <T>(method: string, path: string, body?: unknown) => adminApi<T>(stack, method, path, body);

interface TaskJson {
  id: string;
  status: string;
  statusReason?: string;
  attempts?: unknown[];
  attemptCount?: number;
}

async function setMaxRetries(n: number): Promise<void> {
  const res = await api('PATCH', '/api/settings', { maxTaskRetries: n });
  expect(res.status).toBe(200);
  // The coordinator hears of the change over NATS.
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function createExec(title: string, command: string, args: string[] = []): Promise<string> {
  const res = await api<{ task: TaskJson }>('POST', '/api/tasks', {
    title,
    kind: 'exec',
    payload: { command, args },
  });
  expect(res.status).toBe(201);
  return res.body.task.id;
}

const getTask = async (id: string) => (await api<TaskJson>('GET', `/api/tasks/${id}`)).body;
const attemptsOf = (t: TaskJson) => t.attempts?.length ?? t.attemptCount ?? 0;

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'worker', 'gateway'],
    env: {
      ...workerEnv(WORKER_ID),
      COORD_RETRY_BASE_MS: '200',
      COORD_RETRY_MAX_MS: '200',
      // The one worker fails tasks on purpose, again and again: its circuit must stay closed here.
      COORD_CIRCUIT_FAILURES: '1000',
    },
  });
  ({ browser, page } = await openUi());
  const settings = await api<{ settings: { maxTaskRetries: number } }>('GET', '/api/settings');
  originalRetries = settings.body.settings.maxTaskRetries;
});

screenshotOnFailure(() => page);

afterAll(async () => {
  if (stack && originalRetries !== undefined) {
    await api('PATCH', '/api/settings', { maxTaskRetries: originalRetries }).catch(() => undefined);
  }
  await browser?.close();
  await stack?.stop();
});

describe('operator UI: dead letters', () => {
  it('signs in and shows the empty dead-letters page, after Workers in the sidebar', async () => {
    await signInAsAdmin(page, stack);
    const nav = await sidebarOrder(page);
    expect(nav.indexOf('nav-dead-letters')).toBe(nav.indexOf('nav-workers') + 1);
    await page.getByTestId('nav-dead-letters').click();
    await eventually(() => text('dl-empty')).toContain('failed for good');
    expect(await text('dl-empty')).toContain('maxTaskRetries');
  });

  it('shows a fatal and an out-of-retries task live as they are dead-lettered', async () => {
    await setMaxRetries(0);
    fatalId = await createExec('Missing command', 'jousting-no-such-command-xyz');
    transientId = await createExec('Exits with 3', 'sh', ['-c', 'exit 3']);
    // No reload: the rows come from the live events.
    await eventually(() => count(`dl-row-${fatalId}`)).toBe(1);
    await eventually(() => count(`dl-row-${transientId}`)).toBe(1);
    const fatalRow = page.getByTestId(`dl-row-${fatalId}`);
    const transientRow = page.getByTestId(`dl-row-${transientId}`);
    expect(await fatalRow.textContent()).toContain('fatal');
    expect(await transientRow.textContent()).toContain('transient');
    expect(await fatalRow.getAttribute('data-status')).toBe('open');
    expect(await page.getByTestId(`dl-link-${fatalId}`).getAttribute('href')).toBe(`/tasks/${fatalId}`);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: '/tmp/ui-dead-letters.png', fullPage: false });
  });

  it('dismisses one with a reason: it moves to Dismissed', async () => {
    await page.getByTestId(`dl-dismiss-${fatalId}`).click();
    await page.getByTestId('dl-dismiss-dialog-submit').click();
    // A reason is required.
    await eventually(() => text('dl-field-error-reason')).toContain('Say why');
    await page.getByTestId('dl-dismiss-reason').fill('typo in the command, recreated by hand');
    await page.getByTestId('dl-dismiss-dialog-submit').click();
    await eventually(() => count('dl-dismiss-dialog')).toBe(0);
    await eventually(() => count(`dl-row-${fatalId}`)).toBe(0);
    expect(await count(`dl-row-${transientId}`)).toBe(1);

    await page.getByTestId('dl-filter-dismissed').click();
    await eventually(() => page.getByTestId(`dl-row-${fatalId}`).getAttribute('data-status')).toBe(
      'dismissed',
    );
    expect(await text(`dl-reason-${fatalId}`)).toBe('typo in the command, recreated by hand');
    expect(await count(`dl-row-${transientId}`)).toBe(0);
    // Dismissed letters can still be retried, not dismissed again.
    expect(await count(`dl-dismiss-${fatalId}`)).toBe(0);
    await page.getByTestId('dl-filter-open').click();
    await eventually(() => count(`dl-row-${transientId}`)).toBe(1);
  });

  it('retries the other: it leaves the list, runs again and shows as retrying on its page', async () => {
    // Many quick retries from here on, so the task spends a while waiting to retry.
    await setMaxRetries(20);
    const before = attemptsOf(await getTask(transientId));
    await page.getByTestId(`dl-retry-${transientId}`).click();
    await page.getByTestId('dl-retry-priority').fill('abc');
    await page.getByTestId('dl-retry-dialog-submit').click();
    await eventually(() => text('dl-field-error-priority')).toContain('whole number');
    await page.getByTestId('dl-retry-priority').fill('5');
    await page.getByTestId('dl-retry-labels').fill('linux');
    await page.getByTestId('dl-retry-dialog-submit').click();
    await eventually(() => count('dl-retry-dialog')).toBe(0);
    await eventually(() => count(`dl-row-${transientId}`)).toBe(0);
    await eventually(async () => attemptsOf(await getTask(transientId))).toBeGreaterThan(before);

    await page.goto(`${stack.baseUrl}/tasks/${transientId}`);
    await eventually(() => count('detail-retrying'), 20_000).toBe(1);
    expect(await text('detail-retrying')).toContain('Waiting to retry');
    // The retry time comes from the next coord.task-retrying event the page hears.
    await eventually(() => count('detail-retry-at'), 20_000).toBe(1);
    expect(await text('detail-retry-at')).toMatch(/retr(y|ies) left/);
    await page.screenshot({ path: '/tmp/ui-task-retrying.png', fullPage: false });
  });

  it('links a task that failed for good to its dead letter', async () => {
    await page.goto(`${stack.baseUrl}/tasks/${transientId}`);
    await eventually(() => count('detail-dead-letter'), 30_000).toBe(1);
    await page.getByTestId('detail-dead-letter-link').click();
    await eventually(() => page.getByTestId(`dl-row-${transientId}`).getAttribute('class')).toContain(
      'row-focus',
    );
  });

  it('shows a server refusal inside the dialog and on the status strip', async () => {
    // Retried through the API while the dialog is open: the page's retry then finds no dead letter.
    await page.getByTestId(`dl-retry-${transientId}`).click();
    const res = await api('POST', `/api/dead-letters/${transientId}/retry`, {});
    expect(res.status).toBe(200);
    await page.getByTestId('dl-retry-dialog-submit').click();
    await eventually(() => count('dl-retry-dialog-failure')).toBe(1);
    expect(await text('last-error')).toContain(`Retry of ${transientId} failed`);
    await page.getByTestId('dl-retry-dialog-cancel').click();
    await eventually(() => count('dl-retry-dialog')).toBe(0);
  });

  it('lets a viewer see dead letters, without actions and with an explanation', async () => {
    const token = await createToken(stack, 'ui-dead-letters-viewer', 'viewer');
    const login = { url: `${stack.baseUrl}/dead-letters`, token, colorScheme: 'dark' as const };
    await asOtherUser(browser, login, async (vpage) => {
      await vpage.getByTestId('readonly-notice').waitFor();
      expect(await vpage.getByTestId('readonly-notice').textContent()).toContain('retry or dismiss');
      await vpage.getByTestId('dl-filter-all').click();
      await vpage.getByTestId(`dl-row-${fatalId}`).waitFor();
      expect(await vpage.getByTestId(`dl-retry-${fatalId}`).count()).toBe(0);
      expect(await vpage.getByTestId(`dl-dismiss-${fatalId}`).count()).toBe(0);
      await vpage.screenshot({ path: '/tmp/ui-dead-letters-dark.png', fullPage: false });
    });
  });
});
