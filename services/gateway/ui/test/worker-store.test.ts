import { describe, expect, it } from 'vitest';
import type { CoordEvent } from '../src/coord-events';
import { applyWorkerEvent, sortWorkers, WorkerStore } from '../src/worker-store';
import { FakeClock } from './fakes';
import { raw, tick, updated, worker } from './task-fixtures';

const joined = (w: ReturnType<typeof worker>): CoordEvent => ({
  type: 'coord.worker-joined',
  time: tick(),
  data: { worker: w },
});
const left = (id: string, reason: 'bye' | 'timeout' = 'bye'): CoordEvent => ({
  type: 'coord.worker-left',
  time: tick(),
  data: { id, reason },
});

describe('applyWorkerEvent', () => {
  it('adds a joining worker as online and marks a leaving one offline with nothing running', () => {
    const workers = new Map();
    applyWorkerEvent(workers, joined(worker('w1', { status: 'offline' })));
    expect(workers.get('w1')?.status).toBe('online');
    applyWorkerEvent(workers, updated('t1', 'queued', 'assigned', { workerId: 'w1' }));
    const bye = left('w1', 'timeout');
    applyWorkerEvent(workers, bye);
    expect(workers.get('w1')).toMatchObject({ status: 'offline', running: [], lastSeenAt: bye.time });
  });

  it('tracks which tasks each worker holds from task events', () => {
    const workers = new Map([
      ['w1', worker('w1')],
      ['w2', worker('w2')],
    ]);
    applyWorkerEvent(workers, updated('t1', 'queued', 'assigned', { workerId: 'w1' }));
    applyWorkerEvent(workers, updated('t2', 'queued', 'assigned', { workerId: 'w1' }));
    applyWorkerEvent(workers, updated('t1', 'assigned', 'running', { workerId: 'w1' }));
    expect(workers.get('w1')?.running).toEqual(['t1', 't2']);
    applyWorkerEvent(workers, updated('t1', 'running', 'complete', { workerId: 'w1' }));
    // The lease ran out and another worker took it.
    applyWorkerEvent(workers, updated('t2', 'assigned', 'queued'));
    applyWorkerEvent(workers, updated('t2', 'queued', 'assigned', { workerId: 'w2' }));
    expect(workers.get('w1')?.running).toEqual([]);
    expect(workers.get('w2')?.running).toEqual(['t2']);
  });

  it('counts an event about a worker as a sign of life', () => {
    const workers = new Map([['w1', worker('w1', { lastSeenAt: '2020-01-01T00:00:00.000Z' })]]);
    const e = updated('t1', 'running', 'complete', { workerId: 'w1' });
    expect(applyWorkerEvent(workers, e)).toBe(true);
    expect(workers.get('w1')?.lastSeenAt).toBe(e.time);
  });

  it('sorts online workers first, then by name', () => {
    const sorted = sortWorkers([
      worker('b', { name: 'beta', status: 'offline' }),
      worker('c', { name: 'gamma' }),
      worker('a', { name: 'alpha' }),
    ]);
    expect(sorted.map((w) => w.id)).toEqual(['a', 'c', 'b']);
  });
});

describe('WorkerStore', () => {
  it('applies events that come during a load over its answer, and batches changes', () => {
    const clock = new FakeClock();
    const store = new WorkerStore({ clock, flushMs: 100 });
    let renders = 0;
    store.subscribe(() => renders++);
    store.beginLoad();
    store.apply(raw(joined(worker('late'))));
    store.finishLoad([worker('w1')]);
    expect(
      store
        .getSnapshot()
        .workers.map((w) => w.id)
        .sort(),
    ).toEqual(['late', 'w1']);
    const after = renders;
    for (let i = 0; i < 500; i++)
      store.apply(raw(updated(`t${i}`, 'queued', 'assigned', { workerId: 'w1' })));
    expect(renders).toBe(after);
    clock.advance(100);
    expect(renders).toBe(after + 1);
    expect(store.getSnapshot().workers.find((w) => w.id === 'w1')?.running).toHaveLength(500);
  });
});
