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
  signInAsAdmin,
} from './browser.js';
import { type Stack, startStack, workerEnv } from './stack.js';

// The task pages of the operator UI in a real (system) Chromium against a real gateway,
// coordinator, worker, settings service and NATS. Needs the built services and UI:
// `npm run build` (or `npx tsc -b services/settings services/coordinator services/worker
// services/gateway` and `npm run build -w @jousting/ui`). Screenshots go to /tmp/ui-*.png.

const WORKER_ID = 'ui-worker';
/** A kind no worker runs: such tasks stay queued, so their dependencies can still change. */
const HOLD = 'hold';

let stack: Stack;
let browser: Browser;
let page: Page;

const { text, count } = probes(() => page);

const shot = (name: string) => page.screenshot({ path: `/tmp/ui-${name}.png`, fullPage: false });

const api = <T>(method: string, path: string, body?: unknown) => adminApi<T>(stack, method, path, body);

interface TaskJson {
  id: string;
  title: string;
  status: string;
  deps: string[];
}

async function createTask(title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api<{ task: TaskJson }>('POST', '/api/tasks', {
    title,
    kind: HOLD,
    payload: {},
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.task.id;
}

const getTask = async (id: string) => (await api<TaskJson>('GET', `/api/tasks/${id}`)).body;

/** Center of an element on the page. */
async function center(testId: string): Promise<{ x: number; y: number }> {
  const box = await page.getByTestId(testId).boundingBox();
  if (!box) throw new Error(`${testId} is not on screen`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** In edit mode: drag from the right handle of `from` onto the task `to` (so `to` waits for `from`). */
async function dragDependency(from: string, to: string): Promise<void> {
  const start = await center(`graph-out-${from}`);
  const end = await center(`graph-node-${to}`);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move((start.x + end.x) / 2, (start.y + end.y) / 2, { steps: 8 });
  await page.mouse.move(end.x, end.y, { steps: 8 });
  await page.mouse.up();
}

/**
 * Clicks the edge `from → to` half way along (where its curve crosses the middle of the line
 * between its ends). A horizontal edge has no height, so Playwright would call it invisible.
 */
async function clickEdge(from: string, to: string): Promise<void> {
  const start = await center(`graph-out-${from}`);
  const target = await page.getByTestId(`graph-node-${to}`).boundingBox();
  if (!target) throw new Error(`${to} is not on screen`);
  await page.mouse.click((start.x + target.x) / 2, (start.y + target.y + target.height / 2) / 2);
}

/** Waits for the graph layout to stop moving (it is redone when nodes or edges change). */
async function settled(): Promise<void> {
  await eventually(() => text('graph-status')).not.toContain('laying out');
  await page.waitForTimeout(300);
}

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'worker', 'gateway'],
    env: workerEnv(WORKER_ID),
  });
  ({ browser, page } = await openUi());
});

