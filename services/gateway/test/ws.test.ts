import { CloudEvent, DEFAULT_SETTINGS, STREAMS, WsServerMessage } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/auth.js';
import {
  client,
  createToken,
  eventPublisher,
  FeedClient,
  type GatewayUnderTest,
  rejectedData,
  startGateway,
} from './harness.js';

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let viewerToken: string;
let publisher: ReturnType<typeof eventPublisher>;
const open: FeedClient[] = [];

async function feed(opts: Parameters<typeof FeedClient.connect>[1] = {}, url = gw.wsUrl) {
  const connected = await FeedClient.connect(url, { token: viewerToken, ...opts });
  open.push(connected);
  return connected;
}

const publishRejected = async (field: string, padding = 0) =>
  (await publisher.publish('settings.rejected', rejectedData(field, padding))).seq;
const publishChanged = async () =>
  (
    await publisher.publish('settings.changed', {
      changes: { maxTurns: { from: 30, to: 31 } },
      settings: { ...DEFAULT_SETTINGS, maxTurns: 31 },
      actor: 'token:test',
    })
  ).seq;

/**
 * Resolves once the gateway has fanned out everything published so far: the hub reads the stream
 * asynchronously, so a client connecting right after a publish may otherwise still get it live.
 */
async function hubCaughtUp(url = gw.wsUrl): Promise<number> {
  const probe = await feed({}, url);
  await probe.subscribe(['>']);
  const marker = await publishRejected('hub-marker');
  await probe.waitForEventSeq(marker);
  probe.close();
  return marker;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  viewerToken = await createToken(gw, 'ws-viewer', 'viewer');
  publisher = eventPublisher(nc);
});
afterAll(async () => {
  for (const c of open) c.socket.terminate();
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});

