import type { Delivery, Webhook } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  attemptText,
  buildNewWebhook,
  buildPatch,
  checkDraft,
  deliveriesQuery,
  draftOf,
  emptyDraft,
  isWebhookEvent,
  lastAttemptText,
  nextAttemptText,
  patternProblem,
  serverErrors,
  testResultText,
  webhookStatus,
  withPattern,
} from '../src/webhooks';

const NOW = Date.parse('2026-01-02T12:00:00.000Z');
const T0 = '2026-01-02T11:00:00.000Z';

const webhook = (fields: Partial<Webhook> = {}): Webhook => ({
  id: '01JD0000000000000000000001',
  url: 'https://ci.example.com/hook',
  events: ['coord.*', 'settings.changed'],
  format: 'generic',
  label: 'ci',
  active: true,
  description: 'builds',
  hasSecret: true,
  state: { consecutiveFailures: 0 },
  createdAt: T0,
  updatedAt: T0,
  ...fields,
});

const draft = (fields: Partial<ReturnType<typeof emptyDraft>> = {}) => ({
  ...emptyDraft(),
  url: 'https://ci.example.com/hook',
  events: 'coord.*, settings.changed',
  label: 'ci',
  ...fields,
});

describe('webhook form', () => {
  it('an empty draft names every missing field', () => {
    expect(checkDraft(emptyDraft())).toEqual({
      url: 'Enter the URL to POST events to.',
      events: 'Enter at least one event pattern, e.g. coord.*',
      label: 'Give it a name, e.g. "CI" or "#alerts".',
    });
  });

  it('refuses non-http URLs and malformed patterns, naming the bad pattern', () => {
    expect(checkDraft(draft({ url: 'ftp://x.example' })).url).toBe('Only http:// and https:// URLs.');
    expect(checkDraft(draft({ url: 'ci.example.com' })).url).toMatch(/^Not a URL/);
    expect(checkDraft(draft({ events: 'coord.*, coord.>.x' })).events).toMatch(
      /^"coord\.>\.x" is not a pattern/,
    );
    expect(checkDraft(draft({ events: 'coord..x' })).events).toMatch(/"coord\.\.x"/);
    expect(
      checkDraft(draft({ events: Array.from({ length: 51 }, (_, i) => `e${i}`).join(',') })).events,
    ).toBe('At most 50 patterns.');
    expect(patternProblem('notify.>')).toBeUndefined();
    expect(patternProblem('>')).toBeUndefined();
    expect(patternProblem('*.task-created')).toBeUndefined();
    expect(patternProblem('a b')).toBeDefined();
  });

  it('builds a NewWebhook with trimmed values, split patterns and no empty description', () => {
    const built = buildNewWebhook(
      draft({
        url: ' https://x.example/h ',
        events: 'coord.*\nsettings.changed  notify.>',
        label: ' CI ',
        format: 'slack',
      }),
    );
    expect(built).toEqual({
      ok: true,
      value: {
        url: 'https://x.example/h',
        events: ['coord.*', 'settings.changed', 'notify.>'],
        format: 'slack',
        label: 'CI',
        active: true,
      },
    });
    expect(buildNewWebhook(draft({ label: '' }))).toMatchObject({
      ok: false,
      errors: { label: expect.any(String) },
    });
  });

  it('a patch holds only what changed; an emptied description is null', () => {
    const w = webhook();
    expect(buildPatch(draftOf(w), w)).toEqual({ ok: true, value: {} });
    const edited = {
      ...draftOf(w),
      events: 'coord.*,  settings.changed, notify.>',
      description: '',
      active: false,
    };
    expect(buildPatch(edited, w)).toEqual({
      ok: true,
      value: { events: ['coord.*', 'settings.changed', 'notify.>'], description: null, active: false },
    });
    const noDescription = webhook({ description: undefined });
    expect(buildPatch({ ...draftOf(noDescription), description: 'new' }, noDescription)).toEqual({
      ok: true,
      value: { description: 'new' },
    });
  });

  it('adds a suggested pattern once', () => {
    expect(withPattern('', 'coord.*')).toBe('coord.*');
    expect(withPattern('coord.*', 'settings.changed')).toBe('coord.*, settings.changed');
    expect(withPattern('coord.*, settings.changed', 'coord.*')).toBe('coord.*, settings.changed');
  });

  it('puts server field issues on the field they belong to', () => {
    expect(
      serverErrors([
        { field: 'events.1', message: 'bad pattern' },
        { field: 'events.2', message: 'also bad' },
        { field: 'url', message: 'resolves to a loopback address' },
        { field: 'actor', message: 'ignored' },
      ]),
    ).toEqual({ events: 'bad pattern', url: 'resolves to a loopback address' });
  });
});