screenshotOnFailure(() => page);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('operator UI: tasks, graph and workers', () => {
  it('signs in with the admin token', async () => {
    await signInAsAdmin(page, stack);
    for (const nav of ['nav-tasks', 'nav-graph', 'nav-workers']) expect(await count(nav)).toBe(1);
  });

  it('lists the worker as online on the workers page', async () => {
    await page.getByTestId('nav-workers').click();
    await eventually(() => page.getByTestId(`worker-row-${WORKER_ID}`).getAttribute('data-status')).toBe(
      'online',
    );
    expect(await text(`worker-status-${WORKER_ID}`)).toBe('online');
    expect(await page.getByTestId(`worker-row-${WORKER_ID}`).textContent()).toContain('exec');
    await shot('workers');
  });

  it('explains a field the server refuses next to that field', async () => {
    await page.getByTestId('nav-tasks').click();
    await page.getByTestId('view-board').click();
    await page.getByTestId('new-task').click();
    await page.getByTestId('input-title').fill('Refused');
    // The client checks a command is there …
    await page.getByTestId('create-task-submit').click();
    await eventually(() => text('field-error-payload.command')).toContain('Required');
    // … but takes any JSON for a custom kind; the server checks "exec" payloads and says which field.
    await page.getByTestId('kind-custom').click();
    await page.getByTestId('input-kind').fill('exec');
    await page.getByTestId('input-payload').fill('{"command": ""}');
    await page.getByTestId('create-task-submit').click();
    await eventually(() => text('field-error-payload')).toContain('command');
    await eventually(() => text('create-failure')).toContain('refused some fields');
    await shot('task-create-error');
    // Closing keeps the draft for later; Clear starts over.
    await page.getByTestId('create-task-dialog').getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => page.getByTestId('create-task-form').count()).toBe(0);
  });

  it('creates an exec task with the form and sees it reach complete on the board, live', async () => {
    await page.getByTestId('new-task').click();
    expect(await page.getByTestId('input-title').inputValue()).toBe('Refused');
    await page.getByTestId('create-task-clear').click();
    expect(await page.getByTestId('kind-exec').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('input-title').fill('Say hello');
    await page.getByTestId('input-payload.command').fill('echo');
    await page.getByTestId('add-arg').click();
    await page.getByTestId('input-payload.args.0').fill('hello');
    await page.getByTestId('input-labels').fill('linux,');
    expect(await text('command-preview')).toBe('$ echo hello');
    await page.getByTestId('create-task-submit').click();
    await eventually(() => page.getByTestId('create-task-form').count()).toBe(0);

    const listed = await api<{ items: TaskJson[] }>('GET', '/api/tasks?q=Say%20hello');
    const id = listed.body.items[0]?.id;
    if (!id) throw new Error('the task was not created');
    await eventually(() => page.getByTestId('column-complete').getByTestId(`task-card-${id}`).count()).toBe(
      1,
    );
    const card = page.getByTestId(`task-card-${id}`);
    expect(await card.getAttribute('data-status')).toBe('complete');
    expect(await card.textContent()).toContain('Say hello');
    expect(await card.textContent()).toContain(WORKER_ID);
    await shot('tasks-board');

    await card.click();
    await eventually(() => page.getByTestId('detail-status').getAttribute('data-status')).toBe('complete');
    await eventually(() => text('output')).toContain('hello');
    expect(await text('detail-command')).toBe('$ echo hello');
    expect(await page.getByTestId('attempt-1').getAttribute('data-outcome')).toBe('complete');
    expect(await text('detail-worker')).toContain(WORKER_ID);
    await shot('task-detail');
  });

  it('filters the list view by status and remembers the view', async () => {
    await page.getByTestId('nav-tasks').click();
    await page.getByTestId('view-list').click();
    await page.getByTestId('filter-status-complete').check();
    await eventually(() => page.locator('[data-testid^="task-row-"]').count()).toBeGreaterThan(0);
    const statuses = await page
      .locator('[data-testid^="task-row-"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['complete']));
    await shot('tasks-list');
    await page.reload();
    await eventually(() => page.getByTestId('task-list').count()).toBe(1);
    await page.getByTestId('view-board').click();
  });

  it('edits dependencies on the graph: drag to add, a refused cycle, click to remove', async () => {
    const a = await createTask('Fetch sources');
    const b = await createTask('Compile');
    const c = await createTask('Package');
    await page.getByTestId('nav-graph').click();
    await eventually(() => count(`graph-node-${c}`)).toBe(1);
    await settled();

    // `e` while typing in a field types; elsewhere it switches edit mode on.
    await page.getByTestId('graph-find').fill('e');
    expect(await page.getByTestId('graph-canvas').getAttribute('data-editing')).toBe('false');
    await page.getByTestId('graph-find').fill('');
    await page.getByTestId('graph-find').blur();
    await page.keyboard.press('e');
    await eventually(() => page.getByTestId('graph-canvas').getAttribute('data-editing')).toBe('true');

    await dragDependency(a, b);
    await eventually(() => count(`graph-edge-${a}->${b}`)).toBe(1);
    expect((await getTask(b)).deps).toEqual([a]);
    await settled();
    await page.getByTestId('graph-fit').click();
    await settled();
    await dragDependency(b, c);
    await eventually(() => count(`graph-edge-${b}->${c}`)).toBe(1);
    await settled();
    await page.getByTestId('graph-fit').click();
    await settled();

    // a would wait for c, which waits for b, which waits for a.
    await dragDependency(c, a);
    await eventually(() => text('cycle-banner')).toContain(`${a} → ${c} → ${b} → ${a}`);
    expect(await count(`graph-edge-${c}->${a}`)).toBe(0);
    expect((await getTask(a)).deps).toEqual([]);
    await shot('graph-cycle');

    await clickEdge(a, b);
    await eventually(() => text('edge-confirm')).toContain('would no longer wait for');
    await page.getByTestId('edge-remove-confirm').click();
    await eventually(() => count(`graph-edge-${a}->${b}`)).toBe(0);
    expect((await getTask(b)).deps).toEqual([]);
    await eventually(() => count(`graph-edge-${b}->${c}`)).toBe(1);
    await shot('graph');
    await page.keyboard.press('e');
    await eventually(() => page.getByTestId('graph-canvas').getAttribute('data-editing')).toBe('false');
  });

  it('shows dependencies added by someone else as they happen', async () => {
    const x = await createTask('Upstream');
    const y = await createTask('Downstream');
    await eventually(() => count(`graph-node-${y}`)).toBe(1);
    expect((await api('POST', `/api/tasks/${y}/deps`, { depId: x })).status).toBe(200);
    await eventually(() => count(`graph-edge-${x}->${y}`)).toBe(1);
  });

  it('cancels a task and shows the dependents canceled with it', async () => {
    const parent = await createTask('Migrate database');
    const child = await createTask('Deploy', { deps: [parent] });
    await page.goto(`${stack.baseUrl}/tasks/${parent}`);
    await eventually(() => text('detail-title')).toBe('Migrate database');
    await eventually(() => text('detail-dependents')).toContain(child);
    await page.getByTestId('cancel-task').click();
    await page.getByTestId('cancel-reason').fill('not today');
    await page.getByTestId('confirm-ok').click();
    await eventually(() => page.getByTestId(`cascade-${child}`).count()).toBe(1);
    await eventually(() => page.getByTestId('detail-status').getAttribute('data-status')).toBe('canceled');
    expect((await getTask(child)).status).toBe('canceled');
    await shot('task-cancel');
  });

  it('looks right in dark mode', async () => {
    await page.getByTestId('theme-toggle').click();
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    await shot('task-cancel-dark');
    await page.getByTestId('nav-tasks').click();
    await eventually(() => count('board')).toBe(1);
    await shot('tasks-board-dark');
    await page.getByTestId('new-task').click();
    await page.getByTestId('input-title').fill('Dark');
    await page.getByTestId('create-task-submit').click();
    await shot('task-create-dark');
    await page.keyboard.press('Escape');
    await page.getByTestId('nav-graph').click();
    await eventually(() => count('graph-canvas')).toBe(1);
    await settled();
    await page.keyboard.press('e');
    await shot('graph-dark');
    await page.keyboard.press('e');
    await page.getByTestId('nav-workers').click();
    await eventually(() => count(`worker-row-${WORKER_ID}`)).toBe(1);
    await shot('workers-dark');
  });

  it('never shows a blank or undefined critical field on any page', async () => {
    const broken = /\bundefined\b|\bNaN\b|\bnull\b|Invalid Date|\[object Object\]/;
    const pageText = async () => (await page.locator('main').innerText()).trim();
    const listed = await api<{ items: TaskJson[] }>('GET', '/api/tasks?limit=100');
    const someTask = listed.body.items[0];
    if (!someTask) throw new Error('no task to look at');
    for (const [nav, ready] of [
      ['nav-tasks', 'board'],
      ['nav-graph', 'graph-canvas'],
      ['nav-workers', `worker-row-${WORKER_ID}`],
    ] as const) {
      await page.getByTestId(nav).click();
      if (nav === 'nav-tasks') await page.getByTestId('view-board').click();
      await eventually(() => count(ready)).toBeGreaterThan(0);
      const shown = await pageText();
      expect(shown, `page behind ${nav}`).not.toMatch(broken);
      expect(shown.length).toBeGreaterThan(0);
    }
    await page.goto(`${stack.baseUrl}/tasks/${encodeURIComponent(someTask.id)}`);
    await eventually(() => page.getByTestId('detail-status').getAttribute('data-status')).toBe(
      someTask.status,
    );
    const detail = await pageText();
    expect(detail).not.toMatch(broken);
    expect(detail).toContain(someTask.id);
    expect(detail).toContain(someTask.title);
  });

  it('lets a viewer look but not change anything', async () => {
    const token = await createToken(stack, 'ui-tasks-viewer', 'viewer');
    const login = { url: `${stack.baseUrl}/graph`, token, viewport: { width: 1280, height: 900 } };
    await asOtherUser(browser, login, async (vpage) => {
      await vpage.getByTestId('readonly-notice').waitFor();
      expect(await vpage.getByTestId('graph-edit-toggle').isDisabled()).toBe(true);
      await vpage.keyboard.press('e');
      expect(await vpage.getByTestId('graph-canvas').getAttribute('data-editing')).toBe('false');
      await vpage.goto(`${stack.baseUrl}/tasks`);
      await vpage.getByTestId('readonly-notice').waitFor();
      expect(await vpage.getByTestId('new-task').isDisabled()).toBe(true);
    });
  });

  it('keeps a graph of 1,000 tasks usable while the tasks arrive live', async () => {
    await page.getByTestId('nav-graph').click();
    await settled();
    const id = (i: number) => `big-${String(i).padStart(4, '0')}`;
    // Ten waves of 100; each task waits for one or two tasks of the wave before.
    const tasks = Array.from({ length: 1000 }, (_, i) => ({
      id: id(i),
      title: `Step ${i}`,
      kind: HOLD,
      payload: {},
      deps: i < 100 ? [] : [...new Set([id(i - 100), id(i - 100 - (i % 100) + ((i * 7) % 100))])],
    }));
    const started = Date.now();
    expect((await api('POST', '/api/tasks/batch', { tasks })).status).toBe(201);
    const shown = async () => Number(/^(\d+) tasks/.exec((await text('graph-status')) ?? '')?.[1] ?? 0);
    await eventually(shown, 30_000).toBeGreaterThanOrEqual(1000);
    await settled();
    const laidOut = Date.now() - started;
    expect(laidOut).toBeLessThan(30_000);

    // The page still answers at once: edit mode on and off, fit, find.
    const t0 = Date.now();
    await page.keyboard.press('e');
    await eventually(() => page.getByTestId('graph-canvas').getAttribute('data-editing'), 2000).toBe('true');
    await page.keyboard.press('e');
    await eventually(() => page.getByTestId('graph-canvas').getAttribute('data-editing'), 2000).toBe('false');
    expect(Date.now() - t0).toBeLessThan(3000);
    await page.getByTestId('graph-fit').click();
    await page.waitForTimeout(500);
    await shot('graph-large');
    await page.getByTestId('graph-find').fill(id(555));
    await page.getByTestId('graph-find').press('Enter');
    await eventually(() => count(`graph-node-${id(555)}`)).toBe(1);
    await page.waitForTimeout(500);
    await shot('graph-large-zoomed');
    console.log(`1,000 tasks: shown and laid out ${laidOut} ms after the batch was sent`);

    await page.getByTestId('nav-tasks').click();
    await eventually(() => page.getByTestId('column-queued').getAttribute('data-count')).not.toBe('0');
    expect(
      Number(await page.getByTestId('column-pending').getAttribute('data-count')),
    ).toBeGreaterThanOrEqual(900);
    await shot('tasks-board-large');
  });
});
