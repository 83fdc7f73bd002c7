import { describe, expect, it } from 'vitest';
import { type DeadLetterRecord, DeadLetterStore } from '../src/dead-letters.js';

const letter = (id: string, at: number, kind = 'exec'): DeadLetterRecord => ({
  id,
  kind,
  title: `task ${id}`,
  attempts: 1,
  lastError: { class: 'fatal', message: 'boom' },
  status: 'open',
  createdAt: at,
  updatedAt: at,
});

describe('DeadLetterStore', () => {
  it('lists newest first, filtered by status and kind, a page at a time', () => {
    const store = new DeadLetterStore();
    store.put(letter('a', 1));
    store.put(letter('b', 2, 'agent'));
    store.put(letter('c', 3));
    store.dismiss('c', 'known issue', 4);
    expect(store.list({ limit: 50, offset: 0 }).items.map((d) => d.id)).toEqual(['c', 'b', 'a']);
    expect(store.list({ status: 'open', limit: 50, offset: 0 }).items.map((d) => d.id)).toEqual(['b', 'a']);
    expect(store.list({ kind: 'exec', limit: 50, offset: 0 }).items.map((d) => d.id)).toEqual(['c', 'a']);
    const page = store.list({ limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1, hasMore: true });
    expect(page.items.map((d) => d.id)).toEqual(['b']);
    expect(store.list({ status: 'dismissed', limit: 50, offset: 0 }).items[0]).toMatchObject({
      id: 'c',
      taskId: 'c',
      status: 'dismissed',
      dismissReason: 'known issue',
      updatedAt: new Date(4).toISOString(),
    });
  });

  it('when full, evicts the oldest dismissed dead letter before any open one', () => {
    const store = new DeadLetterStore(3);
    store.put(letter('a', 1));
    store.put(letter('b', 2));
    store.put(letter('c', 3));
    store.dismiss('b', 'seen', 4);
    expect(store.put(letter('d', 5))).toEqual(['b']);
    expect(store.all().map((d) => d.id)).toEqual(['a', 'c', 'd']);
  });

  it('when full with only open dead letters, evicts the oldest', () => {
    const store = new DeadLetterStore(2);
    store.put(letter('a', 1));
    store.put(letter('b', 2));
    expect(store.put(letter('c', 3))).toEqual(['a']);
    expect(store.size).toBe(2);
    expect(store.all().map((d) => d.id)).toEqual(['b', 'c']);
  });

  it('replaces the dead letter of a task failed again, as the newest, without evicting', () => {
    const store = new DeadLetterStore(2);
    store.put(letter('a', 1));
    store.put(letter('b', 2));
    expect(store.put({ ...letter('a', 3), attempts: 2 })).toEqual([]);
    expect(store.all().map((d) => [d.id, d.attempts])).toEqual([
      ['b', 1],
      ['a', 2],
    ]);
    expect(store.remove('a')).toBe(true);
    expect(store.get('a')).toBeUndefined();
  });
});
