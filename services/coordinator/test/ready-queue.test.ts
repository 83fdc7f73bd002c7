import { describe, expect, it } from 'vitest';
import { type ReadyItem, ReadyQueue } from '../src/ready-queue.js';

interface Item extends ReadyItem {
  id: string;
}
let order = 0;
const item = (id: string, priority = 0, kind = 'exec', labels: string[] = []): Item => ({
  id,
  priority,
  order: order++,
  kind,
  labels,
  readyIndex: -1,
  readyBucket: undefined,
});
const anyExec = { kinds: ['exec'], labels: [] };
const ids = (items: Item[]) => items.map((i) => i.id);

describe('ready queue', () => {
  it('hands out higher priority first, then the oldest', () => {
    const q = new ReadyQueue<Item>();
    for (const i of [
      item('old-low', 0),
      item('mid', 5),
      item('new-low', 0),
      item('high', 9),
      item('mid2', 5),
    ])
      q.add(i);
    expect(ids(q.takeFor(anyExec, 10))).toEqual(['high', 'mid', 'mid2', 'old-low', 'new-low']);
    expect(q.size).toBe(0);
  });

  it('gives a worker only kinds it runs and tasks whose labels it has', () => {
    const q = new ReadyQueue<Item>();
    q.add(item('gpu-job', 0, 'exec', ['gpu']));
    q.add(item('agent-job', 0, 'agent'));
    q.add(item('eu-gpu', 0, 'exec', ['region=eu', 'gpu']));
    q.add(item('plain', 0, 'exec'));
    expect(ids(q.takeFor({ kinds: ['exec'], labels: [] }, 10))).toEqual(['plain']);
    expect(ids(q.takeFor({ kinds: ['exec'], labels: ['gpu'] }, 10))).toEqual(['gpu-job']);
    expect(ids(q.takeFor({ kinds: ['exec', 'agent'], labels: ['gpu', 'region=eu', 'x'] }, 10))).toEqual([
      'agent-job',
      'eu-gpu',
    ]);
  });

  it('picks the best task across the buckets a worker matches', () => {
    const q = new ReadyQueue<Item>();
    q.add(item('a1', 1, 'a'));
    q.add(item('b5', 5, 'b'));
    q.add(item('a5', 5, 'a'));
    expect(ids(q.takeFor({ kinds: ['a', 'b'], labels: [] }, 3))).toEqual(['b5', 'a5', 'a1']);
  });

  it('removes tasks from the middle and keeps the order of the rest', () => {
    const q = new ReadyQueue<Item>();
    const all = Array.from({ length: 500 }, (_, i) => item(`t${i}`, (i * 7919) % 13));
    for (const i of all) q.add(i);
    const removed = all.filter((_, i) => i % 3 === 0);
    for (const i of removed) q.remove(i);
    q.remove(removed[0]!); // removing twice is harmless
    const expected = all
      .filter((_, i) => i % 3 !== 0)
      .sort((a, b) => b.priority - a.priority || a.order - b.order)
      .map((i) => i.id);
    expect(ids(q.takeFor(anyExec, 1000))).toEqual(expected);
  });

  it('takes no more than asked and peeks without taking', () => {
    const q = new ReadyQueue<Item>();
    q.add(item('x'));
    q.add(item('y'));
    expect(q.peekFor(anyExec)?.id).toBe('x');
    expect(ids(q.takeFor(anyExec, 1))).toEqual(['x']);
    expect(q.size).toBe(1);
    expect(q.peekFor({ kinds: ['agent'], labels: [] })).toBeUndefined();
  });
});
