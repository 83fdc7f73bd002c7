import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  type ConnectionStatus,
  DEFAULT_BACKOFF,
  LiveConnection,
  type LiveEvent,
  type LiveNotice,
  type LiveOptions,
  liveUrl,
  parseServerMessage,
} from '../src/live';
import { FakeClock, FakeServer } from './fakes';

function setup(opts: Partial<LiveOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const live = new LiveConnection({
    url: 'ws://gateway/ws',
    patterns: ['>'],
    createSocket: server.factory,
    clock,
    random: () => 0.5, // no jitter
    heartbeatMs: 0,
    ...opts,
  });
  const seqs: number[] = [];
  const events: LiveEvent[] = [];
  live.subscribe((e) => {
    seqs.push(e.seq);
    events.push(e);
  });
  const statuses: ConnectionStatus[] = [];
  live.onStatus((s) => {
    if (statuses.at(-1) !== s.status) statuses.push(s.status);
  });
  const notices: LiveNotice[] = [];
  live.onNotice((n) => notices.push(n));
  return { clock, server, live, seqs, events, statuses, notices };
}

describe('LiveConnection', () => {
  it('is online after the hello and subscribes to its patterns', () => {
    const { server, live, statuses } = setup();
    live.start();
    expect(live.status).toBe('connecting');
    server.last.hello(7);
    expect(live.status).toBe('online');
    expect(statuses).toEqual(['connecting', 'online']);
    expect(server.last.url).toBe('ws://gateway/ws');
    expect(server.last.sent).toEqual([{ type: 'subscribe', patterns: ['>'] }]);
  });

  it('starts from the server position on the first connection, without a replay', () => {
    const { server, live } = setup();
    live.start();
    server.last.hello(41);
    expect(live.snapshot.lastSeq).toBe(41);
    expect(server.last.sent.some((m) => m.type === 'replay')).toBe(false);
  });

  it('delivers events to listeners and tracks the last sequence', () => {
    const { server, live, seqs } = setup();
    live.start();
    server.last.hello(0);
    server.last.event(1);
    server.last.event(2, 'settings.rejected', { field: 'maxTurns' });
    expect(seqs).toEqual([1, 2]);
    expect(live.snapshot.lastSeq).toBe(2);
  });

  it('drops an event whose sequence it has already delivered', () => {
    const { server, live, seqs } = setup();
    live.start();
    server.last.hello(0);
    server.last.event(5);
    server.last.event(5);
    server.last.event(6);
    server.last.event(5);
    expect(seqs).toEqual([5, 6]);
  });

  it('reconnects after a drop with exponential backoff, capped, and resets after a good connection', () => {
    const { clock, server, live, statuses } = setup({
      backoff: { initialMs: 500, factor: 2, maxMs: 4000, jitter: 0 },
    });
    live.start();
    server.last.hello(0);

    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      server.last.drop();
      expect(live.status).toBe('offline');
      const delay = clock.nextDelay();
      if (delay === undefined) throw new Error('no reconnect was scheduled');
      delays.push(delay);
      clock.advance(delay - 1);
      expect(server.sockets.length).toBe(i + 1); // not yet
      clock.advance(1);
      expect(server.sockets.length).toBe(i + 2);
      expect(live.status).toBe('reconnecting');
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(live.snapshot.attempt).toBe(6);

    server.last.hello(0);
    expect(live.status).toBe('online');
    expect(live.snapshot.attempt).toBe(0);
    server.last.drop();
    expect(clock.nextDelay()).toBe(500);
    expect(statuses.slice(0, 4)).toEqual(['connecting', 'online', 'offline', 'reconnecting']);
  });

  it('reports when the next attempt is due while offline', () => {
    const { clock, server, live } = setup({ backoff: { initialMs: 1000, jitter: 0 } });
    live.start();
    clock.advance(250);
    server.last.drop();
    expect(live.snapshot.nextRetryAt).toBe(1250);
  });

  it('asks for a replay from the last seen sequence after a reconnect and delivers what was missed once, in order', () => {
    const { clock, server, live, seqs, events, notices } = setup();
    live.start();
    server.last.hello(10);
    server.last.event(11);
    server.last.event(12);
    server.last.drop();
    clock.advance(clock.nextDelay() ?? 0);

    const second = server.last;
    second.hello(16);
    expect(second.sent).toEqual([
      { type: 'subscribe', patterns: ['>'] },
      { type: 'replay', afterSeq: 12 },
    ]);
    // A live event overtakes the replay, which also repeats it and one already seen.
    second.event(16);
    second.event(12);
    second.event(13);
    second.event(14);
    second.event(15);
    second.event(16);
    expect(seqs).toEqual([11, 12]); // held back until the replay is done
    second.receive({ type: 'replay-done', seq: 16 });

    expect(seqs).toEqual([11, 12, 13, 14, 15, 16]);
    expect(events.slice(2).every((e) => e.replayed)).toBe(true);
    expect(notices).toEqual([{ kind: 'resumed', afterSeq: 12, replayed: 4 }]);
    second.event(17);
    expect(seqs.at(-1)).toBe(17);
    expect(events.at(-1)?.replayed).toBe(false);
  });

  it('replays from the first hello position when nothing arrived before the drop', () => {
    const { clock, server, live } = setup();
    live.start();
    server.last.hello(30);
    server.last.drop();
    clock.advance(clock.nextDelay() ?? 0);
    server.last.hello(33);
    expect(server.last.sent).toContainEqual({ type: 'replay', afterSeq: 30 });
  });

  it('delivers what arrived when the replay never finishes', () => {
    const { clock, server, live, seqs } = setup({ replayTimeoutMs: 2000 });
    live.start();
    server.last.hello(1);
    server.last.drop();
    clock.advance(clock.nextDelay() ?? 0);
    server.last.hello(3);
    server.last.event(3);
    server.last.event(2);
    expect(seqs).toEqual([]);
    clock.advance(2000);
    expect(seqs).toEqual([2, 3]);
  });

  it('reports a replay gap and still delivers what the replay finds', () => {
    const { clock, server, live, seqs, notices } = setup();
    live.start();
    server.last.hello(100);
    server.last.drop();
    clock.advance(clock.nextDelay() ?? 0);
    server.last.hello(900);
    server.last.receive({ type: 'replay-gap', afterSeq: 100, firstAvailableSeq: 500, message: 'trimmed' });
    expect(notices).toEqual([{ kind: 'gap', afterSeq: 100, firstAvailableSeq: 500, message: 'trimmed' }]);
    // What is still kept is replayed as usual.
    server.last.event(500);
    server.last.event(501);
    server.last.receive({ type: 'replay-done', seq: 501 });
    expect(seqs).toEqual([500, 501]);
    expect(notices.at(-1)).toEqual({ kind: 'resumed', afterSeq: 100, replayed: 2 });
  });

  it('starts over when the server stream is behind what it saw (the stream was recreated)', () => {
    const { clock, server, live, seqs, notices } = setup();
    live.start();
    server.last.hello(40);
    server.last.event(41);
    server.last.drop();
    clock.advance(clock.nextDelay() ?? 0);
    server.last.hello(2);
    expect(server.last.sent.some((m) => m.type === 'replay')).toBe(false);
    expect(notices).toEqual([
      { kind: 'gap', afterSeq: 41, firstAvailableSeq: 3, message: 'the event stream restarted at 2' },
    ]);
    server.last.event(3);
    server.last.event(41); // a new event that reuses an old number is not a duplicate
    expect(seqs).toEqual([41, 3, 41]);
  });

  it('ignores an abandoned socket, so reconnects never double the deliveries', () => {
    const { clock, server, live, seqs } = setup();
    live.start();
    server.last.hello(0);
    const first = server.last;
    first.drop();
    clock.advance(clock.nextDelay() ?? 0);
    server.last.hello(0);
    server.last.receive({ type: 'replay-done', seq: 0 });

    first.event(1); // a late frame from the dead socket
    first.drop();
    expect(seqs).toEqual([]);
    expect(live.status).toBe('online');

    server.last.event(1);
    expect(seqs).toEqual([1]);
  });

  it('keeps one listener per subscribe across reconnects and removes it on unsubscribe', () => {
    const { clock, server, live } = setup();
    const calls: number[] = [];
    const unsubscribe = live.subscribe((e) => calls.push(e.seq));
    const before = live.listenerCount();
    live.start();
    for (let i = 0; i < 3; i++) {
      server.last.hello(0);
      server.last.receive({ type: 'replay-done', seq: 0 });
      server.last.drop();
      clock.advance(clock.nextDelay() ?? 0);
    }
    server.last.hello(0);
    server.last.receive({ type: 'replay-done', seq: 0 });
    server.last.event(1);
    expect(calls).toEqual([1]);
    expect(live.listenerCount()).toBe(before);
    unsubscribe();
    server.last.event(2);
    expect(calls).toEqual([1]);
    expect(live.listenerCount()).toBe(before - 1);
  });

  it('pings after silence and reconnects when nothing answers', () => {
    const { clock, server, live } = setup({ heartbeatMs: 1000, pongTimeoutMs: 500 });
    live.start();
    server.last.hello(0);
    clock.advance(1000);
    expect(server.last.sent.at(-1)).toEqual({ type: 'ping' });
    server.last.receive({ type: 'pong' });
    clock.advance(999);
    expect(live.status).toBe('online');

    clock.advance(1);
    expect(server.last.sent.at(-1)).toEqual({ type: 'ping' });
    clock.advance(500);
    expect(server.sockets[0]?.closedBy?.code).toBe(4000);
    expect(live.status).toBe('offline');
  });

  it('stop closes the socket and cancels a pending reconnect', () => {
    const { clock, server, live } = setup();
    live.start();
    server.last.hello(0);
    server.last.drop();
    live.stop();
    expect(live.status).toBe('idle');
    clock.advance(60_000);
    expect(server.sockets).toHaveLength(1);

    live.start();
    expect(server.sockets).toHaveLength(2);
    live.stop();
    expect(server.sockets[1]?.closedBy).toEqual({ code: 1000, reason: 'client stop' });
  });

  it('retryNow skips the backoff wait only while offline', () => {
    const { clock, server, live } = setup({ backoff: { initialMs: 10_000, jitter: 0 } });
    live.start();
    live.retryNow();
    expect(server.sockets).toHaveLength(1);
    server.last.drop();
    live.retryNow();
    expect(server.sockets).toHaveLength(2);
    expect(live.status).toBe('reconnecting');
    clock.advance(10_000);
    expect(server.sockets).toHaveLength(2); // the cancelled timer does not open a third
  });

  it('reports server errors as notices', () => {
    const { server, live, notices } = setup();
    live.start();
    server.last.hello(0);
    server.last.receive({ type: 'error', error: { code: 'validation_failed', message: 'bad pattern' } });
    expect(notices).toEqual([{ kind: 'server-error', code: 'validation_failed', message: 'bad pattern' }]);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const opts = { ...DEFAULT_BACKOFF, jitter: 0 };
    expect([1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts))).toEqual([500, 1000, 2000, 4000, 30_000]);
  });

  it('spreads each delay by the jitter and never exceeds the cap', () => {
    const opts = { initialMs: 1000, maxMs: 1000, factor: 2, jitter: 0.2 };
    expect(backoffDelay(1, opts, () => 0)).toBe(800);
    expect(backoffDelay(1, opts, () => 1)).toBe(1000);
    expect(backoffDelay(1, { ...opts, maxMs: 5000 }, () => 1)).toBe(1200);
  });
});

describe('parseServerMessage', () => {
  it('accepts the known frames and refuses anything else', () => {
    expect(parseServerMessage('{"type":"hello","seq":3,"patterns":[]}')).toMatchObject({
      type: 'hello',
      seq: 3,
    });
    expect(parseServerMessage('not json')).toBeNull();
    expect(parseServerMessage('{"type":"event","seq":"3","event":{}}')).toBeNull();
    expect(parseServerMessage('{"type":"event","seq":3,"event":{"id":"x"}}')).toBeNull();
    expect(parseServerMessage('{"type":"surprise"}')).toBeNull();
    expect(parseServerMessage('[1,2]')).toBeNull();
  });
});

describe('liveUrl', () => {
  it('uses wss on https pages and ws otherwise', () => {
    expect(liveUrl({ protocol: 'https:', host: 'ops.example.com' })).toBe('wss://ops.example.com/ws');
    expect(liveUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/ws');
  });
});
