import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, createLogger, openKv, type RunningService, startService } from '@jousting/bus';
import { AuditEntry, type CloudEvent, JoustingError, SecretMeta, secretCommands } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { settingsService } from '../src/service.js';
import { SECRETS_BUCKET } from '../src/vault.js';

// The vault inside the real settings service against a real nats-server. Every log line the
// service writes (at trace level), every event and audit entry and the raw bucket are captured,
// and the test values must appear in none of them.

let nats: NatsHandle;
let nc: NatsConnection;
let kv: KV;
let dataDir: string;
let service: RunningService | undefined;
let logLines: string[];
let events: CloudEvent[];
let audit: AuditEntry[];
let subs: Subscription[];

/** Values the tests store: each must never show up anywhere but in a reveal reply. */
const VALUES = {
  first: `first-${randomBytes(8).toString('hex')}`,
  second: `second-${randomBytes(8).toString('hex')}`,
  other: `other-${randomBytes(8).toString('hex')}`,
  bad: `too-long-${randomBytes(8).toString('hex')}`,
};

const capture = { write: (line: string) => void logLines.push(line) };

async function start(env: Record<string, string> = {}): Promise<RunningService> {
  const logger = createLogger('settings', { level: 'trace', destination: capture });
  service = await startService(settingsService, {
    env: { NATS_URL: nats.url, JOUSTING_DATA_DIR: dataDir, LOG_LEVEL: 'trace', ...env },
    logger,
  });
  return service;
}

async function stop(): Promise<void> {
  await service?.stop();
  service = undefined;
}

const put = (name: string, value: string, extra: { description?: string; actor?: string } = {}) =>
  callCommand(nc, secretCommands.put, { name, value, actor: extra.actor ?? 'token:alice', ...extra });
const reveal = (name: string, actor = 'token:admin') =>
  callCommand(nc, secretCommands.reveal, { name, actor });
const remove = (name: string, actor = 'token:admin') =>
  callCommand(nc, secretCommands.delete, { name, actor });
const list = async () => (await callCommand(nc, secretCommands.list, {})).items;
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => err as JoustingError,
  );

async function until(check: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  kv = await openKv(jetstream(nc), SECRETS_BUCKET);
  logLines = [];
  events = [];
  audit = [];
  subs = [
    nc.subscribe('settings.>', { callback: (_e, m) => void events.push(m.json<CloudEvent>()) }),
    nc.subscribe('audit.settings.>', {
      callback: (_e, m) => void audit.push(AuditEntry.parse(m.json())),
    }),
  ];
  await nc.flush();
});

afterAll(async () => {
  // Nothing this file did may have put a value where it does not belong.
  const rawBucket: string[] = [];
  for await (const name of await kv.keys()) {
    const entry = await kv.get(name);
    if (entry) rawBucket.push(new TextDecoder().decode(entry.value));
  }
  await stop();
  for (const sub of subs ?? []) sub.unsubscribe();
  await nc?.close();
  await nats?.stop();
  const everything = {
    logs: logLines.join(''),
    events: JSON.stringify(events),
    audit: JSON.stringify(audit),
    bucket: rawBucket.join('\n'),
  };
  for (const [where, text] of Object.entries(everything)) {
    for (const value of Object.values(VALUES))
      expect(text, `${where} holds a secret value`).not.toContain(value);
  }
  expect(logLines.length).toBeGreaterThan(10);
  expect(events.length).toBeGreaterThan(3);
  expect(audit.length).toBeGreaterThan(3);
});