describe('webhook state', () => {
  it('tells active, failing since, disabled with its reason, and paused apart', () => {
    expect(webhookStatus(webhook(), NOW)).toEqual({ tone: 'ok', title: 'Active' });
    expect(
      webhookStatus(
        webhook({ state: { consecutiveFailures: 3, failingSince: '2026-01-02T10:00:00.000Z' } }),
        NOW,
      ),
    ).toMatchObject({
      tone: 'warn',
      title: 'Failing',
      detail: expect.stringMatching(/, 3 failed attempts$/),
    });
    expect(
      webhookStatus(
        webhook({
          active: false,
          disabledReason: 'endpoint answered 410 Gone',
          disabledAt: '2026-01-02T11:59:00.000Z',
        }),
        NOW,
      ),
    ).toEqual({ tone: 'bad', title: 'Disabled', detail: 'endpoint answered 410 Gone (1 min ago)' });
    expect(webhookStatus(webhook({ active: false }), NOW)).toMatchObject({ tone: 'off', title: 'Paused' });
  });

  it('describes the last attempt by status or error', () => {
    expect(lastAttemptText(webhook(), NOW)).toBe('never sent');
    expect(
      lastAttemptText(
        webhook({
          state: {
            consecutiveFailures: 0,
            lastAttemptAt: '2026-01-02T11:57:00.000Z',
            lastResponseStatus: 204,
          },
        }),
        NOW,
      ),
    ).toBe('204 · 3 min ago');
    expect(
      lastAttemptText(
        webhook({
          state: { consecutiveFailures: 1, lastAttemptAt: '2026-01-02T11:57:00.000Z', lastError: 'timeout' },
        }),
        NOW,
      ),
    ).toBe('timeout · 3 min ago');
  });
});

describe('delivery log and test results', () => {
  const delivery = (fields: Partial<Delivery> = {}): Delivery => ({
    id: '01JD00000000000000000000D1',
    webhookId: '01JD0000000000000000000001',
    eventId: 'ev-1',
    eventType: 'coord.task-created',
    status: 'pending',
    attempts: [],
    attemptCount: 0,
    createdAt: T0,
    updatedAt: T0,
    ...fields,
  });

  it('shows attempts by response code and time, or by the error', () => {
    expect(attemptText({ at: T0, responseStatus: 200, durationMs: 12 })).toBe('HTTP 200 in 12 ms');
    expect(attemptText({ at: T0, responseStatus: 503, durationMs: 40, error: 'HTTP 503' })).toBe(
      'HTTP 503 in 40 ms',
    );
    expect(attemptText({ at: T0, durationMs: 15_000, error: 'timeout' })).toBe('timeout after 15 s');
  });

  it('says when a pending delivery is tried next, and nothing for finished ones', () => {
    expect(nextAttemptText(delivery({ nextAttemptAt: new Date(NOW + 5_000).toISOString() }), NOW)).toBe(
      'in 5.0 s',
    );
    expect(nextAttemptText(delivery({ nextAttemptAt: new Date(NOW + 300_000).toISOString() }), NOW)).toBe(
      'in 5 min',
    );
    expect(nextAttemptText(delivery({ nextAttemptAt: new Date(NOW - 1).toISOString() }), NOW)).toBe('now');
    expect(nextAttemptText(delivery({ status: 'delivered', nextAttemptAt: T0 }), NOW)).toBeUndefined();
  });

  it('sums up a test delivery', () => {
    expect(testResultText({ eventId: 'e', delivered: true, responseStatus: 200, durationMs: 8 })).toBe(
      'Delivered: HTTP 200 in 8 ms',
    );
    expect(testResultText({ eventId: 'e', delivered: false, responseStatus: 500, durationMs: 8 })).toBe(
      'Not delivered: HTTP 500 in 8 ms',
    );
    expect(testResultText({ eventId: 'e', delivered: false, durationMs: 15_000, error: 'timeout' })).toBe(
      'Not delivered: timeout after 15 s',
    );
  });

  it('asks for a status only when filtered; reacts to notify.webhook-* events only', () => {
    expect(deliveriesQuery('all')).toBe('?limit=25');
    expect(deliveriesQuery('failed', 10)).toBe('?limit=10&status=failed');
    expect(isWebhookEvent('notify.webhook-delivered')).toBe(true);
    expect(isWebhookEvent('notify.webhook-disabled')).toBe(true);
    expect(isWebhookEvent('notify.created')).toBe(false);
  });
});
