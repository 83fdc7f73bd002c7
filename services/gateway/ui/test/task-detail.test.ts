import type { TaskDetail } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import type { OutputLine } from '../src/coord-events';
import {
  applyToDetail,
  durationBetween,
  formatCost,
  formatDuration,
  formatTime,
  mergeOutput,
  relativeTime,
  withFreshRead,
} from '../src/task-detail';
import { created, depAdded, depRemoved, output, task, updated } from './task-fixtures';

function detail(patch: Partial<TaskDetail> = {}): TaskDetail {
  const t = task('a');
  return {
    ...t,
    description: '',
    payload: { command: 'echo', args: ['hello'] },
    attempts: [],
    cost: { usd: 0, inputTokens: 0, outputTokens: 0 },
    traceId: 'trace',
    source: 'ui',
    dependents: [],
    output: [],
    ...patch,
  };
}

const line = (at: string, text: string, stream: OutputLine['stream'] = 'stdout'): OutputLine => ({
  at,
  stream,
  line: text,
});

describe('mergeOutput', () => {
  it('appends live lines the page does not hold yet, once', () => {
    const kept = [line('2025-01-01T00:00:01Z', 'one'), line('2025-01-01T00:00:02Z', 'two')];
    const merged = mergeOutput(kept, [
      line('2025-01-01T00:00:02Z', 'two'),
      line('2025-01-01T00:00:03Z', 'three'),
    ]);
    expect(merged.map((l) => l.line)).toEqual(['one', 'two', 'three']);
  });

  it('keeps equal text at different times and on different streams', () => {
    const merged = mergeOutput(
      [line('2025-01-01T00:00:01Z', 'tick')],
      [line('2025-01-01T00:00:02Z', 'tick'), line('2025-01-01T00:00:02Z', 'tick', 'stderr')],
    );
    expect(merged).toHaveLength(3);
  });

  it('returns the same array when nothing is new, and drops the oldest past the cap', () => {
    const kept = [line('2025-01-01T00:00:01Z', 'x')];
    expect(mergeOutput(kept, [line('2025-01-01T00:00:01Z', 'x')])).toBe(kept);
    const many = Array.from({ length: 10 }, (_, i) =>
      line(`2025-01-01T00:00:${String(i).padStart(2, '0')}Z`, `l${i}`),
    );
    expect(mergeOutput([], many, 4).map((l) => l.line)).toEqual(['l6', 'l7', 'l8', 'l9']);
  });
});

describe('applyToDetail', () => {
  it('shows a status change at once and asks for a re-read for the attempts', () => {
    const change = applyToDetail(
      detail(),
      updated('a', 'queued', 'running', { workerId: 'w1', reason: 'claimed' }),
    );
    expect(change.refetch).toBe(true);
    expect(change.detail).toMatchObject({ status: 'running', workerId: 'w1', statusReason: 'claimed' });
  });

  it('appends live output of this task only', () => {
    const d = detail();
    const mine = applyToDetail(d, output('a', [['stdout', 'hello']]));
    expect(mine.detail.output.map((l) => l.line)).toEqual(['hello']);
    expect(mine.refetch).toBe(false);
    expect(applyToDetail(d, output('other', [['stdout', 'x']])).detail).toBe(d);
  });

  it('follows its dependencies and the tasks waiting for it', () => {
    let d = detail({ deps: ['x'] });
    d = applyToDetail(d, depAdded('a', 'y')).detail;
    d = applyToDetail(d, depRemoved('a', 'x')).detail;
    d = applyToDetail(d, depAdded('later', 'a')).detail;
    d = applyToDetail(d, created(task('child', { deps: ['a'] }))).detail;
    expect(d.deps).toEqual(['y']);
    expect(d.dependents).toEqual(['later', 'child']);
    d = applyToDetail(d, depRemoved('later', 'a')).detail;
    expect(d.dependents).toEqual(['child']);
  });

  it('re-reads after an edit, whose event does not carry the fields', () => {
    expect(applyToDetail(detail(), updated('a', 'queued', 'queued', { changed: ['title'] })).refetch).toBe(
      true,
    );
  });

  it('keeps live lines a fresh read does not have yet', () => {
    const current = detail({
      output: [line('2025-01-01T00:00:01Z', 'one'), line('2025-01-01T00:00:05Z', 'live')],
    });
    const fresh = detail({ status: 'complete', output: [line('2025-01-01T00:00:01Z', 'one')] });
    const merged = withFreshRead(current, fresh);
    expect(merged.status).toBe('complete');
    expect(merged.output.map((l) => l.line)).toEqual(['one', 'live']);
  });
});

describe('formatting', () => {
  it('formats durations from milliseconds to hours', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
    expect(durationBetween('2025-01-01T00:00:00Z', '2025-01-01T00:00:03Z')).toBe('3.0 s');
    expect(durationBetween(undefined, undefined)).toBe('—');
  });

  it('says how long ago in words', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(relativeTime('2025-01-01T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2025-01-01T11:59:30Z', now)).toBe('30 s ago');
    expect(relativeTime('2025-01-01T11:45:00Z', now)).toBe('15 min ago');
    expect(relativeTime(undefined, now)).toBe('—');
  });

  it('shows the time alone today and with the date otherwise', () => {
    const now = Date.parse('2025-01-01T12:00:00');
    expect(formatTime('2025-01-01T10:20:30', now)).toBe('10:20:30');
    expect(formatTime('2024-12-30T10:20:30', now)).toBe('2024-12-30 10:20');
    expect(formatTime(undefined)).toBe('—');
  });

  it('shows cost in dollars and tokens, or a dash for nothing spent', () => {
    expect(formatCost({ usd: 0, inputTokens: 0, outputTokens: 0 })).toBe('—');
    expect(formatCost({ usd: 1.5, inputTokens: 1200, outputTokens: 350 })).toBe(
      '$1.50 · 1,200 in / 350 out tokens',
    );
    expect(formatCost({ usd: 0.0042 })).toBe('$0.0042');
  });
});
