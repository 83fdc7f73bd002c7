import type { TaskSummary } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  applyCoordEvent,
  applyEventsToRows,
  boardColumns,
  dependentCounts,
  matchesQuery,
  progressOf,
  TaskStore,
} from '../src/task-store';
import { FakeClock } from './fakes';
import { created, depAdded, depRemoved, output, raw, task, tick, updated } from './task-fixtures';

const mapOf = (...tasks: TaskSummary[]) => new Map(tasks.map((t) => [t.id, t]));

describe('applyCoordEvent', () => {
  it('adds a created task and reports a structural change', () => {
    const tasks = mapOf();
    const result = applyCoordEvent(tasks, created(task('a')));
    expect(result).toEqual({ changed: true, structural: true });
    expect(tasks.get('a')?.title).toBe('Task a');
  });

  it('moves a task to the new status with its reason, worker and attempt', () => {
    const tasks = mapOf(task('a'));
    applyCoordEvent(tasks, updated('a', 'queued', 'assigned', { workerId: 'w1', attempt: 1 }));
    expect(tasks.get('a')).toMatchObject({ status: 'assigned', workerId: 'w1', attemptCount: 1 });
    applyCoordEvent(tasks, updated('a', 'assigned', 'running', { workerId: 'w1', attempt: 1 }));
    applyCoordEvent(tasks, updated('a', 'running', 'failed', { reason: 'exit code 2', attempt: 1 }));
    expect(tasks.get('a')).toMatchObject({ status: 'failed', statusReason: 'exit code 2', workerId: 'w1' });
  });

  it('drops the worker and the old reason when a task goes back to the queue', () => {
    const tasks = mapOf(task('a', { status: 'running', workerId: 'w1', statusReason: 'x' }));
    applyCoordEvent(tasks, updated('a', 'running', 'queued'));
    const a = tasks.get('a');
    expect(a?.status).toBe('queued');
    expect(a?.workerId).toBeUndefined();
    expect(a?.statusReason).toBeUndefined();
  });

  it('replaces the summary object and leaves the map entries of other tasks alone', () => {
    const b = task('b');
    const a = task('a');
    const tasks = mapOf(a, b);
    applyCoordEvent(tasks, updated('a', 'queued', 'assigned'));
    expect(tasks.get('a')).not.toBe(a);
    expect(a.status).toBe('queued');
    expect(tasks.get('b')).toBe(b);
  });

  it('ignores a status event older than what it holds', () => {
    const at = tick();
    const tasks = mapOf(task('a', { status: 'complete', updatedAt: at }));
    const old = updated('a', 'queued', 'assigned', { time: new Date(Date.parse(at) - 5000).toISOString() });
    expect(applyCoordEvent(tasks, old).changed).toBe(false);
    expect(tasks.get('a')?.status).toBe('complete');
  });

  it('asks for a re-read of an edited task and of one it has never seen', () => {
    const tasks = mapOf(task('a'));
    expect(applyCoordEvent(tasks, updated('a', 'queued', 'queued', { changed: ['title'] }))).toEqual({
      changed: false,
      structural: false,
      stale: 'a',
    });
    expect(applyCoordEvent(tasks, updated('zz', 'queued', 'running')).stale).toBe('zz');
  });

  it('adds and removes dependencies once each', () => {
    const tasks = mapOf(task('a'), task('b'));
    expect(applyCoordEvent(tasks, depAdded('b', 'a'))).toEqual({ changed: true, structural: true });
    expect(applyCoordEvent(tasks, depAdded('b', 'a')).changed).toBe(false);
    expect(tasks.get('b')?.deps).toEqual(['a']);
    applyCoordEvent(tasks, depRemoved('b', 'a'));
    expect(tasks.get('b')?.deps).toEqual([]);
  });

  it('ignores output and unrelated events', () => {
    const tasks = mapOf(task('a'));
    expect(applyCoordEvent(tasks, output('a', [['stdout', 'hi']])).changed).toBe(false);
  });
});