describe('WebSocket feed', () => {
  it('refuses a connection without a valid token', async () => {
    await expect(FeedClient.connect(gw.wsUrl)).rejects.toMatchObject({ status: 401 });
    await expect(FeedClient.connect(gw.wsUrl, { token: `jst_${'f'.repeat(64)}` })).rejects.toMatchObject({
      status: 401,
    });
  });

  it('says hello with the last stream sequence, then delivers subscribed events', async () => {
    const last = await hubCaughtUp();
    const ws = await feed();
    expect(ws.hello).toEqual({ type: 'hello', seq: last, patterns: [] });

    await ws.subscribe(['settings.>']);
    const seq = await publishRejected('maxTurns');
    const message = await ws.waitForEventSeq(seq);
    const parsed = WsServerMessage.parse(message);
    expect(parsed).toMatchObject({
      type: 'event',
      seq,
      event: { type: 'settings.rejected', data: { field: 'maxTurns' } },
    });
    expect(CloudEvent.safeParse((parsed as { event: unknown }).event).success).toBe(true);
    expect(ws.events().map((e) => e.seq)).toEqual([seq]);
  });

  it('filters by pattern and answers subscribe/unsubscribe with the current patterns', async () => {
    const ws = await feed();
    await ws.subscribe(['settings.changed', 'coord.*']);
    expect(ws.messages.at(-1)).toEqual({ type: 'subscribed', patterns: ['settings.changed', 'coord.*'] });

    await publishRejected('filtered-out');
    const changed = await publishChanged();
    await ws.waitForEventSeq(changed);
    // Events arrive in stream order, so a delivered rejected event would have come first.
    expect(ws.events().map((e) => e.event.type)).toEqual(['settings.changed']);

    ws.send({ type: 'unsubscribe', patterns: ['settings.changed'] });
    await ws.waitFor((m) => m.type === 'subscribed' && m.patterns.length === 1);
    const marker = await publishRejected('marker');
    await hubCaughtUp();
    ws.send({ type: 'subscribe', patterns: ['settings.rejected'] });
    await ws.waitFor((m) => m.type === 'subscribed' && m.patterns.includes('settings.rejected'));
    await publishChanged();
    const last = await publishRejected('last');
    await ws.waitForEventSeq(last);
    expect(ws.events().map((e) => e.seq)).not.toContain(marker);
    expect(ws.events().map((e) => e.event.type)).toEqual(['settings.changed', 'settings.rejected']);
  });

  it('replays what was published while disconnected after a reconnect, then goes live without gaps', async () => {
    const first = await feed();
    await first.subscribe(['settings.rejected']);
    const seen = await publishRejected('seen');
    await first.waitForEventSeq(seen);
    first.close();
    await first.closed;

    const missed = [
      await publishRejected('missed-1'),
      await publishChanged(),
      await publishRejected('missed-2'),
    ];

    const second = await feed();
    await second.subscribe(['settings.rejected']);
    second.send({ type: 'replay', afterSeq: seen });
    const done = await second.waitFor((m) => m.type === 'replay-done');
    expect(done).toEqual({ type: 'replay-done', seq: missed[2] });

    const live = await publishRejected('live');
    await second.waitForEventSeq(live);
    expect(second.events().map((e) => e.seq)).toEqual([missed[0], missed[2], live]);
    const doneIndex = second.messages.indexOf(done);
    expect(second.messages.findIndex((m) => m.type === 'event' && m.seq === live)).toBeGreaterThan(doneIndex);
  });

  it('holds live events during a replay and sends each event exactly once, in order', async () => {
    const start = await publishRejected('start');
    const backlog = await publisher.publishAll(
      Array.from({ length: 300 }, (_, i) => ({
        type: 'settings.rejected' as const,
        data: rejectedData(`b${i}`),
      })),
    );
    // Connect once the gateway has fanned out the backlog, so none of it reaches the client live.
    const marker = await hubCaughtUp();

    const ws = await feed();
    await ws.subscribe(['settings.rejected']);
    ws.send({ type: 'replay', afterSeq: start });
    const during = await publisher.publishAll(
      Array.from({ length: 100 }, (_, i) => ({
        type: 'settings.rejected' as const,
        data: rejectedData(`d${i}`),
      })),
    );
    const expected = [...backlog.map((p) => p.seq), marker, ...during.map((p) => p.seq)];
    await ws.waitForEventSeq(expected.at(-1)!);
    const done = await ws.waitFor((m) => m.type === 'replay-done');
    expect(ws.events().map((e) => e.seq)).toEqual(expected);
    // Everything up to M came from the replay, everything after it live, after replay-done.
    const doneIndex = ws.messages.indexOf(done);
    const m = (done as { seq: number }).seq;
    for (const [i, msg] of ws.messages.entries()) {
      if (msg.type === 'event') expect(msg.seq <= m).toBe(i < doneIndex);
    }
  });

  it('does not repeat in a replay the events the connection already got live', async () => {
    const older = await publishRejected('older');
    const ws = await feed();
    await ws.subscribe(['settings.rejected']);
    const liveOne = await publishRejected('live-one');
    await ws.waitForEventSeq(liveOne);
    ws.send({ type: 'replay', afterSeq: older - 1 });
    await ws.waitFor((m) => m.type === 'replay-done');
    const after = await publishRejected('after');
    await ws.waitForEventSeq(after);
    const seqs = ws.events().map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual([older, liveOne, after]);
  });

  it('reports a replay gap when the start is older than the stream keeps, then replays what is kept', async () => {
    const old = await publishRejected('will-be-purged');
    const kept = await publishRejected('kept');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(STREAMS.events.name, { seq: kept });

    const ws = await feed();
    await ws.subscribe(['>']);
    ws.send({ type: 'replay', afterSeq: old - 1 });
    const gap = await ws.waitFor((m) => m.type === 'replay-gap');
    expect(gap).toMatchObject({ type: 'replay-gap', afterSeq: old - 1, firstAvailableSeq: kept });
    const done = await ws.waitFor((m) => m.type === 'replay-done');
    expect(done).toEqual({ type: 'replay-done', seq: kept });
    expect(ws.events().map((e) => e.seq)).toEqual([kept]);
  });

  it('answers an invalid message with an error and keeps the connection', async () => {
    const ws = await feed();
    ws.send('not json');
    await ws.waitFor((m) => m.type === 'error');
    ws.send({ type: 'subscribe', patterns: ['bad pattern!'] });
    ws.send({ type: 'teleport' });
    ws.send({ type: 'ping' });
    await ws.waitFor((m) => m.type === 'pong');
    const errors = ws.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toEqual({
      type: 'error',
      error: { code: 'validation_failed', message: 'the message is not valid JSON' },
    });
    expect(JSON.stringify(errors[1])).toMatch(/patterns\.0/);
    expect(JSON.stringify(errors[2])).toMatch(/type/);
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
  });

  it('accepts the session cookie, but only from the gateway origin', async () => {
    const login = await client(gw.url)('POST', '/api/auth/login', { body: { token: viewerToken } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const sameOrigin = await feed({ token: '', headers: { cookie, origin: gw.url } });
    expect(sameOrigin.hello.type).toBe('hello');
    await expect(
      FeedClient.connect(gw.wsUrl, { headers: { cookie, origin: 'http://evil.example' } }),
    ).rejects.toMatchObject({ status: 403 });
  });
});

describe('WebSocket liveness and slow clients', () => {
  // More gateways on the same NATS: one with a small buffer limit, one with a fast ping (a paused
  // client cannot pong, so the two behaviours are tested apart).
  let smallBuffer: GatewayUnderTest;
  let fastPing: GatewayUnderTest;

  beforeAll(async () => {
    smallBuffer = await startGateway(nats.url, {
      JOUSTING_ADMIN_TOKEN: gw.adminToken,
      GATEWAY_WS_MAX_BUFFERED_BYTES: String(256 * 1024),
    });
    fastPing = await startGateway(nats.url, {
      JOUSTING_ADMIN_TOKEN: gw.adminToken,
      GATEWAY_WS_PING_MS: '150',
    });
  });
  afterAll(async () => {
    await smallBuffer?.stop();
    await fastPing?.stop();
  });

  it('drops a client that stops reading with 1013 while a normal client keeps receiving', async () => {
    const slow = await feed({}, smallBuffer.wsUrl);
    const normal = await feed({}, smallBuffer.wsUrl);
    await slow.subscribe(['settings.rejected']);
    await normal.subscribe(['settings.rejected']);
    slow.socket.pause();

    // 8 MiB in 4 KiB events: far more than the socket buffers of a client that does not read,
    // while each burst stays well under the 256 KiB limit.
    const seqs: number[] = [];
    for (let batch = 0; batch < 16; batch++) {
      const published = await publisher.publishAll(
        Array.from({ length: 128 }, (_, i) => ({
          type: 'settings.rejected' as const,
          data: rejectedData(`big-${batch}-${i}`, 4 * 1024),
        })),
      );
      seqs.push(...published.map((p) => p.seq));
    }
    await normal.waitForEventSeq(seqs.at(-1)!, 10_000);
    expect(normal.events().map((e) => e.seq)).toEqual(seqs);

    slow.socket.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/too slow/);
    expect(slow.events().length).toBeLessThan(seqs.length);
    expect(normal.socket.readyState).toBe(normal.socket.OPEN);
  });

  it('terminates a client that does not answer pings', async () => {
    const silent = await feed({ autoPong: false }, fastPing.wsUrl);
    const polite = await feed({}, fastPing.wsUrl);
    const closed = await silent.closed;
    expect(closed.code).toBe(1006);
    expect(polite.socket.readyState).toBe(polite.socket.OPEN);
  });

  it('closes a connection within seconds when its token is revoked on another gateway', async () => {
    const token = await createToken(gw, 'ws-revoked', 'viewer');
    const ws = await FeedClient.connect(fastPing.wsUrl, { token });
    open.push(ws);
    await client(gw.url, gw.adminToken)('DELETE', `/api/tokens/${sha256Hex(token).slice(0, 12)}`);
    const closed = await ws.closed;
    expect(closed.code).toBe(1008);
  });
});
