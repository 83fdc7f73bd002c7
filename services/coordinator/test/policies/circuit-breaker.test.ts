import { describe, expect, it } from 'vitest';
import { CircuitBreakers } from '../../src/policies/circuit-breaker.js';

function setup(options = {}) {
  const c = { t: 1000 };
  const breakers = new CircuitBreakers(options, () => c.t);
  return { c, breakers };
}

describe('CircuitBreakers', () => {
  it('opens after three consecutive failed attempts', () => {
    const { breakers } = setup();
    expect(breakers.recordFailure('w1', 'transient')).toBeUndefined();
    expect(breakers.recordFailure('w1', 'limit')).toBeUndefined();
    expect(breakers.allows('w1')).toBe(true);
    expect(breakers.recordFailure('w1', 'fatal')).toEqual({
      workerId: 'w1',
      from: 'closed',
      to: 'open',
      reason: 'consecutive-failures',
      consecutiveFailures: 3,
      retryAt: 31_000,
    });
    expect(breakers.allows('w1')).toBe(false);
    expect(breakers.allows('w2')).toBe(true);
    expect(breakers.state()).toEqual([
      { workerId: 'w1', state: 'open', consecutiveFailures: 3, openedAt: 1000, retryAt: 31_000 },
    ]);
  });

  it('starts counting again after a success', () => {
    const { breakers } = setup();
    breakers.recordFailure('w1', 'transient');
    breakers.recordFailure('w1', 'transient');
    expect(breakers.recordSuccess('w1')).toBeUndefined();
    breakers.recordFailure('w1', 'transient');
    expect(breakers.recordFailure('w1', 'transient')).toBeUndefined();
    expect(breakers.allows('w1')).toBe(true);
    expect(breakers.state()).toEqual([{ workerId: 'w1', state: 'closed', consecutiveFailures: 2 }]);
  });

  it('neither counts nor resets on fatal input errors', () => {
    const { breakers } = setup();
    breakers.recordFailure('w1', 'transient');
    breakers.recordFailure('w1', 'transient');
    for (let i = 0; i < 5; i++) {
      expect(breakers.recordFailure('w1', 'fatal', { inputError: true })).toBeUndefined();
    }
    expect(breakers.allows('w1')).toBe(true);
    expect(breakers.recordFailure('w1', 'transient')?.to).toBe('open');
  });

  it('turns half-open after the 30 s cool-down and closes on a success', () => {
    const { c, breakers } = setup();
    for (let i = 0; i < 3; i++) breakers.recordFailure('w1', 'transient');
    c.t = 30_999;
    expect(breakers.allows('w1')).toBe(false);
    c.t = 31_000;
    expect(breakers.allows('w1')).toBe(true);
    expect(breakers.state()[0]?.state).toBe('half-open');
    expect(breakers.recordSuccess('w1')).toEqual({
      workerId: 'w1',
      from: 'half-open',
      to: 'closed',
      reason: 'success',
      consecutiveFailures: 0,
    });
    expect(breakers.state()).toEqual([{ workerId: 'w1', state: 'closed', consecutiveFailures: 0 }]);
  });

  it('re-opens at once with a fresh cool-down when the half-open trial fails', () => {
    const { c, breakers } = setup();
    for (let i = 0; i < 3; i++) breakers.recordFailure('w1', 'transient');
    c.t = 40_000;
    expect(breakers.allows('w1')).toBe(true);
    expect(breakers.recordFailure('w1', 'transient')).toEqual({
      workerId: 'w1',
      from: 'half-open',
      to: 'open',
      reason: 'half-open-failure',
      consecutiveFailures: 4,
      retryAt: 70_000,
    });
    expect(breakers.allows('w1')).toBe(false);
    c.t = 69_999;
    expect(breakers.allows('w1')).toBe(false);
    c.t = 70_000;
    expect(breakers.allows('w1')).toBe(true);
  });

  it('lets a late failure not extend the cool-down, and a late success close the circuit', () => {
    const { c, breakers } = setup();
    for (let i = 0; i < 3; i++) breakers.recordFailure('w1', 'transient');
    c.t = 20_000;
    expect(breakers.recordFailure('w1', 'transient')).toBeUndefined();
    expect(breakers.state()[0]).toMatchObject({ state: 'open', retryAt: 31_000, consecutiveFailures: 4 });
    expect(breakers.recordSuccess('w1')).toMatchObject({ from: 'open', to: 'closed' });
    expect(breakers.allows('w1')).toBe(true);
  });

  it('holds further dispatches while a noted half-open trial is out', () => {
    const { c, breakers } = setup();
    for (let i = 0; i < 3; i++) breakers.recordFailure('w1', 'transient');
    c.t = 31_000;
    breakers.noteDispatch('w1');
    expect(breakers.allows('w1')).toBe(false);
    // A trial whose result never comes does not hold the worker forever.
    c.t = 61_000;
    expect(breakers.allows('w1')).toBe(true);
    breakers.noteDispatch('w1');
    expect(breakers.recordFailure('w1', 'transient')?.to).toBe('open');
    c.t = 91_000;
    expect(breakers.allows('w1')).toBe(true);
    breakers.noteDispatch('w2');
    breakers.recordSuccess('w1');
    breakers.noteDispatch('w1');
    expect(breakers.allows('w1')).toBe(true);
  });

  it('follows its options', () => {
    const { c, breakers } = setup({ failureThreshold: 1, coolDownMs: 5 });
    expect(breakers.recordFailure('w1', 'limit')?.retryAt).toBe(1005);
    c.t = 1005;
    expect(breakers.allows('w1')).toBe(true);
    expect(() => new CircuitBreakers({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreakers({ coolDownMs: -1 })).toThrow(/coolDownMs/);
  });

  it('forgets a worker and lists the known ones by id', () => {
    const { breakers } = setup();
    breakers.recordSuccess('w3');
    for (let i = 0; i < 3; i++) breakers.recordFailure('w2', 'transient');
    breakers.recordFailure('w1', 'transient');
    expect(breakers.state().map((v) => [v.workerId, v.state])).toEqual([
      ['w1', 'closed'],
      ['w2', 'open'],
      ['w3', 'closed'],
    ]);
    breakers.forget('w2');
    expect(breakers.allows('w2')).toBe(true);
    expect(breakers.state().map((v) => v.workerId)).toEqual(['w1', 'w3']);
  });
});
