import { healthCommand, JoustingError, settingsCommands } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  callCommand,
  casUpdate,
  consumeDurable,
  createLogger,
  decodeJson,
  EventPublisher,
  endpoint,
  ensureStream,
  openKv,
  readEventStream,
  SHARED_STREAMS,
  serializeEvent,
  serveCommands,
  startService,
} from '../src/index.js';

const logger = createLogger('test', { level: 'silent' });
let nats: NatsHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  for (const spec of SHARED_STREAMS) await ensureStream(jsm, spec);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('commands over the NATS services API', () => {
  it('validates the request and returns typed data; refusals name the field', async () => {
    const svc = await serveCommands(nc, { name: 'settings', version: '0.0.1', logger }, [
      endpoint(settingsCommands.get, async () => {
        throw new JoustingError('not_found', 'nothing here');
      }),
      endpoint(settingsCommands.patch, async (req) => ({
        changes: { maxTurns: { from: 30, to: req.changes.maxTurns } },
        settings: {
          ...(await import('@jousting/contracts')).DEFAULT_SETTINGS,
          maxTurns: req.changes.maxTurns ?? 30,
        },
      })),
    ]);
    try {
      const reply = await callCommand(nc, settingsCommands.patch, {
        changes: { maxTurns: 12 },
        actor: 'test',
      });
      expect(reply.settings.maxTurns).toBe(12);

      const bad = await callCommand(nc, settingsCommands.patch, {
        changes: { maxTurns: 999 },
        actor: 'test',
      }).catch((e) => e);
      expect(bad).toBeInstanceOf(JoustingError);
      expect(bad.code).toBe('validation_failed');
      expect(bad.details.fields[0].field).toBe('changes.maxTurns');

      const missing = await callCommand(nc, settingsCommands.get, {}).catch((e) => e);
      expect(missing.code).toBe('not_found');
    } finally {
      await svc.stop();
    }
  });

  it('passes request headers from callCommand to the handler', async () => {
    const seen: Array<string | undefined> = [];
    const svc = await serveCommands(nc, { name: 'hdrtest', version: '0.0.1', logger }, [
      endpoint(healthCommand('hdrtest'), async (_req, ctx) => {
        seen.push(ctx.header('Jst-Worker-Token'), ctx.header('Absent'));
        return { service: 'hdrtest', instance: 'i', version: '0', uptimeSeconds: 0, status: 'ok' as const };
      }),
    ]);
    try {
      await callCommand(nc, healthCommand('hdrtest'), {}, { headers: { 'Jst-Worker-Token': 'secret' } });
      expect(seen).toEqual(['secret', undefined]);
    } finally {
      await svc.stop();
    }
  });

  it("gives the handler a logger bound to the request's subject and trace id", async () => {
    const lines: string[] = [];
    const captured = createLogger('logtest', {
      level: 'info',
      destination: { write: (l: string) => lines.push(l) },
    });
    const svc = await serveCommands(nc, { name: 'logtest', version: '0.0.1', logger: captured }, [
      endpoint(healthCommand('logtest'), async (_req, ctx) => {
        ctx.logger.info({ token: 'hidden' }, 'handled');
        return { service: 'logtest', instance: 'i', version: '0', uptimeSeconds: 0, status: 'ok' as const };
      }),
    ]);
    try {
      await callCommand(nc, healthCommand('logtest'), {}, { traceId: 'trace-abc' });
      const line = JSON.parse(lines.find((l) => l.includes('handled')) ?? '{}');
      expect(line).toMatchObject({
        subject: healthCommand('logtest').subject,
        traceId: 'trace-abc',
        token: '[redacted]',
      });
    } finally {
      await svc.stop();
    }
  });

  it('reports a service that is not running as unavailable', async () => {
    const err = await callCommand(nc, healthCommand('nobody'), {}, { timeoutMs: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(JoustingError);
    expect(err.code).toBe('unavailable');
  });
});

describe('events', () => {
  it('publishes CloudEvents into EVENTS, dedups by id, and replays from a sequence', async () => {
    const publisher = new EventPublisher(jetstream(nc), '/jousting/test');
    const data = { field: 'maxTurns', value: 'x', reason: 'bad', restored: 30, actor: 'external' };
    const first = await publisher.publish('settings.rejected', data, { id: 'fixed-id-1' });
    const again = await publisher.publish('settings.rejected', data, { id: 'fixed-id-1' });
    expect(again.duplicate).toBe(true);
    expect(first.event).toMatchObject({
      specversion: '1.0',
      type: 'settings.rejected',
      source: '/jousting/test',
    });

    const [a, b] = await publisher.publishAll([
      { type: 'settings.rejected', data },
      { type: 'settings.rejected', data: { ...data, field: 'model' } },
    ]);
    const reader = await readEventStream(jetstream(nc), { afterSeq: first.seq });
    const seen: number[] = [];
    for await (const item of reader.events) {
      seen.push(item.seq);
      if (item.seq === b!.seq) break;
    }
    reader.stop();
    expect(seen).toEqual([a!.seq, b!.seq]);
  });

  it('emits without waiting for an ack, stores the event once per id, and still validates data', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const publisher = new EventPublisher(js, '/jousting/test', nc);
    const data = { field: 'emitted', value: 'x', reason: 'bad', restored: 30, actor: 'external' };
    const before = (await jsm.streams.info('EVENTS')).state.last_seq;
    const time = '2026-01-02T03:04:05.000Z';
    const event = publisher.emit('settings.rejected', data, { id: 'emit-id-1', time });
    publisher.emit('settings.rejected', data, { id: 'emit-id-1', time });
    publisher.emit('settings.rejected', { ...data, field: 'other' }, { id: 'emit-id-2' });
    expect(event).toMatchObject({ id: 'emit-id-1', time, type: 'settings.rejected' });
    await nc.flush();
    const deadline = Date.now() + 2000;
    while ((await jsm.streams.info('EVENTS')).state.last_seq < before + 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await jsm.streams.info('EVENTS')).state.last_seq).toBe(before + 2);
    const stored = await jsm.streams.getMessage('EVENTS', { seq: before + 1 });
    expect(stored?.json()).toMatchObject({ id: 'emit-id-1', data: { field: 'emitted' } });
    // @ts-expect-error deliberately wrong data
    expect(() => publisher.emit('settings.rejected', { field: 1 })).toThrow(/does not match its schema/);
  });

  it('serializes an event exactly like JSON.stringify', () => {
    const publisher = new EventPublisher(jetstream(nc), '/jousting/test');
    const data = {
      field: 'q"uote\\ ünï \n',
      value: { nested: [1, null] },
      reason: 'r',
      restored: 30,
      actor: 'x',
    };
    const withSubject = publisher.build('settings.rejected', data, { subject: 'a "b"' });
    const without = publisher.build('settings.rejected', data);
    expect(serializeEvent(withSubject)).toBe(JSON.stringify(withSubject));
    expect(serializeEvent(without)).toBe(JSON.stringify(without));
  });

  it('refuses to publish data that breaks the event schema', async () => {
    const publisher = new EventPublisher(jetstream(nc), '/jousting/test');
    // @ts-expect-error deliberately wrong data
    expect(() => publisher.build('settings.rejected', { field: 1 })).toThrow(/does not match its schema/);
  });
});

