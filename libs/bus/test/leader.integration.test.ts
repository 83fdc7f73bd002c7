import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type KV, LeaderLease, openKv } from '../src/index.js';

const logger = createLogger('leader-test', { level: 'silent' });
let nats: NatsHandle;
let nc: NatsConnection;
let bucket = 0;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const freshKv = () => openKv(jetstream(nc), `leader-test-${++bucket}`);
const lease = (kv: KV, holder: string, leaseMs: number, lost: string[] = [], signal?: AbortSignal) =>
  LeaderLease.acquire({ kv, holder, leaseMs, logger, onLost: (reason) => lost.push(reason) }, signal);
const holderOf = async (kv: KV) => (await kv.get('leader'))?.json<{ holder?: string }>()?.holder;

describe('leader lease', () => {
  it('one instance holds it, keeps it by renewing, and a standby takes over at once when it is released', async () => {
    const kv = await freshKv();
    const first = await lease(kv, 'a', 600);
    let secondHeld = false;
    const second = lease(kv, 'b', 600).then((l) => {
      secondHeld = true;
      return l;
    });
    // Three leases long: renewals keep the standby out.
    await new Promise((r) => setTimeout(r, 1800));
    expect(secondHeld).toBe(false);
    expect(first.held).toBe(true);
    expect(await holderOf(kv)).toBe('a');
    // The holder lists the standby from its key, refreshed at every renewal.
    expect(first.replicas).toMatchObject({ leader: 'a', standbys: [{ instance: 'b' }] });
    const releasedAt = Date.now();
    await first.release();
    const taken = await second;
    expect(Date.now() - releasedAt).toBeLessThan(600);
    expect(await holderOf(kv)).toBe('b');
    // No longer a standby: its standby key is gone.
    expect((await kv.get('standby.b'))?.operation ?? 'gone').not.toBe('PUT');
    await taken.release();
  });

  it('a standby takes over a lease that stopped being renewed (a holder killed), not before it runs out', async () => {
    const kv = await freshKv();
    // What a killed holder leaves behind: its last renewal, never renewed again.
    await kv.put('leader', JSON.stringify({ holder: 'dead', since: new Date().toISOString() }));
    const started = Date.now();
    const taken = await lease(kv, 'b', 700);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(500);
    expect(waited).toBeLessThan(3000);
    expect(await holderOf(kv)).toBe('b');
    await taken.release();
  });

  it('tells the holder when another instance took the lease, and then stops renewing', async () => {
    const kv = await freshKv();
    const lost: string[] = [];
    const held = await lease(kv, 'a', 300, lost);
    await kv.put('leader', JSON.stringify({ holder: 'intruder', since: new Date().toISOString() }));
    const deadline = Date.now() + 3000;
    while (lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lost).toEqual(['another instance took the leader lease']);
    expect(held.held).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(await holderOf(kv)).toBe('intruder');
  });

  it('lists a standby that stopped refreshing its key for three leases no more, and removes the key', async () => {
    const kv = await freshKv();
    const held = await lease(kv, 'a', 200);
    await kv.put('standby.ghost', JSON.stringify({ holder: 'ghost', since: new Date().toISOString() }));
    const deadline = Date.now() + 3000;
    while (held.replicas.standbys.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(held.replicas.standbys.map((s) => s.instance)).toEqual(['ghost']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(held.replicas.standbys).toEqual([]);
    expect((await kv.get('standby.ghost'))?.operation ?? 'gone').not.toBe('PUT');
    await held.release();
  });

  it('stops standing by when aborted', async () => {
    const kv = await freshKv();
    const first = await lease(kv, 'a', 2000);
    const controller = new AbortController();
    const waiting = lease(kv, 'b', 2000, [], controller.signal);
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    await first.release();
  });

  it.skipIf(process.env.NATS_URL)(
    'keeps the lease across a NATS outage longer than a lease when no standby took it',
    async () => {
      const own = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      try {
        const kv = await openKv(jetstream(own), `leader-test-${++bucket}`);
        const lost: string[] = [];
        const held = await lease(kv, 'a', 200, lost);
        await nats.restart();
        await new Promise((r) => setTimeout(r, 1500));
        expect(lost).toEqual([]);
        expect(held.held).toBe(true);
        expect(await holderOf(kv)).toBe('a');
        await held.release();
      } finally {
        await own.close();
      }
    },
    15_000,
  );
});
