import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../src/lifecycle.js';

const clock = () => {
  let now = 1_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describe('Lifecycle', () => {
  it('starts running and dispatching', () => {
    const l = new Lifecycle(undefined, clock().now);
    expect(l.state).toBe('running');
    expect(l.dispatching).toBe(true);
  });

  it('drains until nothing runs, then pauses; resume runs again', () => {
    const l = new Lifecycle(undefined, clock().now);
    expect(l.drain('op', 'upgrade')).toEqual([{ type: 'coord.draining', actor: 'op', reason: 'upgrade' }]);
    expect(l.dispatching).toBe(false);
    expect(l.settle(2)).toEqual({ events: [], overdue: false });
    const settled = l.settle(0);
    expect(settled.overdue).toBe(false);
    expect(settled.events).toMatchObject([{ type: 'coord.paused' }]);
    expect(l.state).toBe('paused');
    expect(l.resume('op')).toEqual([{ type: 'coord.started', actor: 'op' }]);
    expect(l.resume('op')).toEqual([]);
  });

  it('a drain with a deadline is overdue when tasks still run at the deadline', () => {
    const c = clock();
    const l = new Lifecycle(undefined, c.now);
    l.drain('op', 'stop', 1000);
    c.advance(999);
    expect(l.settle(1).overdue).toBe(false);
    c.advance(1);
    expect(l.settle(1)).toMatchObject({ overdue: true, events: [{ type: 'coord.paused' }] });
    expect(l.record.reason).toMatch(/timed out/);
  });

  it('pause is immediate and idempotent; drain while paused changes nothing', () => {
    const l = new Lifecycle(undefined, clock().now);
    expect(l.pause('op', 'x')).toHaveLength(1);
    expect(l.pause('op', 'x')).toEqual([]);
    expect(l.drain('op', 'y')).toEqual([]);
    expect(l.state).toBe('paused');
  });

  it('resumes by itself only from a stop the budget caused', () => {
    const budget = new Lifecycle(undefined, clock().now);
    budget.drain('system', 'global budget exceeded', undefined, 'budget');
    expect(budget.budgetCleared()).toEqual([{ type: 'coord.started', actor: 'system' }]);
    const operator = new Lifecycle(undefined, clock().now);
    operator.pause('op', 'mine');
    expect(operator.budgetCleared()).toEqual([]);
    expect(operator.state).toBe('paused');
  });

  it('keeps a stored record', () => {
    const l = new Lifecycle({ state: 'paused', reason: 'r', since: 5, actor: 'op' }, clock().now);
    expect(l.state).toBe('paused');
    expect(l.dispatching).toBe(false);
  });
});
