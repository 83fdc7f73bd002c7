import type { CloudEvent } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { mayNeedNotification, notificationFor } from '../src/notification-rules.js';

const ev = (type: string, data: unknown): CloudEvent => ({
  specversion: '1.0',
  id: `e-${type}`,
  source: '/test',
  type,
  time: '2026-11-22T10:00:00.000Z',
  traceid: 't',
  data,
});

describe('notificationFor', () => {
  it('turns a task that failed into an error with a link to it', () => {
    expect(
      notificationFor(
        ev('coord.task-updated', { id: 'build-1', from: 'running', to: 'failed', reason: 'exit 1' }),
      ),
    ).toEqual({
      kind: 'task-failed',
      severity: 'error',
      title: 'Task build-1 failed',
      body: 'exit 1',
      link: '/tasks/build-1',
    });
  });

  it('ignores other task changes', () => {
    expect(
      notificationFor(ev('coord.task-updated', { id: 'a', from: 'queued', to: 'running' })),
    ).toBeUndefined();
    expect(notificationFor(ev('coord.task-created', { task: {} }))).toBeUndefined();
    expect(notificationFor(ev('settings.changed', {}))).toBeUndefined();
  });

  it('makes dead letters, budgets, circuits and disabled webhooks visible', () => {
    const dl = notificationFor(
      ev('coord.dead-lettered', {
        deadLetter: {
          id: 'a1',
          taskId: 'a1',
          kind: 'exec',
          title: 'compile',
          attempts: 4,
          lastError: { class: 'fatal', message: 'exit 2' },
          status: 'open',
          createdAt: '2026-11-22T10:00:00.000Z',
          updatedAt: '2026-11-22T10:00:00.000Z',
        },
      }),
    );
    expect(dl).toMatchObject({
      kind: 'dead-lettered',
      severity: 'error',
      body: 'compile: exit 2 (4 attempts)',
    });
    expect(
      notificationFor(
        ev('coord.budget-warning', { scope: 'global', spentUsd: 40, budgetUsd: 50, percent: 80 }),
      ),
    ).toMatchObject({
      kind: 'budget-warning',
      severity: 'warning',
      title: 'Global budget at 80 %',
      body: '$40.00 spent of $50.00.',
    });
    expect(
      notificationFor(
        ev('coord.budget-exceeded', {
          scope: 'worker',
          workerId: 'w1',
          spentUsd: 10,
          budgetUsd: 10,
          percent: 100,
        }),
      ),
    ).toMatchObject({
      kind: 'budget-exceeded',
      severity: 'error',
      title: 'Worker w1 budget exceeded',
      link: '/workers',
    });
    expect(
      notificationFor(ev('coord.circuit-opened', { workerId: 'w2', consecutiveFailures: 5, retryAt: 'x' })),
    ).toMatchObject({
      kind: 'circuit-opened',
      severity: 'warning',
    });
    expect(
      notificationFor(
        ev('notify.webhook-disabled', {
          webhookId: '01JD0000000000000000000000',
          label: 'ops',
          origin: 'https://x',
          reason: '410',
        }),
      ),
    ).toMatchObject({
      kind: 'webhook-disabled',
      title: 'Webhook "ops" disabled',
      link: '/webhooks/01JD0000000000000000000000',
    });
    expect(
      notificationFor(
        ev('settings.rejected', {
          field: 'maxTurns',
          value: 5000,
          reason: 'too big',
          restored: 30,
          actor: 'external',
        }),
      ),
    ).toMatchObject({ kind: 'settings-rejected', title: 'Setting maxTurns refused' });
  });

  it('reads backup events by name, whatever their data holds', () => {
    expect(notificationFor(ev('backup.failed', { error: { message: 'disk full' } }))).toMatchObject({
      kind: 'backup-failed',
      severity: 'error',
      body: 'disk full',
    });
    expect(notificationFor(ev('backup.completed', 'not even an object'))).toMatchObject({
      kind: 'backup-done',
      severity: 'info',
    });
    expect(notificationFor(ev('backup.started', {}))).toBeUndefined();
  });

  it('makes nothing from data that breaks a known schema', () => {
    expect(notificationFor(ev('coord.dead-lettered', { deadLetter: 'nope' }))).toBeUndefined();
    expect(notificationFor(ev('coord.task-updated', null))).toBeUndefined();
  });
});

describe('mayNeedNotification (the look before parsing)', () => {
  const raw = (data: unknown) => Buffer.from(JSON.stringify(ev('coord.task-updated', data)));

  it('passes task updates that mention failed, in any JSON spacing, and drops the others', () => {
    expect(mayNeedNotification('coord.task-updated', raw({ id: 'a', from: 'running', to: 'failed' }))).toBe(
      true,
    );
    expect(mayNeedNotification('coord.task-updated', Buffer.from('{"data": {"to": "failed"}}'))).toBe(true);
    expect(mayNeedNotification('coord.task-updated', raw({ id: 'a', from: 'queued', to: 'running' }))).toBe(
      false,
    );
  });

  it('passes every type a rule reads and nothing else', () => {
    const empty = Buffer.from('{}');
    for (const type of ['coord.dead-lettered', 'coord.budget-exceeded', 'settings.rejected', 'backup.done'])
      expect(mayNeedNotification(type, empty), type).toBe(true);
    for (const type of ['coord.task-created', 'notify.webhook-delivered', 'settings.changed'])
      expect(mayNeedNotification(type, empty), type).toBe(false);
  });

  it('works on a view into a larger buffer', () => {
    const big = Buffer.from(`xxxx${JSON.stringify({ to: 'failed' })}yyyy`);
    expect(mayNeedNotification('coord.task-updated', big.subarray(4, big.length - 4))).toBe(true);
    expect(mayNeedNotification('coord.task-updated', big.subarray(0, 4))).toBe(false);
  });
});
