import { openKv } from '@jousting/bus';
import { type NatsHandle, startNats } from '@jousting/testing';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvBatcher } from '../src/kv-batcher.js';

let nats: NatsHandle;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Messages the bucket's stream holds: every put and delete marker that reached the server. */
async function storedMessages(bucket: string) {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(`KV_${bucket}`)).state.messages;
}

describe('KvBatcher', () => {
  it('stores the last of several writes to a key made within the window, once', async () => {
    const kv = await openKv(js, 'batch-a');
    const batcher = new KvBatcher(kv, 20);
    await Promise.all([batcher.put('k', { v: 1 }), batcher.put('k', { v: 2 }), batcher.put('other', 1)]);
    expect((await kv.get('k'))?.json()).toEqual({ v: 2 });
    expect(await storedMessages('batch-a')).toBe(2);
  });

  it('moves a record that was never written without writing or deleting the old key', async () => {
    const kv = await openKv(js, 'batch-b');
    const batcher = new KvBatcher(kv, 20);
    const pending = batcher.put('hook.p.d1', { status: 'pending' });
    const moved = batcher.move('hook.p.d1', 'hook.s.0', { status: 'delivered' });
    let pendingSettled = false;
    void pending.then(() => {
      pendingSettled = true;
    });
    await moved;
    await pending;
    expect(pendingSettled).toBe(true);
    expect(await kv.get('hook.p.d1')).toBeNull();
    expect((await kv.get('hook.s.0'))?.json()).toEqual({ status: 'delivered' });
    expect(await storedMessages('batch-b')).toBe(1);
  });

  it('deletes the old key when it was already stored, in order with the new one', async () => {
    const kv = await openKv(js, 'batch-c');
    const batcher = new KvBatcher(kv, 1);
    await batcher.put('hook.p.d2', { status: 'pending' });
    await batcher.move('hook.p.d2', 'hook.s.1', { status: 'failed' });
    expect((await kv.get('hook.p.d2'))?.operation).toBe('DEL');
    expect((await kv.get('hook.s.1'))?.json()).toEqual({ status: 'failed' });
    // A delete of a key that never reached the server writes nothing.
    await batcher.delete('never-written');
    await batcher.flush();
    // History 1: the delete marker replaced the pending record; nothing else was written.
    expect(await storedMessages('batch-c')).toBe(2);
  });

  it('rejects the callers of a write the server refused', async () => {
    const kv = await openKv(js, 'batch-d');
    const batcher = new KvBatcher(kv, 1);
    await expect(batcher.put('bad key with spaces', 1)).rejects.toThrow();
    await expect(batcher.put('good', 1)).resolves.toBeUndefined();
  });
});
