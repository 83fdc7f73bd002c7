import { describe, expect, it } from 'vitest';
import { parseCoordEvent, parseTaskSummary, parseWorkerInfo } from '../src/coord-events';

describe('parseCoordEvent', () => {
  it('reads each coordinator event type', () => {
    const time = '2025-01-01T00:00:00.000Z';
    expect(parseCoordEvent({ type: 'coord.dep-added', time, data: { id: 'b', depId: 'a' } })).toEqual({
      type: 'coord.dep-added',
      time,
      data: { id: 'b', depId: 'a' },
    });
    expect(
      parseCoordEvent({
        type: 'coord.task-updated',
        time,
        data: { id: 'a', from: 'queued', to: 'assigned', workerId: 'w1', attempt: 1, extra: true },
      })?.data,
    ).toEqual({ id: 'a', from: 'queued', to: 'assigned', workerId: 'w1', attempt: 1 });
    expect(
      parseCoordEvent({
        type: 'coord.task-output',
        time,
        data: { id: 'a', attempt: 1, lines: [{ at: time, stream: 'stdout', line: 'hi' }, { line: 5 }] },
      })?.data,
    ).toEqual({ id: 'a', attempt: 1, lines: [{ at: time, stream: 'stdout', line: 'hi' }] });
    expect(
      parseCoordEvent({ type: 'coord.worker-left', time, data: { id: 'w1', reason: 'timeout' } })?.data,
    ).toEqual({
      id: 'w1',
      reason: 'timeout',
    });
    expect(
      parseCoordEvent({
        type: 'coord.all-complete',
        time,
        data: { total: 3, complete: 2, failed: 1, canceled: 0 },
      })?.type,
    ).toBe('coord.all-complete');
  });

  it('drops what is not a well-formed coordinator event', () => {
    expect(parseCoordEvent({ type: 'settings.changed', data: {} })).toBeUndefined();
    expect(
      parseCoordEvent({ type: 'coord.task-updated', data: { id: 'a', from: 'queued', to: 'done' } }),
    ).toBeUndefined();
    expect(parseCoordEvent({ type: 'coord.task-created', data: { task: {} } })).toBeUndefined();
    expect(parseCoordEvent({ type: 'coord.unknown', data: {} })).toBeUndefined();
    expect(parseCoordEvent({ type: 'coord.dep-added', data: null })).toBeUndefined();
  });
});

describe('parseTaskSummary and parseWorkerInfo', () => {
  it('fills what a summary may leave out and counts attempts of a full task', () => {
    const t = parseTaskSummary({ id: 'a', status: 'failed', attempts: [{}, {}], title: 'T' });
    expect(t).toMatchObject({ id: 'a', title: 'T', kind: 'exec', labels: [], deps: [], attemptCount: 2 });
    expect(parseTaskSummary({ id: 'a' })).toBeUndefined();
  });

  it('reads a worker, defaulting to online', () => {
    expect(parseWorkerInfo({ id: 'w1', kinds: ['exec'], capacity: 4 })).toMatchObject({
      id: 'w1',
      name: 'w1',
      status: 'online',
      capacity: 4,
      running: [],
    });
    expect(parseWorkerInfo({ name: 'no id' })).toBeUndefined();
  });
});