describe('TaskStore', () => {
  function setup() {
    const clock = new FakeClock();
    const stale: string[][] = [];
    const store = new TaskStore({ clock, flushMs: 100, onStale: (ids) => stale.push(ids) });
    let renders = 0;
    store.subscribe(() => renders++);
    return { clock, store, stale, renders: () => renders };
  }

  it('tells listeners once for a burst of 10,000 events, within 100 ms', () => {
    const { clock, store, renders } = setup();
    store.beginLoad();
    store.finishLoad([task('a', { status: 'queued' })]);
    const afterLoad = renders();
    for (let i = 0; i < 10_000; i++) {
      const event = i % 2 === 0 ? updated('a', 'queued', 'running') : updated('a', 'running', 'queued');
      store.apply(raw(event));
    }
    expect(renders()).toBe(afterLoad);
    clock.advance(100);
    expect(renders()).toBe(afterLoad + 1);
    expect(store.getSnapshot().tasks.get('a')?.status).toBe('queued');
    expect(store.applied).toBe(10_000);
  });

  it('keeps the snapshot the same object until something changes', () => {
    const { clock, store } = setup();
    store.beginLoad();
    store.finishLoad([task('a')]);
    const first = store.getSnapshot();
    store.apply(raw(output('a', [['stdout', 'x']])));
    clock.advance(200);
    expect(store.getSnapshot()).toBe(first);
    store.apply(raw(updated('a', 'queued', 'assigned')));
    clock.advance(100);
    expect(store.getSnapshot()).not.toBe(first);
    expect(store.getSnapshot().version).toBeGreaterThan(first.version);
  });

  it('bumps the structure counter only for new tasks and dependency changes', () => {
    const { clock, store } = setup();
    store.beginLoad();
    store.finishLoad([task('a'), task('b')]);
    const s0 = store.getSnapshot().structure;
    store.apply(raw(updated('a', 'queued', 'assigned')));
    clock.advance(100);
    expect(store.getSnapshot().structure).toBe(s0);
    store.apply(raw(depAdded('b', 'a')));
    clock.advance(100);
    expect(store.getSnapshot().structure).toBe(s0 + 1);
    store.apply(raw(created(task('c'))));
    clock.advance(100);
    expect(store.getSnapshot().structure).toBe(s0 + 2);
  });

  it('applies events that arrive during a load on top of its answer', () => {
    const { store } = setup();
    store.beginLoad();
    store.apply(raw(created(task('late'))));
    store.apply(raw(updated('a', 'queued', 'running', { workerId: 'w2' })));
    expect(store.getSnapshot().tasks.size).toBe(0);
    store.finishLoad([
      task('a', { createdAt: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z' }),
    ]);
    const { tasks, load } = store.getSnapshot();
    expect(load.status).toBe('ready');
    expect([...tasks.keys()].sort()).toEqual(['a', 'late']);
    expect(tasks.get('a')).toMatchObject({ status: 'running', workerId: 'w2' });
  });

  it('ignores events before its first load', () => {
    const { clock, store } = setup();
    store.apply(raw(created(task('a'))));
    clock.advance(100);
    expect(store.getSnapshot().tasks.size).toBe(0);
  });

  it('hands tasks an event could not update to onStale at flush time', () => {
    const { clock, store, stale } = setup();
    store.beginLoad();
    store.finishLoad([task('a')]);
    store.apply(raw(updated('a', 'queued', 'queued', { changed: ['title', 'priority'] })));
    store.apply(raw(updated('ghost', 'queued', 'running')));
    expect(stale).toEqual([]);
    clock.advance(100);
    expect(stale).toEqual([['a', 'ghost']]);
    store.upsert(task('a', { title: 'Renamed' }));
    clock.advance(100);
    expect(store.getSnapshot().tasks.get('a')?.title).toBe('Renamed');
  });

  it('keeps what events said over an older answer from the API', () => {
    const { clock, store } = setup();
    store.beginLoad();
    store.finishLoad([]);
    // The create answer says "assigned", but the events of its run overtook it.
    const createdAt = tick();
    const answer = task('a', { status: 'assigned', createdAt, updatedAt: tick(1) });
    store.apply(raw(created(task('a', { status: 'queued', createdAt, updatedAt: createdAt }), createdAt)));
    store.apply(raw(updated('a', 'queued', 'assigned', { time: answer.updatedAt })));
    store.apply(raw(updated('a', 'assigned', 'running')));
    store.apply(raw(updated('a', 'running', 'complete')));
    store.upsert(answer);
    clock.advance(100);
    expect(store.getSnapshot().tasks.get('a')?.status).toBe('complete');
  });

  it('takes a new reason for the same status straight from the event', () => {
    const { clock, store, stale } = setup();
    store.beginLoad();
    store.finishLoad([task('a', { status: 'pending' })]);
    store.apply(
      raw(updated('a', 'pending', 'pending', { reason: 'waiting for b', changed: ['statusReason'] })),
    );
    clock.advance(100);
    expect(store.getSnapshot().tasks.get('a')?.statusReason).toBe('waiting for b');
    expect(stale).toEqual([]);
  });

  it('reports a failed load and keeps nothing half-loaded', () => {
    const { store } = setup();
    store.beginLoad();
    store.failLoad('gateway down');
    expect(store.getSnapshot().load).toEqual({ status: 'failed', message: 'gateway down' });
  });

  it('drops malformed events', () => {
    const { clock, store } = setup();
    store.beginLoad();
    store.finishLoad([task('a')]);
    const before = store.getSnapshot();
    store.apply({ type: 'coord.task-updated', data: { id: 'a', from: 'queued', to: 'exploded' } });
    store.apply({ type: 'coord.task-created', data: { task: { title: 'no id' } } });
    store.apply({ type: 'coord.dep-added', data: 'nonsense' });
    clock.advance(100);
    expect(store.getSnapshot()).toBe(before);
  });
});

describe('board and list views', () => {
  it('puts every task in the column of its status, highest priority then oldest first', () => {
    const columns = boardColumns([
      task('late-low', { status: 'queued', priority: 0 }),
      task('high', { status: 'queued', priority: 5 }),
      task('later-low', { status: 'queued', priority: 0 }),
      task('done-1', { status: 'complete' }),
      task('done-2', { status: 'complete' }),
    ]);
    expect(columns.map((c) => c.status)).toEqual([
      'pending',
      'queued',
      'assigned',
      'running',
      'complete',
      'failed',
      'canceled',
      'blocked',
    ]);
    const byStatus = Object.fromEntries(columns.map((c) => [c.status, c.items.map((t) => t.id)]));
    expect(byStatus.queued).toEqual(['high', 'late-low', 'later-low']);
    // Finished: the most recent first.
    expect(byStatus.complete).toEqual(['done-2', 'done-1']);
  });

  it('caps a column but still counts all of it', () => {
    const many = Array.from({ length: 12 }, (_, i) => task(`t${i}`, { status: 'pending' }));
    const pending = boardColumns(many, 5).find((c) => c.status === 'pending');
    expect(pending?.items).toHaveLength(5);
    expect(pending?.total).toBe(12);
  });

  it('counts tasks per status and the share complete', () => {
    const progress = progressOf([
      task('a', { status: 'complete' }),
      task('b', { status: 'complete' }),
      task('c', { status: 'running' }),
      task('d', { status: 'failed' }),
    ]);
    expect(progress.total).toBe(4);
    expect(progress.percentDone).toBe(50);
    expect(progress.byStatus).toMatchObject({ complete: 2, running: 1, failed: 1, pending: 0 });
    expect(progressOf([]).percentDone).toBe(0);
  });

  it('counts the tasks waiting for each task', () => {
    const counts = dependentCounts([task('a'), task('b', { deps: ['a'] }), task('c', { deps: ['a', 'b'] })]);
    expect(counts.get('a')).toBe(2);
    expect(counts.get('b')).toBe(1);
    expect(counts.get('c')).toBeUndefined();
  });

  it('matches a summary against status, kind, label and text', () => {
    const t = task('build-42', { title: 'Build the docs', status: 'running', labels: ['gpu'], kind: 'exec' });
    expect(matchesQuery(t, {})).toBe(true);
    expect(matchesQuery(t, { status: ['running', 'queued'] })).toBe(true);
    expect(matchesQuery(t, { status: ['queued'] })).toBe(false);
    expect(matchesQuery(t, { kind: 'agent' })).toBe(false);
    expect(matchesQuery(t, { label: 'gpu' })).toBe(true);
    expect(matchesQuery(t, { q: 'DOCS' })).toBe(true);
    expect(matchesQuery(t, { q: '42' })).toBe(true);
    expect(matchesQuery(t, { q: 'nothing' })).toBe(false);
  });

  it('updates the rows of a list page in place and counts new matching tasks', () => {
    const rows = [task('a'), task('b')];
    const { rows: next, created: fresh } = applyEventsToRows(
      rows,
      [
        updated('a', 'queued', 'running', { workerId: 'w1' }),
        created(task('c', { status: 'queued' })),
        created(task('d', { status: 'complete' })),
        updated('elsewhere', 'queued', 'running'),
      ],
      { status: ['queued', 'running'] },
    );
    expect(next.map((r) => [r.id, r.status])).toEqual([
      ['a', 'running'],
      ['b', 'queued'],
    ]);
    expect(next[1]).toBe(rows[1]);
    expect(fresh).toEqual(['c']);
  });
});
