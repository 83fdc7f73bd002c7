import type { CoordState } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  buildDrainBody,
  CoordRefresher,
  circuitRows,
  formatCount,
  gaugeView,
  isCoordStateEvent,
  levelText,
  lifecycleActions,
  rateRows,
} from '../src/coord-state';
import { FakeClock } from './fakes';

const T0 = '2026-01-02T03:04:05.000Z';

const gauge = (fields: Partial<CoordState['budgets']['global']> = {}) => ({
  spentUsd: 0,
  budgetUsd: 10,
  percent: 0,
  status: 'ok' as const,
  inputTokens: 0,
  outputTokens: 0,
  ...fields,
});

const state = (fields: Partial<CoordState> = {}): CoordState => ({
  state: 'running',
  since: T0,
  rate: {
    configured: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
    effective: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
    level: 0,
    requestsAvailable: 60,
    tokensAvailable: 100_000,
    limitErrorsInWindow: 0,
  },
  budgets: { global: gauge(), workers: [] },
  circuits: [],
  settings: { maxTaskRetries: 3, staleTaskMinutes: 30 },
  counts: { queued: 0, running: 0, blocked: 0 },
  meteredKinds: ['agent'],
  ...fields,
});

/** A fetch the test resolves by hand, counting calls. */
function manualFetch() {
  const pending: Array<() => void> = [];
  let calls = 0;
  const fetch = () => {
    calls++;
    return new Promise<void>((resolve) => pending.push(resolve));
  };
  return {
    fetch,
    get calls() {
      return calls;
    },
    async finish() {
      pending.shift()?.();
      // Let the refresher's continuation run.
      await Promise.resolve();
      await Promise.resolve();
    },
  };
}

describe('CoordRefresher', () => {
  it('reads at start and then every pollMs while visible', async () => {
    const clock = new FakeClock();
    const f = manualFetch();
    const r = new CoordRefresher({ clock, fetch: f.fetch, pollMs: 5000, throttleMs: 300 });
    r.start();
    expect(f.calls).toBe(1);
    await f.finish();
    clock.advance(4999);
    expect(f.calls).toBe(1);
    clock.advance(1);
    expect(f.calls).toBe(2);
    await f.finish();
    r.stop();
    clock.advance(60_000);
    expect(f.calls).toBe(2);
  });

  it('turns a burst of policy events into one read, and ignores other events', async () => {
    const clock = new FakeClock();
    const f = manualFetch();
    const r = new CoordRefresher({ clock, fetch: f.fetch, pollMs: 5000, throttleMs: 300 });
    r.start();
    await f.finish();
    r.onEvent('coord.task-output');
    r.onEvent('settings.changed');
    clock.advance(300);
    expect(f.calls).toBe(1);
    for (let i = 0; i < 100; i++) r.onEvent(i % 2 ? 'coord.paused' : 'coord.rate-adjusted');
    clock.advance(299);
    expect(f.calls).toBe(1);
    clock.advance(1);
    expect(f.calls).toBe(2);
  });

  it('never reads twice at once: a read asked for meanwhile runs right after', async () => {
    const clock = new FakeClock();
    const f = manualFetch();
    const r = new CoordRefresher({ clock, fetch: f.fetch, pollMs: 5000, throttleMs: 300 });
    r.start();
    r.onEvent('coord.reconfigured');
    clock.advance(300);
    void r.refresh();
    expect(f.calls).toBe(1);
    await f.finish();
    expect(f.calls).toBe(2);
    await f.finish();
    expect(f.calls).toBe(2);
  });

  it('stops polling while hidden and reads at once when shown again', async () => {
    const clock = new FakeClock();
    const f = manualFetch();
    const r = new CoordRefresher({ clock, fetch: f.fetch, pollMs: 5000, throttleMs: 300 });
    r.start();
    await f.finish();
    r.setVisible(false);
    clock.advance(60_000);
    expect(f.calls).toBe(1);
    r.setVisible(true);
    expect(f.calls).toBe(2);
    await f.finish();
    clock.advance(5000);
    expect(f.calls).toBe(3);
  });

  it('keeps polling after a failed read', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const r = new CoordRefresher({
      clock,
      fetch: async () => {
        calls++;
        throw new Error('503');
      },
      pollMs: 1000,
      throttleMs: 100,
    });
    r.start();
    await Promise.resolve();
    await Promise.resolve();
    clock.advance(1000);
    expect(calls).toBe(2);
  });
});

