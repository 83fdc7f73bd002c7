import {
  EventPublisher,
  ensureStream,
  type PreparedEvent,
  SHARED_STREAMS,
  serializeEvent,
} from '@jousting/bus';
import { CloudEvent, EVENT_DATA, type EventType } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitPartEvents } from '../src/event-relay.js';
import type { Op } from '../src/ops.js';

let nats: NatsHandle;
let nc: NatsConnection;
let events: EventPublisher;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  for (const spec of SHARED_STREAMS) await ensureStream(jsm, spec);
  events = new EventPublisher(jetstream(nc), '/jousting/coordinator', nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Collects `count` messages on `subject` (core subscription). */
function receive(subject: string, count: number): Promise<Msg[]> {
  const got: Msg[] = [];
  return new Promise((resolve) => {
    const sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        got.push(msg);
        if (got.length === count) {
          sub.unsubscribe();
          resolve(got);
        }
      },
    });
  });
}

const prepared = (id: string, data: unknown): PreparedEvent => {
  const event = {
    specversion: '1.0' as const,
    id,
    source: '/t',
    type: 'coord.task-updated',
    time: new Date(0).toISOString(),
    traceid: 'x',
    data,
  };
  return { type: 'coord.task-updated', id, json: serializeEvent(event) };
};

describe('events written as frames', () => {
  it('delivers every payload byte for byte, whatever UTF-8 does to its length', async () => {
    // Reasons of growing length with multi-byte characters: some cross a power of ten only as UTF-8.
    const batch: PreparedEvent[] = [];
    for (let n = 0; n < 120; n++) {
      const reason = `${'a'.repeat(n)}${'é'.repeat(n % 7)}${n % 5 === 0 ? '😀' : ''}"\\\n`;
      batch.push(prepared(`frames-${n}`, { id: 't', from: 'queued', to: 'assigned', reason }));
    }
    const arriving = receive('coord.task-updated', batch.length);
    await nc.flush();
    expect(events.emitPrepared(batch)).toEqual([]);
    const got = await arriving;
    expect(got.map((m) => m.string())).toEqual(batch.map((e) => e.json));
    expect(got.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual(batch.map((e) => e.id));
  });

  it('without msgIds sends plain frames: same payloads, no header', async () => {
    const batch: PreparedEvent[] = [];
    for (let n = 0; n < 50; n++) batch.push(prepared(`plain-${n}`, { id: 't', reason: `${'é'.repeat(n)}x` }));
    const arriving = receive('coord.task-updated', batch.length);
    await nc.flush();
    expect(events.emitPrepared(batch, { msgIds: false })).toEqual([]);
    const got = await arriving;
    expect(got.map((m) => m.string())).toEqual(batch.map((e) => e.json));
    expect(got.every((m) => m.headers === undefined)).toBe(true);
  });

  it('leaves out an event whose id cannot be a header or that is over max_payload, and sends the rest', async () => {
    const huge = prepared('frames-huge', { reason: 'x'.repeat(1024 * 1024 + 10) });
    const batch = [prepared('frames-ok-1', {}), prepared('bad id', {}), huge, prepared('frames-ok-2', {})];
    const arriving = receive('coord.task-updated', 2);
    await nc.flush();
    const refused = events.emitPrepared(batch);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toContain('bad id');
    expect(refused[1]).toContain('max_payload');
    expect((await arriving).map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual([
      'frames-ok-1',
      'frames-ok-2',
    ]);
  });

  it('stores each event once when the same frames are sent twice (Nats-Msg-Id dedup)', async () => {
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info('EVENTS')).state.messages;
    const batch = [prepared('frames-dedup-1', {}), prepared('frames-dedup-2', {})];
    events.emitPrepared(batch);
    events.emitPrepared(batch);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect((await jsm.streams.info('EVENTS')).state.messages).toBe(before + 2);
  });
});

describe('events of journal parts', () => {
  it('starts a re-sent part after the newest stored event (fromIndex), with neither body nor ops lost', async () => {
    const at = Date.UTC(2026, 10, 22, 3, 0, 0, 5);
    const ops: Op[] = [0, 1, 2, 3].map((n) => ({ o: 'dep+', at, id: `cut-${n}`, dep: 'cut-x' }));
    const arriving = receive('coord.dep-added', 3);
    await nc.flush();
    const body = JSON.stringify({ g: 'w.1', p: 0, n: 1, ops });
    const failures = emitPartEvents(events, [
      { seq: 7, ops, traces: ops.map(() => 'tr'), fromIndex: 2 },
      { seq: 8, body, traces: ops.map(() => 'tr'), fromIndex: 3 },
    ]);
    expect(failures).toEqual([]);
    expect((await arriving).map((m) => CloudEvent.parse(m.json()).id)).toEqual([
      'coord-7-2',
      'coord-7-3',
      'coord-8-3',
    ]);
  });

  it('publishes one schema-valid CloudEvent per announcing op, ids from the journal position', async () => {
    const at = Date.UTC(2026, 10, 22, 3, 0, 0, 5);
    const ops: Op[] = [
      {
        o: 'new',
        at,
        id: 'ev-1',
        title: 'Tâche "un"',
        kind: 'noop',
        payload: {},
        prio: 2,
        trace: 'tr-1',
        source: 'api',
        status: 'queued',
      },
      { o: 'st', at, id: 'ev-1', from: 'queued', to: 'assigned', w: 'worker-1', a: 1 },
      { o: 'st', at, id: 'ev-1', from: 'assigned', to: 'running', a: 1 },
      {
        o: 'st',
        at,
        id: 'ev-1',
        from: 'running',
        to: 'failed',
        a: 1,
        reason: 'exit "1"\n😀',
        err: { class: 'fatal', message: 'x' },
      },
      { o: 'idem', at, key: 'k', ids: ['ev-1'] },
      { o: 'dep+', at, id: 'ev-1', dep: 'ev-0' },
      {
        o: 'new',
        at,
        id: 'ev-2',
        title: 't',
        desc: 'd',
        kind: 'exec',
        payload: { a: 1 },
        prio: -3,
        labels: ['gpu', 'eu'],
        deps: ['ev-1'],
        trace: 'tr-1',
        source: 'api',
        status: 'pending',
        reason: 'waiting on failed dependency ev-1',
      },
    ];
    const arriving = receive('coord.>', 6);
    await nc.flush();
    const failures = emitPartEvents(events, [{ seq: 41, ops, traces: ops.map(() => 'tr-1') }]);
    expect(failures).toEqual([]);
    const got = (await arriving).map((m) => CloudEvent.parse(m.json()));
    expect(got.map((e) => e.id)).toEqual([
      'coord-41-0',
      'coord-41-1',
      'coord-41-2',
      'coord-41-3',
      'coord-41-5',
      'coord-41-6',
    ]);
    for (const event of got) {
      expect(EVENT_DATA[event.type as EventType].safeParse(event.data).success).toBe(true);
      expect(event.traceid).toBe('tr-1');
    }
    expect(got.map((e) => e.subject)).toEqual(['ev-1', 'ev-1', 'ev-1', 'ev-1', 'ev-1', 'ev-2']);
    expect(got[5]!.data).toMatchObject({
      task: {
        id: 'ev-2',
        priority: -3,
        labels: ['gpu', 'eu'],
        deps: ['ev-1'],
        status: 'pending',
        statusReason: 'waiting on failed dependency ev-1',
      },
    });
    expect(got[3]!.data).toEqual({
      id: 'ev-1',
      from: 'running',
      to: 'failed',
      reason: 'exit "1"\n😀',
      attempt: 1,
    });
    expect(got[1]!.data).toEqual({
      id: 'ev-1',
      from: 'queued',
      to: 'assigned',
      workerId: 'worker-1',
      attempt: 1,
    });
  });
});
