import { describe, expect, it } from 'vitest';
import { EventLog, eventActor } from '../src/event-log';
import type { LiveEvent } from '../src/live';

const entry = (seq: number, data: unknown = {}): LiveEvent => ({
  seq,
  replayed: false,
  event: {
    specversion: '1.0',
    id: String(seq),
    source: '/t',
    type: 'settings.changed',
    time: new Date(0).toISOString(),
    traceid: 't',
    data,
  },
});

describe('EventLog', () => {
  it('keeps the newest events first, up to its capacity', () => {
    const log = new EventLog(3);
    let changes = 0;
    log.subscribe(() => changes++);
    for (let seq = 1; seq <= 5; seq++) log.add(entry(seq));
    expect(log.getSnapshot().map((e) => e.seq)).toEqual([5, 4, 3]);
    expect(log.received).toBe(5);
    expect(changes).toBe(5);
    log.clear();
    expect(log.getSnapshot()).toEqual([]);
  });

  it('hands out the same snapshot until something changes', () => {
    const log = new EventLog();
    log.add(entry(1));
    expect(log.getSnapshot()).toBe(log.getSnapshot());
  });
});

describe('eventActor', () => {
  it('reads data.actor when present', () => {
    expect(eventActor(entry(1, { actor: 'external' }).event)).toBe('external');
    expect(eventActor(entry(1, { actor: 3 }).event)).toBeUndefined();
    expect(eventActor(entry(1, null).event)).toBeUndefined();
  });
});
