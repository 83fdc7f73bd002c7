import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, eventually, openUi, probes, screenshotOnFailure, signInAsAdmin } from './browser.js';
import { jousting as runCli } from './cli.js';
import { type Stack, startStack, workerEnv } from './stack.js';

// The coordination page, bulk actions on the task board and the templates page of the operator
// UI, in a real (system) Chromium against a real gateway, coordinator, worker, settings service
// and NATS, and the same through the built `jousting` CLI. Needs the built services, CLI and UI
// (`npm run build`). Screenshots: /tmp/ui-coordination.png,
// /tmp/ui-bulk.png, /tmp/ui-templates.png.

const WORKER_ID = 'coord-worker';
/** A kind no worker runs: such tasks stay queued whatever the coordinator does. */
const HOLD = 'hold';
const TEMPLATE = 'e2e-greet';

let stack: Stack;
let browser: Browser;
let page: Page;

const { text, count, attr } = probes(() => page);

const api = <T>(method: string, path: string, body?: unknown) => adminApi<T>(stack, method, path, body);

interface TaskJson {
  id: string;
  title: string;
  status: string;
  attempts?: unknown[];
  output?: Array<{ line: string }>;
}

async function createTask(title: string, kind: string, payload: Record<string, unknown>): Promise<string> {
  const res = await api<{ task: TaskJson }>('POST', '/api/tasks', { title, kind, payload });
  expect(res.status).toBe(201);
  return res.body.task.id;
}

/** The template's tasks: greet {{who}}, then a task that waits for `afterDep` (a local id). */
const greetTasks = (afterDep: string) =>
  JSON.stringify([
    {
      id: 'greet',
      title: 'Greet {{who}}',
      kind: 'exec',
      payload: { command: 'sh', args: ['-c', 'echo hello {{who}}'] },
    },
    { id: 'after', title: 'After {{who}}', kind: 'exec', payload: { command: 'true' }, deps: [afterDep] },
  ]);

const getTask = async (id: string) => (await api<TaskJson>('GET', `/api/tasks/${id}`)).body;
const coordState = async () => (await api<{ state: string }>('GET', '/api/coord')).body.state;

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'worker', 'gateway'],
    env: workerEnv(WORKER_ID),
  });
  ({ browser, page } = await openUi());
});

screenshotOnFailure(() => page);

