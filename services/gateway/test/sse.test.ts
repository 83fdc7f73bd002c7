import { createConnection } from 'node:net';
import { CloudEvent, DEFAULT_SETTINGS } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createToken,
  eventPublisher,
  FeedClient,
  type GatewayUnderTest,
  rejectedData,
  SseClient,
  type SseFrame,
  startGateway,
} from './harness.js';

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let auth: Record<string, string>;
let publisher: ReturnType<typeof eventPublisher>;
const streams: SseClient[] = [];

async function openSse(query = '', headers: Record<string, string> = {}) {
  const opened = await SseClient.open(`${gw.url}/api/events${query}`, { ...auth, ...headers });
  if (opened.client) streams.push(opened.client);
  return opened;
}
const publishRejected = async (field: string) =>
  (await publisher.publish('settings.rejected', rejectedData(field))).seq;
const eventIds = (frames: SseFrame[]) => frames.filter((f) => f.id !== undefined).map((f) => Number(f.id));

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  auth = { authorization: `Bearer ${await createToken(gw, 'sse-viewer', 'viewer')}` };
  publisher = eventPublisher(nc);
});
afterAll(async () => {
  for (const s of streams) s.close();
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});

describe('SSE event feed', () => {
  it('needs a token', async () => {
    const res = await SseClient.open(`${gw.url}/api/events`, {});
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('streams events with id = sequence, event = type and the CloudEvent as data', async () => {
    const { status, client } = await openSse();
    expect(status).toBe(200);
    const hello = await client!.waitFor((f) => f.event === 'hello');
    expect(JSON.parse(hello.data)).toMatchObject({ type: 'hello', patterns: ['>'] });

    const seq = await publishRejected('sse-live');
    const frame = await client!.waitFor((f) => f.id === String(seq));
    expect(frame.event).toBe('settings.rejected');
    const event = CloudEvent.parse(JSON.parse(frame.data));
    expect(event).toMatchObject({ type: 'settings.rejected', data: { field: 'sse-live' } });
  });

  it('resumes from Last-Event-ID: replays what was missed, then continues live', async () => {
    const seen = await publishRejected('seen');
    const missed = [await publishRejected('missed-1'), await publishRejected('missed-2')];

    const { client } = await openSse('', { 'last-event-id': String(seen) });
    const done = await client!.waitFor((f) => f.event === 'replay-done');
    expect(JSON.parse(done.data)).toEqual({ type: 'replay-done', seq: missed[1] });
    const live = await publishRejected('live');
    await client!.waitFor((f) => f.id === String(live));
    expect(eventIds(client!.frames)).toEqual([...missed, live]);
    const order = client!.frames.map((f) => f.event);
    expect(order.indexOf('replay-done')).toBeLessThan(client!.frames.findIndex((f) => f.id === String(live)));
  });

  it('resumes from the afterSeq query and filters by the patterns query', async () => {
    const start = await publishRejected('start');
    await publisher.publish('settings.changed', {
      changes: {},
      settings: DEFAULT_SETTINGS,
      actor: 'token:test',
    });
    const wanted = await publishRejected('wanted');
    const { client } = await openSse(
      `?afterSeq=${start}&patterns=${encodeURIComponent('settings.rejected,coord.*')}`,
    );
    await client!.waitFor((f) => f.event === 'replay-done');
    expect(eventIds(client!.frames)).toEqual([wanted]);
  });

  it('refuses bad patterns, an unknown query field and a bad Last-Event-ID with 400 naming them', async () => {
    const badPattern = await openSse('?patterns=settings.>,bad%20one');
    expect(badPattern.status).toBe(400);
    expect(badPattern.body.error.details.fields[0].field).toBe('patterns.1');

    const unknown = await openSse('?since=5');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.fields[0]).toEqual({ field: 'since', message: 'unknown field' });

    const badId = await openSse('', { 'last-event-id': 'yesterday' });
    expect(badId.status).toBe(400);
    expect(badId.body.error.details.fields[0].field).toBe('Last-Event-ID');
  });
});

describe('slow SSE clients', () => {
  it('cuts a client that stops reading while a normal client keeps receiving', async () => {
    const own = await startGateway(nats.url, {
      JOUSTING_ADMIN_TOKEN: gw.adminToken,
      GATEWAY_WS_MAX_BUFFERED_BYTES: String(256 * 1024),
    });
    try {
      const normal = await SseClient.open(`${own.url}/api/events`, auth);
      streams.push(normal.client!);
      await normal.client!.waitFor((f) => f.event === 'hello');
      // A raw socket that sends the request and then never reads.
      const { port } = new URL(own.url);
      const stuck = createConnection({ host: '127.0.0.1', port: Number(port) });
      const stuckClosed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
      stuck.write(
        `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\n\r\n`,
      );
      await new Promise((r) => stuck.once('data', r));
      stuck.pause();

      const seqs: number[] = [];
      for (let batch = 0; batch < 16; batch++) {
        const published = await publisher.publishAll(
          Array.from({ length: 128 }, (_, i) => ({
            type: 'settings.rejected' as const,
            data: rejectedData(`sse-big-${batch}-${i}`, 4 * 1024),
          })),
        );
        seqs.push(...published.map((p) => p.seq));
      }
      await normal.client!.waitFor((f) => f.id === String(seqs.at(-1)), 10_000);
      expect(eventIds(normal.client!.frames)).toEqual(seqs);

      stuck.resume();
      await stuckClosed;
    } finally {
      await own.stop();
    }
  });
});

describe('shutdown', () => {
  it('stop() closes WebSocket and SSE clients and the HTTP server', async () => {
    const own = await startGateway(nats.url, { JOUSTING_ADMIN_TOKEN: gw.adminToken });
    const ws = await FeedClient.connect(own.wsUrl, { token: gw.adminToken });
    const sse = await SseClient.open(`${own.url}/api/events`, { authorization: `Bearer ${gw.adminToken}` });
    await sse.client!.waitFor((f) => f.event === 'hello');

    const started = Date.now();
    await own.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await ws.closed).code).toBe(1001);
    await sse.client!.done;
    await expect(fetch(`${own.url}/api/health`)).rejects.toThrow();
  });
});