describe('the four commands over NATS', () => {
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jousting-vault-it-'));
    await start();
  });
  afterEach(stop);

  it('put stores a new secret (version 1) and answers with metadata only', async () => {
    const meta = await put('GITHUB_TOKEN', VALUES.first, { description: 'CI pushes' });
    expect(SecretMeta.strict().parse(meta)).toMatchObject({
      name: 'GITHUB_TOKEN',
      description: 'CI pushes',
      version: 1,
      createdBy: 'token:alice',
      updatedBy: 'token:alice',
    });
    expect(meta.createdAt).toBe(meta.updatedAt);
    expect(JSON.stringify(meta)).not.toContain(VALUES.first);
    // At rest the bucket holds ciphertext, the key id and the metadata.
    const stored = JSON.parse(new TextDecoder().decode((await kv.get('GITHUB_TOKEN'))!.value));
    expect(stored).toMatchObject({ name: 'GITHUB_TOKEN', version: 1, sealed: { alg: 'aes-256-gcm' } });
    expect(stored.sealed.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a second put bumps the version, keeps the creator and description, and reveal gives the new value', async () => {
    const first = await put('DEPLOY_KEY', VALUES.first, { description: 'deploys' });
    const second = await put('DEPLOY_KEY', VALUES.second, { actor: 'token:bob' });
    expect(second).toMatchObject({
      version: 2,
      description: 'deploys',
      createdBy: 'token:alice',
      updatedBy: 'token:bob',
      createdAt: first.createdAt,
    });
    expect(await reveal('DEPLOY_KEY')).toEqual({ name: 'DEPLOY_KEY', value: VALUES.second, version: 2 });
    // An empty description clears it.
    expect((await put('DEPLOY_KEY', VALUES.second, { description: '' })).description).toBeUndefined();
  });

  it('concurrent puts to one name each get their own version (compare-and-set)', async () => {
    const metas = await Promise.all([1, 2, 3, 4, 5].map((n) => put('RACED', `${VALUES.other}-${n}`)));
    expect(metas.map((m) => m.version).sort()).toEqual([1, 2, 3, 4, 5]);
    const last = metas.find((m) => m.version === 5)!;
    expect(last.updatedAt >= metas[0]!.createdAt).toBe(true);
    expect((await reveal('RACED')).version).toBe(5);
  });

  it('list shows names and metadata sorted by name, never values', async () => {
    await put('ZETA', VALUES.first);
    await put('ALPHA', VALUES.other, { description: 'first letter' });
    const items = await list();
    expect(items.map((i) => i.name)).toEqual(expect.arrayContaining(['ALPHA', 'ZETA']));
    const names = items.map((i) => i.name);
    expect(names).toEqual([...names].sort());
    for (const item of items) expect(Object.keys(item).sort()).not.toContain('value');
    expect(JSON.stringify(items)).not.toContain(VALUES.first);
  });

  it('publishes settings.secret-put and settings.secret-deleted with names only, and audits put, reveal and delete', async () => {
    const before = { events: events.length, audit: audit.length };
    await put('AUDITED', VALUES.first, { actor: 'token:carol' });
    await reveal('AUDITED', 'token:dave');
    await remove('AUDITED', 'token:erin');
    await until(
      () => events.length >= before.events + 2 && audit.length >= before.audit + 3,
      'events and audit',
    );
    const mine = events.slice(before.events).filter((e) => e.subject === 'AUDITED');
    expect(mine.map((e) => [e.type, e.data])).toEqual([
      ['settings.secret-put', { name: 'AUDITED', version: 1, actor: 'token:carol' }],
      ['settings.secret-deleted', { name: 'AUDITED', actor: 'token:erin' }],
    ]);
    const entries = audit.slice(before.audit).filter((a) => a.target === 'secret:AUDITED');
    expect(entries.map((a) => [a.action, a.actor])).toEqual([
      ['secret-put', 'token:carol'],
      ['secret-revealed', 'token:dave'],
      ['secret-deleted', 'token:erin'],
    ]);
    expect(entries[1]).toMatchObject({ domain: 'settings', after: { version: 1 } });
  });

  it('delete removes the secret and purges its ciphertext; a second delete is not_found', async () => {
    await put('TEMP', VALUES.first);
    expect(await remove('TEMP')).toEqual({ name: 'TEMP', deleted: true });
    expect((await list()).map((i) => i.name)).not.toContain('TEMP');
    const entry = await kv.get('TEMP');
    expect(entry?.operation).not.toBe('PUT');
    const again = await refusal(remove('TEMP'));
    expect(again.code).toBe('not_found');
    expect(again.message).toBe('secret TEMP not found');
    // A new put after a delete starts again at version 1.
    expect((await put('TEMP', VALUES.other)).version).toBe(1);
  });

  it('an unknown name is not_found naming it, for reveal and delete', async () => {
    for (const attempt of [reveal('NO_SUCH_SECRET'), remove('NO_SUCH_SECRET')]) {
      const err = await refusal(attempt);
      expect(err).toBeInstanceOf(JoustingError);
      expect(err.code).toBe('not_found');
      expect(err.message).toContain('NO_SUCH_SECRET');
    }
  });

  it('refuses a bad name, an empty or too long value and unknown fields by field name, storing nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'has-dash', value: VALUES.first, actor: 'a' }, 'name'],
      [{ name: 'A'.repeat(65), value: VALUES.first, actor: 'a' }, 'name'],
      [{ name: 'OK', value: '', actor: 'a' }, 'value'],
      [{ name: 'OK', value: VALUES.bad.padEnd(65_537, 'x'), actor: 'a' }, 'value'],
      [{ name: 'OK', value: VALUES.first, actor: 'a', colour: 'red' }, 'colour'],
      [{ name: 'OK', value: VALUES.first }, 'actor'],
    ];
    for (const [request, field] of cases) {
      const err = await refusal(callCommand(nc, secretCommands.put, request as never));
      expect(err.code, field).toBe('validation_failed');
      expect(
        err.details?.fields?.map((f) => f.field),
        field,
      ).toContain(field);
      expect(JSON.stringify(err.toBody())).not.toContain(VALUES.first);
      expect(JSON.stringify(err.toBody())).not.toContain(VALUES.bad);
    }
    const badReveal = await refusal(callCommand(nc, secretCommands.reveal, { name: 'a.b', actor: 'x' }));
    expect(badReveal.details?.fields?.map((f) => f.field)).toEqual(['name']);
    expect(await kv.get('OK')).toBeNull();
  });

  it('a value that does not decrypt is a clear error naming the secret, and the service keeps serving', async () => {
    await put('TAMPERED', VALUES.first);
    const entry = (await kv.get('TAMPERED'))!;
    const stored = JSON.parse(new TextDecoder().decode(entry.value));
    const bytes = Buffer.from(stored.sealed.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    stored.sealed.ciphertext = bytes.toString('base64');
    await kv.put('TAMPERED', JSON.stringify(stored));
    const err = await refusal(reveal('TAMPERED'));
    expect(err.code).toBe('internal');
    expect(err.message).toMatch(
      /^secret TAMPERED cannot be decrypted: its stored ciphertext failed authentication/,
    );
    expect(err.details).toMatchObject({ name: 'TAMPERED', failure: 'tampered' });
    // Still up: other secrets reveal, and the tampered one is listed and can be replaced.
    await put('FINE', VALUES.other);
    expect((await reveal('FINE')).value).toBe(VALUES.other);
    expect((await list()).map((i) => i.name)).toContain('TAMPERED');
    expect((await put('TAMPERED', VALUES.second)).version).toBe(2);
    expect((await reveal('TAMPERED')).value).toBe(VALUES.second);
  });
});