describe('coordination view', () => {
  it('knows which events concern the state', () => {
    expect(isCoordStateEvent('coord.circuit-opened')).toBe(true);
    expect(isCoordStateEvent('coord.reconfigured')).toBe(true);
    expect(isCoordStateEvent('coord.task-output')).toBe(false);
  });

  it('offers drain and pause while running, resume only when stopped and the budget allows', () => {
    expect(lifecycleActions(state())).toEqual({
      drain: { enabled: true },
      pause: { enabled: true },
      resume: { enabled: false, why: 'It is already running' },
    });
    const draining = lifecycleActions(state({ state: 'draining' }));
    expect([draining.drain.enabled, draining.pause.enabled, draining.resume.enabled]).toEqual([
      false,
      true,
      true,
    ]);
    const out = lifecycleActions(
      state({ state: 'paused', budgets: { global: gauge({ status: 'exceeded' }), workers: [] } }),
    );
    expect(out.pause.enabled).toBe(false);
    expect(out.resume).toEqual({ enabled: false, why: expect.stringContaining('global budget is exceeded') });
  });

  it('checks the drain form by field', () => {
    expect(buildDrainBody({ timeout: '', reason: '  ' })).toEqual({ ok: true, value: {} });
    expect(buildDrainBody({ timeout: ' 600 ', reason: 'deploy' })).toEqual({
      ok: true,
      value: { timeoutSeconds: 600, reason: 'deploy' },
    });
    expect(buildDrainBody({ timeout: '1.5', reason: '' })).toEqual({
      ok: false,
      errors: { timeoutSeconds: 'Whole seconds' },
    });
    const bad = buildDrainBody({ timeout: '0', reason: 'x'.repeat(501) });
    expect(bad.ok ? {} : bad.errors).toEqual({
      timeoutSeconds: 'From 1 to 604800 (7 days)',
      reason: 'At most 500 characters',
    });
  });

  it('shows configured against effective limits and how much is available', () => {
    const rows = rateRows({
      configured: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
      effective: { requestsPerMinute: 15, tokensPerMinute: 25_000 },
      level: 2,
      requestsAvailable: 7.8,
      tokensAvailable: -50,
      limitErrorsInWindow: 3,
    });
    expect(rows[0]).toEqual({
      name: 'requests',
      title: 'Requests / min',
      configured: 60,
      effective: 15,
      available: 7,
      availablePercent: 52,
      reduced: true,
    });
    expect(rows[1]).toMatchObject({ available: 0, availablePercent: 0 });
    expect(levelText(0)).toBe('Level 0: the configured limits');
    expect(levelText(2)).toBe('Level 2 of 4: limits halved twice after rate-limit errors');
  });

  it('colours budget gauges by status and clamps the bar', () => {
    expect(gaugeView(gauge({ spentUsd: 8.5, percent: 85, status: 'warning' }))).toEqual({
      tone: 'warn',
      fill: 85,
      unlimited: false,
      text: '$8.50 of $10.00',
      percentText: '85%',
      statusText: 'warning',
    });
    expect(gaugeView(gauge({ spentUsd: 12, percent: 120, status: 'exceeded' }))).toMatchObject({
      tone: 'bad',
      fill: 100,
      percentText: '120%',
    });
    expect(gaugeView(gauge({ spentUsd: 3, budgetUsd: 0 }))).toMatchObject({
      tone: 'off',
      fill: 0,
      unlimited: true,
      text: '$3.00 spent, no budget',
      statusText: 'unlimited',
    });
    expect([formatCount(950), formatCount(12_340), formatCount(4_000_000)]).toEqual(['950', '12.3k', '4M']);
  });

  it('lists open circuits first with when they retry', () => {
    const now = Date.parse(T0);
    const rows = circuitRows(
      [
        { workerId: 'b', state: 'closed', consecutiveFailures: 0 },
        { workerId: 'a', state: 'half-open', consecutiveFailures: 3 },
        { workerId: 'c', state: 'open', consecutiveFailures: 3, retryAt: '2026-01-02T03:04:17.000Z' },
      ],
      now,
    );
    expect(rows.map((r) => [r.workerId, r.tone, r.note])).toEqual([
      ['c', 'bad', 'retry in 12 s'],
      ['a', 'warn', 'one trial task next'],
      ['b', 'ok', ''],
    ]);
  });
});