afterAll(async () => {
  if (stack) await api('POST', '/api/coord/resume').catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

describe('operator UI: coordination', () => {
  it('signs in and shows the state, rate limits, budgets and circuits', async () => {
    await signInAsAdmin(page, stack);
    await page.getByTestId('nav-coordination').click();
    await eventually(() => attr('coord-lifecycle', 'data-state')).toBe('running');
    expect(await text('coord-state')).toBe('Running');
    // One coordinator: it holds the leader lease, nobody stands by.
    expect(await text('coord-replicas')).toMatch(/^Served by coordinator-[0-9a-f]{8} · no standby$/);
    expect(await attr('coord-rate', 'data-level')).toBe('0');
    expect(await text('coord-level-text')).toContain('the configured limits');
    expect(await count('coord-rate-requests')).toBe(1);
    expect(await count('coord-rate-tokens')).toBe(1);
    expect(await text('coord-budget-global')).toMatch(/\$0\.00/);
    expect(await count('coord-circuits')).toBe(1);
    expect(await text('coord-settings')).toContain('retried at most');
    await page.screenshot({ path: '/tmp/ui-coordination.png', fullPage: true });
  });

  it('pauses: a new task stays queued until resumed, then it runs', async () => {
    await page.getByTestId('coord-pause').click();
    await page.getByTestId('coord-reason-input').fill('e2e maintenance window');
    await page.getByTestId('coord-pause-dialog-submit').click();
    await eventually(() => attr('coord-lifecycle', 'data-state')).toBe('paused');
    expect(await text('coord-state')).toBe('Paused');
    expect(await text('coord-reason')).toContain('e2e maintenance window');
    expect(await page.getByTestId('coord-pause').isDisabled()).toBe(true);
    expect(await coordState()).toBe('paused');

    const id = await createTask('Runs after resume', 'exec', { command: 'sh', args: ['-c', 'echo resumed'] });
    // Long enough for an idle worker to have claimed it, were the coordinator dispatching.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const waiting = await getTask(id);
    expect(waiting.status).toBe('queued');
    expect(waiting.attempts ?? []).toEqual([]);
    await eventually(() => text('coord-count-queued')).not.toBe('0');

    await page.getByTestId('coord-resume').click();
    await eventually(() => attr('coord-lifecycle', 'data-state')).toBe('running');
    await eventually(async () => (await getTask(id)).status).toBe('complete');
    expect(await coordState()).toBe('running');
  });

  it('drains with nothing running: it ends up paused, and resumes', async () => {
    await page.getByTestId('coord-drain').click();
    await page.getByTestId('coord-drain-timeout').fill('soon');
    await page.getByTestId('coord-drain-dialog-submit').click();
    await eventually(() => text('coord-field-error-timeoutSeconds')).toBe('Whole seconds');
    await page.getByTestId('coord-drain-timeout').fill('60');
    await page.getByTestId('coord-drain-dialog-submit').click();
    await eventually(() => count('coord-drain-dialog')).toBe(0);
    // No task runs, so draining is over at once (the page hears coord.paused).
    await eventually(() => attr('coord-lifecycle', 'data-state')).toBe('paused');
    await page.getByTestId('coord-resume').click();
    await eventually(() => attr('coord-lifecycle', 'data-state')).toBe('running');
  });
});

describe('operator UI: bulk actions on the board', () => {
  it('cancels the selected tasks and reports what it refused', async () => {
    const ids = await Promise.all(
      ['Bulk one', 'Bulk two', 'Bulk three'].map((title) => createTask(title, HOLD, {})),
    );
    const [one, two, three] = ids as [string, string, string];
    await page.getByTestId('nav-tasks').click();
    await page.getByTestId('view-board').click();
    for (const id of ids) await eventually(() => attr(`task-card-${id}`, 'data-status')).toBe('queued');

    await page.getByTestId(`select-${one}`).check();
    await page.getByTestId(`select-${two}`).check();
    expect(await text('bulk-count')).toBe('2 selected');
    await page.getByTestId('bulk-cancel').click();
    await page.getByTestId('bulk-reason').fill('e2e cleanup');
    await page.getByTestId('bulk-dialog-submit').click();
    await eventually(() => text('bulk-result-title')).toBe('Canceled 2 of 2 tasks');
    await eventually(() => attr(`task-card-${one}`, 'data-status')).toBe('canceled');
    await eventually(() => attr(`task-card-${two}`, 'data-status')).toBe('canceled');
    expect(await attr(`task-card-${three}`, 'data-status')).toBe('queued');
    // Done ones leave the selection.
    expect(await count('bulk-count')).toBe(0);

    // One already canceled and one queued: one done, one refused with the reason.
    await page.getByTestId(`select-${one}`).check();
    await page.getByTestId(`select-${three}`).check();
    await page.getByTestId('bulk-cancel').click();
    await page.getByTestId('bulk-dialog-submit').click();
    await eventually(() => text('bulk-result-title')).toBe('Canceled 1 of 2 tasks; 1 refused');
    expect(await attr('bulk-result', 'data-refused')).toBe('1');
    expect(await count(`bulk-refused-${one}`)).toBe(1);
    expect(await text(`bulk-refused-${one}`)).toMatch(/\S+/);
    await eventually(() => attr(`task-card-${three}`, 'data-status')).toBe('canceled');
    // The refused one stays selected, to act on again.
    expect(await page.getByTestId(`select-${one}`).isChecked()).toBe(true);
    expect((await getTask(two)).status).toBe('canceled');
    await page.screenshot({ path: '/tmp/ui-bulk.png', fullPage: false });
    await page.getByTestId('bulk-clear').click();
  });

  it('sets the priority of every task matching the list filter', async () => {
    const a = await createTask('Prio alpha', HOLD, {});
    const b = await createTask('Prio beta', HOLD, {});
    await page.getByTestId('view-list').click();
    await page.getByTestId('filter-q').fill('Prio ');
    await eventually(() => count(`task-row-${a}`)).toBe(1);
    await eventually(() => count(`task-row-${b}`)).toBe(1);
    // The bar offers the filter of the rows shown, once the server has answered for it.
    await eventually(() => text('bulk-bar')).toContain('All 2 matching text "Prio"');
    await page.getByTestId('bulk-all-reprioritize').click();
    expect(await text('bulk-dialog')).toContain('Set the priority of all 2 tasks matching text "Prio"?');
    await page.getByTestId('bulk-priority').fill('7');
    await page.getByTestId('bulk-dialog-submit').click();
    await eventually(() => text('bulk-result-title')).toBe('Reprioritized 2 of 2 tasks');
    expect((await api<{ priority: number }>('GET', `/api/tasks/${a}`)).body.priority).toBe(7);
    expect((await api<{ priority: number }>('GET', `/api/tasks/${b}`)).body.priority).toBe(7);
    await page.getByTestId('filter-q').fill('');
  });
});

describe('operator UI: templates', () => {
  it('creates a template, showing a bad field next to it', async () => {
    await page.getByTestId('nav-templates').click();
    await eventually(() => count('tpl-empty')).toBe(1);
    await page.getByTestId('tpl-new').click();
    await page.getByTestId('tpl-name').fill('Bad Name');
    await page
      .getByTestId('tpl-variables')
      .fill(JSON.stringify([{ name: 'who', description: 'whom to greet' }]));
    await page.getByTestId('tpl-tasks').fill(greetTasks('nope'));
    await page.getByTestId('tpl-editor-submit').click();
    await eventually(() => text('tpl-field-error-name')).toContain('Lowercase letters');
    expect(await page.getByTestId('tpl-field-error-tasks').allTextContents()).toEqual([
      'tasks.1.deps.0: No task with the local id "nope" in this template',
    ]);
    await page.screenshot({ path: '/tmp/ui-template-editor.png', fullPage: false });
    await page.getByTestId('tpl-name').fill(TEMPLATE);
    await page.getByTestId('tpl-tasks').fill(greetTasks('greet'));
    await page.getByTestId('tpl-editor-submit').click();
    await eventually(() => count('tpl-editor')).toBe(0);
    await eventually(() => count(`tpl-row-${TEMPLATE}`)).toBe(1);
    const saved = await api<{ name: string; tasks: unknown[] }>('GET', `/api/templates/${TEMPLATE}`);
    expect(saved.status).toBe(200);
    expect(saved.body.tasks).toHaveLength(2);
  });

  it('runs it with a value for its required variable and links the tasks it made', async () => {
    await page.getByTestId(`tpl-run-${TEMPLATE}`).click();
    expect(await count('tpl-required-who')).toBe(1);
    await page.getByTestId('tpl-run-dialog-submit').click();
    await eventually(() => text('tpl-field-error-values.who')).toBe('Required');
    await page.getByTestId('tpl-var-who').fill('world');
    await page.screenshot({ path: '/tmp/ui-template-run.png', fullPage: false });
    await page.getByTestId('tpl-run-dialog-submit').click();
    await eventually(() => count('tpl-run-result')).toBe(1);
    expect(await text('tpl-run-result')).toContain(`Created 2 tasks from ${TEMPLATE}`);
    const links = page.locator('[data-testid^="tpl-created-"]');
    expect(await links.allTextContents()).toEqual(expect.arrayContaining(['Greet world', 'After world']));
    const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    const ids = hrefs.map((h) => decodeURIComponent(h.replace('/tasks/', '')));
    await page.screenshot({ path: '/tmp/ui-templates.png', fullPage: false });
    for (const id of ids) await eventually(async () => (await getTask(id)).status, 20_000).toBe('complete');
    const greet = (await Promise.all(ids.map(getTask))).find((t) => t.title === 'Greet world');
    expect(greet?.output?.map((o) => o.line)).toContain('hello world');

    await page.locator('[data-testid^="tpl-created-"]', { hasText: 'Greet world' }).click();
    await eventually(() => text('detail-title')).toBe('Greet world');
  });

  it('deletes it after a confirmation', async () => {
    await page.getByTestId('nav-templates').click();
    await page.getByTestId(`tpl-delete-${TEMPLATE}`).click();
    await page.getByTestId('confirm-ok').click();
    await eventually(() => count(`tpl-row-${TEMPLATE}`)).toBe(0);
    expect((await api('GET', `/api/templates/${TEMPLATE}`)).status).toBe(404);
  });
});

const jousting = (...args: string[]) => runCli(stack, ...args);

describe('jousting CLI: coord, bulk, requeue, templates', () => {
  it('shows and changes the coordinator state', async () => {
    const status = await jousting('coord', 'status');
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/^state: running since /);
    expect(status.stdout).toMatch(/requests\/min +\d+ +\d+ +\d+/);
    expect(status.stdout).toMatch(/global +\$0\.00/);
    const paused = await jousting('coord', 'pause', '--reason', 'cli check');
    expect(paused.stdout).toContain('paused (cli check)');
    expect(JSON.parse((await jousting('coord', 'status', '--json')).stdout)).toMatchObject({
      state: 'paused',
      reason: 'cli check',
    });
    const resumed = await jousting('coord', 'resume');
    expect(resumed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running: dispatching/) });
  });

  it('cancels by ids with a report, and refuses to requeue a task that is not blocked', async () => {
    const a = await createTask('CLI bulk a', HOLD, {});
    const b = await createTask('CLI bulk b', HOLD, {});
    const first = await jousting('tasks', 'bulk', 'cancel', '--ids', a, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ done: [a], refused: [], matched: 1 });
    const second = await jousting('tasks', 'bulk', 'cancel', '--ids', `${a},${b}`);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^canceled 1 of 2 matched tasks; refused 1:/);
    expect(second.stdout).toContain(a);
    const requeue = await jousting('tasks', 'requeue', b);
    expect(requeue.code).toBe(1);
    expect(requeue.stderr).toMatch(/^error: /);
  });

  it('saves, shows, runs and removes a template', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jousting-e2e-templates-'));
    const file = join(dir, 'cli-greet.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'cli-greet',
        variables: [{ name: 'who' }, { name: 'greeting', default: 'hi' }],
        tasks: [
          {
            id: 'say',
            title: '{{greeting}} {{who}}',
            payload: { command: 'sh', args: ['-c', 'echo {{greeting}} {{who}}'] },
          },
        ],
      }),
    );
    expect((await jousting('templates', 'save', file)).stdout).toBe('saved template cli-greet (1 task)\n');
    const show = await jousting('templates', 'show', 'cli-greet');
    expect(show.stdout).toMatch(/who +\(required\)/);
    const missing = await jousting('templates', 'run', 'cli-greet');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('who');
    const ran = await jousting('templates', 'run', 'cli-greet', '--set', 'who=cli', '--json');
    expect(ran.code).toBe(0);
    const created = JSON.parse(ran.stdout) as { template: string; tasks: TaskJson[] };
    expect(created.tasks.map((t) => t.title)).toEqual(['hi cli']);
    await eventually(async () => (await getTask(created.tasks[0]?.id ?? '')).status, 20_000).toBe('complete');
    expect((await jousting('templates', 'rm', 'cli-greet')).stdout).toBe('deleted template cli-greet\n');
    expect((await jousting('templates', 'ls')).stdout).not.toContain('cli-greet');
  });
});