describe('the master key across restarts', () => {
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jousting-vault-restart-'));
    for await (const name of await kv.keys()) await kv.purge(name);
  });
  afterEach(stop);

  it('creates master.key (0600) on first start and reuses it after a restart', async () => {
    await start();
    const file = join(dataDir, 'master.key');
    const keyBytes = readFileSync(file);
    expect(keyBytes).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await put('SURVIVOR', VALUES.first);
    await stop();

    await start();
    expect(readFileSync(file).equals(keyBytes)).toBe(true);
    expect(await reveal('SURVIVOR')).toEqual({ name: 'SURVIVOR', value: VALUES.first, version: 1 });
  });

  it('JOUSTING_MASTER_KEY wins over the file; a different key gives a clear wrong-key error, not a crash', async () => {
    const keyA = randomBytes(32);
    await start({ JOUSTING_MASTER_KEY: keyA.toString('base64') });
    await put('KEYED', VALUES.first);
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow(/ENOENT/);
    await stop();

    const linesBefore = logLines.length;
    await start({ JOUSTING_MASTER_KEY: randomBytes(32).toString('hex') });
    // The start says that stored secrets were sealed by another key.
    expect(logLines.slice(linesBefore).join('')).toMatch(
      /1 of 1 secrets were sealed with another master key/,
    );
    const err = await refusal(reveal('KEYED'));
    expect(err.code).toBe('internal');
    expect(err.message).toMatch(
      /^secret KEYED cannot be decrypted: it was sealed with master key [0-9a-f]{16} but the current key is [0-9a-f]{16}/,
    );
    expect(err.details).toMatchObject({ failure: 'wrong_key' });
    expect((await list()).map((i) => i.name)).toEqual(['KEYED']);
    await stop();

    await start({ JOUSTING_MASTER_KEY: keyA.toString('hex') });
    expect((await reveal('KEYED')).value).toBe(VALUES.first);
  });

  it('refuses to start with a key file of the wrong length, or a malformed JOUSTING_MASTER_KEY', async () => {
    writeFileSync(join(dataDir, 'master.key'), 'short');
    await expect(start()).rejects.toThrow(/master\.key holds 5 bytes, not 32: refusing to start/);
    service = undefined;
    await expect(start({ JOUSTING_MASTER_KEY: 'abc123' })).rejects.toThrow(
      /invalid environment: JOUSTING_MASTER_KEY must be 32 bytes/,
    );
    service = undefined;
  });
});