describe('durable consumers', () => {
  it('redeliver an event whose handler failed and resume where they stopped after a restart', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const publisher = new EventPublisher(js, '/jousting/test');
    const data = (field: string) => ({ field, value: 1, reason: 'r', restored: 2, actor: 'external' });
    const handled: string[] = [];
    let failOnce = true;
    const consumer = await consumeDurable(js, jsm, {
      durable: 'test-durable',
      filter: 'settings.rejected',
      logger,
      retryDelayMs: 50,
      handler: async (event) => {
        const field = (event.data as { field: string }).field;
        if (field === 'b' && failOnce) {
          failOnce = false;
          throw new Error('transient');
        }
        handled.push(field);
      },
    });
    await publisher.publish('settings.rejected', data('a'));
    await publisher.publish('settings.rejected', data('b'));
    const deadline = Date.now() + 5000;
    while (!(handled.includes('a') && handled.includes('b')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(handled.filter((f) => f === 'b')).toHaveLength(1);
    await consumer.stop();

    await publisher.publish('settings.rejected', data('c'));
    const resumed: string[] = [];
    const again = await consumeDurable(js, jsm, {
      durable: 'test-durable',
      filter: 'settings.rejected',
      logger,
      handler: async (event) => {
        resumed.push((event.data as { field: string }).field);
      },
    });
    while (!resumed.includes('c') && Date.now() < deadline + 5000)
      await new Promise((r) => setTimeout(r, 20));
    await again.stop();
    expect(resumed).toEqual(['c']);
  });
});

describe('KV compare-and-set', () => {
  it('applies concurrent increments without losing one', async () => {
    const kv = await openKv(jetstream(nc), 'test-counter');
    await Promise.all(
      Array.from({ length: 10 }, () => casUpdate<number>(kv, 'n', (n) => (n ?? 0) + 1, { attempts: 50 })),
    );
    expect(decodeJson(await kv.get('n'))).toBe(10);
  });
});

describe('service runtime', () => {
  it('refuses a bad environment naming the variable', async () => {
    const def = {
      name: 'cfgtest',
      version: '1',
      description: 'x',
      config: z.object({ PORT: z.coerce.number().int().min(1) }),
      start: async () => ({ endpoints: [] }),
    };
    await expect(startService(def, { env: { NATS_URL: nats.url, PORT: 'abc' }, logger })).rejects.toThrow(
      /PORT/,
    );
  });

  it('answers health and stops cleanly', async () => {
    const def = {
      name: 'healthtest',
      version: '1.2.3',
      description: 'x',
      config: z.object({}),
      start: async () => ({ endpoints: [] }),
    };
    const running = await startService(def, { env: { NATS_URL: nats.url }, logger });
    const health = await callCommand(nc, healthCommand('healthtest'), {});
    expect(health).toMatchObject({ service: 'healthtest', version: '1.2.3', status: 'ok' });
    await running.stop();
    await expect(callCommand(nc, healthCommand('healthtest'), {}, { timeoutMs: 500 })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });
});
