import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  callCommand,
  createLogger,
  decodeJson,
  openKv,
  type RunningService,
  startService,
} from '@jousting/bus';
import {
  AuditEntry,
  type CloudEvent,
  DEFAULT_SETTINGS,
  JoustingError,
  settingsCommands,
} from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { settingsService } from '../src/service.js';

const logger = createLogger('settings-test', { level: 'silent' });
let nats: NatsHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let service: RunningService;
let kv: KV;
let events: CloudEvent[];
let eventSub: Subscription;
let audit: AuditEntry[];
let auditSub: Subscription;

// The vault's key file goes to a temporary data dir, never into the repository.
const dataDir = mkdtempSync(join(tmpdir(), 'settings-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const start = () =>
  startService(settingsService, { env: { NATS_URL: nats.url, JOUSTING_DATA_DIR: dataDir }, logger });

/** Waits until `predicate` holds, checking as events arrive. */
async function until(predicate: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const get = async () => (await callCommand(nc, settingsCommands.get, {})).settings;
const patch = (changes: Record<string, unknown>, actor = 'token:test') =>
  callCommand(nc, settingsCommands.patch, { changes, actor } as never);

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

beforeEach(async () => {
  service = await start();
  kv = await openKv(js, 'settings', { history: 10 });
  await callCommand(nc, settingsCommands.reset, { actor: 'test-setup' });
  events = [];
  audit = [];
  eventSub = nc.subscribe('settings.>', { callback: (_e, m) => void events.push(m.json<CloudEvent>()) });
  auditSub = nc.subscribe('audit.settings.>', {
    callback: (_e, m) => void audit.push(AuditEntry.parse(m.json())),
  });
  await nc.flush();
});
afterEach(async () => {
  eventSub.unsubscribe();
  auditSub.unsubscribe();
  await service.stop();
});

describe('settings commands', () => {
  it('keeps one key per setting in the bucket, seeded with the defaults', async () => {
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      expect(decodeJson(await kv.get(key))).toEqual(value);
    }
  });

  it('patch changes several fields, stores them, and announces one settings.changed with the actor', async () => {
    const result = await patch({ maxTurns: 40, model: 'opus' }, 'token:alice');
    expect(result.changes).toEqual({ maxTurns: { from: 30, to: 40 }, model: { from: 'sonnet', to: 'opus' } });
    expect(decodeJson(await kv.get('maxTurns'))).toBe(40);
    expect(decodeJson(await kv.get('model'))).toBe('opus');
    await until(() => events.length === 1 && audit.length === 1, 'the event and audit entry');
    expect(events[0]).toMatchObject({
      specversion: '1.0',
      type: 'settings.changed',
      source: '/jousting/settings',
      data: { changes: result.changes, actor: 'token:alice', settings: { maxTurns: 40, model: 'opus' } },
    });
    expect(audit[0]).toMatchObject({
      actor: 'token:alice',
      action: 'changed',
      after: { maxTurns: 40, model: 'opus' },
    });
  });

  it('a patch that changes nothing publishes nothing', async () => {
    const result = await patch({ maxTurns: 30 });
    expect(result.changes).toEqual({});
    await patch({ maxTurns: 31 });
    await until(() => events.length === 1, 'the one real change');
    expect(events[0]?.data).toMatchObject({ changes: { maxTurns: { from: 30, to: 31 } } });
  });

  it('refuses an out-of-range value naming the field, and writes none of the patch', async () => {
    const err = await patch({ maxTurns: 50, coordMaxRequestsPerMinute: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoustingError);
    expect((err as JoustingError).code).toBe('validation_failed');
    expect((err as JoustingError).details?.fields?.map((f) => f.field)).toEqual([
      'changes.coordMaxRequestsPerMinute',
    ]);
    expect(decodeJson(await kv.get('maxTurns'))).toBe(30);
    expect((await get()).maxTurns).toBe(30);
  });

  it('refuses an unknown field naming it', async () => {
    const err = (await patch({ maxTurnz: 5 }).catch((e: unknown) => e)) as JoustingError;
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('maxTurnz');
  });

  it('reset puts the named fields back to their defaults', async () => {
    await patch({ maxTurns: 99, autoPush: true, model: 'haiku' });
    const result = await callCommand(nc, settingsCommands.reset, {
      keys: ['maxTurns', 'autoPush'],
      actor: 'token:bob',
    });
    expect(result.changes).toEqual({ maxTurns: { from: 99, to: 30 }, autoPush: { from: true, to: false } });
    expect(result.settings.model).toBe('haiku');
  });

  it('serializes concurrent patches so each change is announced once, in order', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => patch({ maxTurns: 100 + i })));
    await until(() => events.length === 20, '20 events');
    const tos = events.map((e) => (e.data as { changes: { maxTurns: { to: number } } }).changes.maxTurns.to);
    expect(new Set(tos).size).toBe(20);
    expect((await get()).maxTurns).toBe(tos[19]);
  });
});

describe('writes made straight into the bucket', () => {
  it('a valid external value is taken and announced with actor external', async () => {
    await kv.put('maxTurns', '77');
    await until(() => events.length === 1, 'the external change');
    expect(events[0]).toMatchObject({
      type: 'settings.changed',
      data: { changes: { maxTurns: { from: 30, to: 77 } }, actor: 'external' },
    });
    expect((await get()).maxTurns).toBe(77);
  });

  it('an invalid external value is refused, the last valid value restored, and settings.rejected published', async () => {
    await patch({ maxTurns: 45 });
    await kv.put('maxTurns', '5000');
    await until(() => events.some((e) => e.type === 'settings.rejected'), 'the rejection');
    const rejected = events.find((e) => e.type === 'settings.rejected');
    expect(rejected?.data).toMatchObject({ field: 'maxTurns', value: 5000, restored: 45, actor: 'external' });
    expect(rejected?.data).toHaveProperty('reason', expect.stringMatching(/200/));
    expect(decodeJson(await kv.get('maxTurns'))).toBe(45);
    expect((await get()).maxTurns).toBe(45);
    expect(events.filter((e) => e.type === 'settings.changed')).toHaveLength(1);
  });

  it('text that is not JSON is refused and restored', async () => {
    await kv.put('model', 'opus');
    await until(() => events.some((e) => e.type === 'settings.rejected'), 'the rejection');
    expect(events[0]?.data).toMatchObject({
      field: 'model',
      value: 'opus',
      reason: 'not valid JSON',
      restored: 'sonnet',
    });
    expect(decodeJson(await kv.get('model'))).toBe('sonnet');
  });

  it('a deleted key goes back to its default and is written back', async () => {
    await patch({ maxTurns: 12 });
    await kv.delete('maxTurns');
    await until(() => events.length === 2, 'the reset announcement');
    expect(events[1]?.data).toMatchObject({ changes: { maxTurns: { from: 12, to: 30 } }, actor: 'external' });
    expect(decodeJson(await kv.get('maxTurns'))).toBe(30);
  });
});

describe('restarts', () => {
  it('keeps every value across a restart', async () => {
    await patch({ maxTurns: 66, autoPush: true });
    await service.stop();
    service = await start();
    expect(await get()).toMatchObject({ maxTurns: 66, autoPush: true });
  });

  it('repairs an invalid value written while it was down from the key history', async () => {
    await patch({ maxTurns: 88 });
    await service.stop();
    await kv.put('maxTurns', '"lots"');
    service = await start();
    expect((await get()).maxTurns).toBe(88);
    expect(decodeJson(await kv.get('maxTurns'))).toBe(88);
    await until(() => events.some((e) => e.type === 'settings.rejected'), 'the rejection at start');
  });
});
