import type { CloudEvent, DEFAULT_SETTINGS } from '@jousting/contracts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';
import { FeedClient } from './ws-client.js';

let stack: Stack;
let nc: NatsConnection;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.baseUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
const patchSettings = (body: unknown) =>
  api('/api/settings', { method: 'PATCH', body: JSON.stringify(body) });
const currentSettings = async () =>
  ((await (await api('/api/settings')).json()) as { settings: typeof DEFAULT_SETTINGS }).settings;

function natsEvents(subject: string) {
  const seen: CloudEvent[] = [];
  const sub = nc.subscribe(subject, { callback: (_err, msg) => void seen.push(msg.json<CloudEvent>()) });
  return { seen, stop: () => sub.unsubscribe() };
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  stack = await startStack();
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('settings through the whole stack', () => {
  it('a PATCH reaches a NATS subscriber and a WebSocket client as the same CloudEvent', async () => {
    const onNats = natsEvents('settings.changed');
    await nc.flush();
    const ws = await FeedClient.connect(stack.baseUrl, stack.adminToken);
    await ws.subscribe(['settings.>']);

    const res = await patchSettings({ maxTurns: 41, model: 'opus' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      changes: { maxTurns: { from: 30, to: 41 }, model: { from: 'sonnet', to: 'opus' } },
    });

    await until(() => onNats.seen.length === 1 && ws.events().length === 1, 'both deliveries');
    const [viaNats] = onNats.seen;
    const [viaWs] = ws.events();
    expect(viaNats).toMatchObject({
      specversion: '1.0',
      type: 'settings.changed',
      data: { actor: 'token:admin', changes: { maxTurns: { from: 30, to: 41 } } },
    });
    expect(viaWs?.event).toEqual(viaNats);
    expect(viaWs?.seq).toBeGreaterThan(0);
    onNats.stop();
    await ws.close();
  });

  it('an invalid PATCH gets 400 naming the field and changes nothing', async () => {
    const before = await currentSettings();
    const onNats = natsEvents('settings.>');
    await nc.flush();
    const res = await patchSettings({ maxTurns: 10, coordGlobalBudgetUsd: 5000 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { fields: { field: string }[] } };
    };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toContain('coordGlobalBudgetUsd');
    expect(body.error.details.fields.map((f) => f.field).join(' ')).toContain('coordGlobalBudgetUsd');

    const unknown = await patchSettings({ maxTurnz: 3 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('maxTurnz');

    expect(await currentSettings()).toEqual(before);
    await nc.flush();
    expect(onNats.seen).toHaveLength(0);
    onNats.stop();
  });

  it('an external KV edit is announced, and an invalid one is reverted and announced', async () => {
    const kv = await new Kvm(jetstream(nc)).open('settings');
    const ws = await FeedClient.connect(stack.baseUrl, stack.adminToken);
    await ws.subscribe(['settings.*']);

    await kv.put('maxContinuations', '7');
    const changed = await ws.waitFor((m) => m.type === 'event' && m.event.type === 'settings.changed');
    expect(changed.type === 'event' && changed.event.data).toMatchObject({
      actor: 'external',
      changes: { maxContinuations: { to: 7 } },
    });
    expect((await currentSettings()).maxContinuations).toBe(7);

    await kv.put('maxContinuations', '"many"');
    const rejected = await ws.waitFor((m) => m.type === 'event' && m.event.type === 'settings.rejected');
    expect(rejected.type === 'event' && rejected.event.data).toMatchObject({
      field: 'maxContinuations',
      value: 'many',
      restored: 7,
    });
    const entry = await kv.get('maxContinuations');
    expect(entry?.string()).toBe('7');
    expect((await currentSettings()).maxContinuations).toBe(7);
    await ws.close();
  });

  it('a WebSocket client that reconnects with replay misses nothing', async () => {
    const first = await FeedClient.connect(stack.baseUrl, stack.adminToken);
    await first.subscribe(['settings.changed']);
    await patchSettings({ maxBudgetUsd: 1 });
    const seen = await first.waitFor((m) => m.type === 'event');
    const lastSeq = seen.type === 'event' ? seen.seq : 0;
    await first.close();

    // Changes made while the client is away.
    for (const value of [2, 3, 4]) expect((await patchSettings({ maxBudgetUsd: value })).status).toBe(200);

    const again = await FeedClient.connect(stack.baseUrl, stack.adminToken);
    await again.subscribe(['settings.changed']);
    again.send({ type: 'replay', afterSeq: lastSeq });
    await again.waitFor((m) => m.type === 'replay-done');
    await patchSettings({ maxBudgetUsd: 5 });
    await until(() => again.events().length === 4, 'three replayed and one live event');
    const budgets = again
      .events()
      .map((e) => (e.event.data as { settings: { maxBudgetUsd: number } }).settings.maxBudgetUsd);
    expect(budgets).toEqual([2, 3, 4, 5]);
    const seqs = again.events().map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    await again.close();
  });

  it('readiness reports every service', async () => {
    const res = await fetch(`${stack.baseUrl}/api/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ready: true,
      nats: { connected: true },
      services: { settings: { ok: true } },
    });
  });
});
