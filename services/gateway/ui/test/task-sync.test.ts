import type { TaskSummary } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import type { LiveEvent, LiveNotice } from '../src/live';
import { TaskSync } from '../src/task-sync';
import { FakeClock } from './fakes';
import { created, raw, task, updated } from './task-fixtures';

/** A feed the test pushes events and notices into. */
class FakeFeed {
  private listeners = new Set<(e: LiveEvent) => void>();
  private noticeListeners = new Set<(n: LiveNotice) => void>();
  private seq = 0;
  subscribe(l: (e: LiveEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onNotice(l: (n: LiveNotice) => void) {
    this.noticeListeners.add(l);
    return () => this.noticeListeners.delete(l);
  }
  push(event: { type: string; time: string; data: unknown }) {
    const seq = ++this.seq;
    const e = { specversion: '1.0' as const, id: `e${seq}`, source: '/test', traceid: 't', ...event };
    for (const l of this.listeners) l({ seq, event: e, replayed: false });
  }
  gap() {
    for (const l of this.noticeListeners)
      l({ kind: 'gap', afterSeq: 1, firstAvailableSeq: 5, message: 'gone' });
  }
}

/** An API whose graph and task answers the test sets; counts the calls. */
class FakeApi {
  tasks: TaskSummary[] = [];
  graphCalls = 0;
  taskCalls: string[] = [];
  fail: string | undefined;
  async getTaskGraph() {
    this.graphCalls++;
    if (this.fail) throw new Error(this.fail);
    return { nodes: this.tasks.map((t) => ({ ...t })) };
  }
  async getTask(id: string) {
    this.taskCalls.push(id);
    const found = this.tasks.find((t) => t.id === id);
    if (!found) throw new Error('not found');
    return { ...found, attempts: [], dependents: [], output: [] };
  }
}

function setup() {
  const clock = new FakeClock();
  const api = new FakeApi();
  const feed = new FakeFeed();
  const sync = new TaskSync(api, feed, { clock, flushMs: 100 });
  sync.start();
  return { clock, api, feed, sync };
}

describe('TaskSync', () => {
  it('loads every task from the graph once, however many pages ask', async () => {
    const { api, sync } = setup();
    api.tasks = [task('a'), task('b')];
    await Promise.all([sync.ensureLoaded(), sync.ensureLoaded()]);
    await sync.ensureLoaded();
    expect(api.graphCalls).toBe(1);
    expect([...sync.store.getSnapshot().tasks.keys()]).toEqual(['a', 'b']);
  });

  it('keeps the tasks current from live events after the load', async () => {
    const { api, feed, sync, clock } = setup();
    api.tasks = [task('a')];
    await sync.ensureLoaded();
    feed.push(raw(updated('a', 'queued', 'running', { workerId: 'w1' })));
    feed.push(raw(created(task('b'))));
    clock.advance(100);
    const { tasks } = sync.store.getSnapshot();
    expect(tasks.get('a')?.status).toBe('running');
    expect(tasks.has('b')).toBe(true);
  });

  it('reads everything again after a gap in the event history', async () => {
    const { api, feed, sync } = setup();
    api.tasks = [task('a')];
    await sync.ensureLoaded();
    api.tasks = [task('a', { status: 'complete' }), task('missed')];
    feed.gap();
    await sync.ensureLoaded();
    await new Promise((r) => setTimeout(r, 0));
    expect(api.graphCalls).toBe(2);
    expect(sync.store.getSnapshot().tasks.get('a')?.status).toBe('complete');
    expect(sync.store.getSnapshot().tasks.has('missed')).toBe(true);
  });

  it('re-reads a task whose edit event did not carry the new fields', async () => {
    const { api, feed, sync, clock } = setup();
    api.tasks = [task('a', { title: 'Old' })];
    await sync.ensureLoaded();
    api.tasks = [task('a', { title: 'New' })];
    feed.push(raw(updated('a', 'queued', 'queued', { changed: ['title'] })));
    clock.advance(100);
    expect(api.taskCalls).toEqual(['a']);
    await new Promise((r) => setTimeout(r, 0));
    clock.advance(100);
    expect(sync.store.getSnapshot().tasks.get('a')?.title).toBe('New');
  });

  it('reloads everything instead of reading many unknown tasks one by one', async () => {
    const { api, feed, sync, clock } = setup();
    await sync.ensureLoaded();
    for (let i = 0; i < 40; i++) feed.push(raw(updated(`ghost-${i}`, 'queued', 'running')));
    clock.advance(100);
    expect(api.taskCalls).toEqual([]);
    expect(api.graphCalls).toBe(2);
  });

  it('shows a failed load and tries again when asked', async () => {
    const { api, sync } = setup();
    api.fail = 'coordinator unavailable';
    await sync.ensureLoaded();
    expect(sync.store.getSnapshot().load).toEqual({ status: 'failed', message: 'coordinator unavailable' });
    api.fail = undefined;
    api.tasks = [task('a')];
    await sync.ensureLoaded();
    expect(sync.store.getSnapshot().load.status).toBe('ready');
  });

  it('stops listening when stopped', async () => {
    const { api, feed, sync, clock } = setup();
    api.tasks = [task('a')];
    await sync.ensureLoaded();
    sync.stop();
    feed.push(raw(updated('a', 'queued', 'running')));
    clock.advance(100);
    expect(sync.store.getSnapshot().tasks.get('a')?.status).toBe('queued');
  });
});
