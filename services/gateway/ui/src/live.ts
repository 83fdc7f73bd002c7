import type { CloudEvent, WsClientMessage, WsServerMessage } from '@jousting/contracts';

/**
 * The one WebSocket connection of the UI. It reconnects with exponential backoff, asks for a
 * replay from the last seen sequence after every reconnect, and hands each event to listeners
 * exactly once, in sequence order. It has no DOM dependency: the socket and the clock are injected.
 */

export type ConnectionStatus = 'idle' | 'connecting' | 'online' | 'offline' | 'reconnecting';

export interface LiveEvent {
  seq: number;
  event: CloudEvent;
  /** True when it arrived through a replay after a reconnect. */
  replayed: boolean;
}

export type LiveNotice =
  | { kind: 'resumed'; afterSeq: number; replayed: number }
  | { kind: 'gap'; afterSeq: number; firstAvailableSeq: number; message: string }
  | { kind: 'server-error'; code: string; message: string };

export interface LiveSnapshot {
  status: ConnectionStatus;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** When the next reconnect attempt is due (clock time), while offline. */
  nextRetryAt: number | undefined;
  lastSeq: number | undefined;
}

/** What the manager needs of a socket; handlers are passed in, so a dropped socket can't call back. */
export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  onClose(code: number, reason: string): void;
}
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string, handlers: SocketHandlers) => SocketLike;

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Spread of each delay, 0..1: 0.2 means ±20%. */
  jitter: number;
}

export interface LiveOptions {
  url: string;
  patterns?: string[];
  createSocket?: SocketFactory;
  clock?: Clock;
  backoff?: Partial<BackoffOptions>;
  /** Source of randomness for jitter, 0..1. */
  random?: () => number;
  /** Send an application ping after this much silence; 0 turns it off. */
  heartbeatMs?: number;
  /** Reconnect when nothing arrives this long after a ping. */
  pongTimeoutMs?: number;
  /** Deliver what arrived if the replay does not finish in time. */
  replayTimeoutMs?: number;
  /** How many recent sequences are remembered to drop duplicates. */
  dedupeWindow?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (1-based): initial × factor^(attempt-1), capped, jittered. */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.max(0, attempt - 1));
  const spread = base * opts.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(opts.maxMs, base + spread)));
}

export const browserSocketFactory: SocketFactory = (url, handlers) => {
  const ws = new WebSocket(url);
  ws.onopen = () => handlers.onOpen();
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') handlers.onMessage(ev.data);
  };
  ws.onclose = (ev) => handlers.onClose(ev.code, ev.reason);
  return {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    close: (code, reason) => {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onclose = null;
      ws.close(code, reason);
    },
  };
};

const systemClock: Clock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  now: () => Date.now(),
};

/** ws:// or wss:// URL of `/ws` on the page's own origin. */
export function liveUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export class LiveConnection {
  private readonly url: string;
  private readonly patterns: string[];
  private readonly createSocket: SocketFactory;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly heartbeatMs: number;
  private readonly pongTimeoutMs: number;
  private readonly replayTimeoutMs: number;
  private readonly dedupeWindow: number;

  private readonly eventListeners = new Set<(e: LiveEvent) => void>();
  private readonly statusListeners = new Set<(s: LiveSnapshot) => void>();
  private readonly noticeListeners = new Set<(n: LiveNotice) => void>();

  private socket: SocketLike | undefined;
  /** Bumped for every socket, so callbacks of an abandoned socket are ignored. */
  private generation = 0;
  private snap: LiveSnapshot = { status: 'idle', attempt: 0, nextRetryAt: undefined, lastSeq: undefined };
  private connectedBefore = false;
  private retryTimer: unknown;
  private heartbeatTimer: unknown;
  private replayTimer: unknown;
  private replay: { afterSeq: number; buffer: Array<{ seq: number; event: CloudEvent }> } | undefined;
  private readonly seen = new Set<number>();
  private readonly seenOrder: number[] = [];
  /** Sequences at or below this were forgotten by the dedupe window and count as seen. */
  private seenFloor = -1;

  constructor(opts: LiveOptions) {
    this.url = opts.url;
    this.patterns = opts.patterns ?? ['>'];
    this.createSocket = opts.createSocket ?? browserSocketFactory;
    this.clock = opts.clock ?? systemClock;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.random = opts.random ?? Math.random;
    this.heartbeatMs = opts.heartbeatMs ?? 25_000;
    this.pongTimeoutMs = opts.pongTimeoutMs ?? 10_000;
    this.replayTimeoutMs = opts.replayTimeoutMs ?? 10_000;
    this.dedupeWindow = opts.dedupeWindow ?? 5_000;
  }

  get snapshot(): LiveSnapshot {
    return this.snap;
  }

  get status(): ConnectionStatus {
    return this.snap.status;
  }

  /** Listens to every event, each delivered once; returns the unsubscribe function. */
  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  onStatus(listener: (s: LiveSnapshot) => void): () => void {
    this.statusListeners.add(listener);
    return () => {
      this.statusListeners.delete(listener);
    };
  }

  onNotice(listener: (n: LiveNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => {
      this.noticeListeners.delete(listener);
    };
  }

  listenerCount(): number {
    return this.eventListeners.size + this.statusListeners.size + this.noticeListeners.size;
  }

  start(): void {
    if (this.snap.status !== 'idle') return;
    this.open('connecting');
  }

  stop(): void {
    this.clearTimers();
    this.dropSocket(1000, 'client stop');
    this.replay = undefined;
    this.setSnap({ status: 'idle', attempt: 0, nextRetryAt: undefined });
  }

  /** Skips the backoff wait (e.g. when the browser comes back online). */
  retryNow(): void {
    if (this.snap.status !== 'offline') return;
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.open('reconnecting');
  }

  private open(status: 'connecting' | 'reconnecting'): void {
    const generation = ++this.generation;
    this.setSnap({ status, nextRetryAt: undefined });
    const current = () => generation === this.generation;
    this.socket = this.createSocket(this.url, {
      onOpen: () => {
        if (current()) this.armHeartbeat();
      },
      onMessage: (data) => {
        if (current()) this.handleMessage(data);
      },
      onClose: () => {
        if (current()) this.handleClosed();
      },
    });
  }

  private handleClosed(): void {
    this.socket = undefined;
    this.generation++;
    this.clearTimers();
    if (this.replay) this.finishReplay();
    const attempt = this.snap.attempt + 1;
    const delay = backoffDelay(attempt, this.backoff, this.random);
    this.setSnap({ status: 'offline', attempt, nextRetryAt: this.clock.now() + delay });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.open('reconnecting');
    }, delay);
  }

  private handleMessage(data: string): void {
    this.armHeartbeat();
    const msg = parseServerMessage(data);
    if (!msg) return;
    switch (msg.type) {
      case 'hello':
        this.handleHello(msg.seq);
        return;
      case 'event':
        if (this.replay) this.replay.buffer.push({ seq: msg.seq, event: msg.event });
        else this.deliver(msg.seq, msg.event, false);
        return;
      case 'replay-done':
        if (this.replay) this.emitNotice({ kind: 'resumed', ...this.finishReplay() });
        return;
      case 'replay-gap':
        // The replay goes on from the oldest kept event and still ends with replay-done.
        this.emitNotice({
          kind: 'gap',
          afterSeq: msg.afterSeq,
          firstAvailableSeq: msg.firstAvailableSeq,
          message: msg.message,
        });
        return;
      case 'error':
        this.emitNotice({ kind: 'server-error', code: msg.error.code, message: msg.error.message });
        return;
      case 'subscribed':
      case 'pong':
        return;
    }
  }

  private handleHello(serverSeq: number): void {
    if (this.snap.lastSeq !== undefined && serverSeq < this.snap.lastSeq) {
      // The event stream is behind what we saw: it was recreated. Old sequence numbers mean nothing now.
      const lostAfter = this.snap.lastSeq;
      this.seen.clear();
      this.seenOrder.length = 0;
      this.seenFloor = -1;
      this.snap = { ...this.snap, lastSeq: undefined };
      this.connectedBefore = false;
      this.emitNotice({
        kind: 'gap',
        afterSeq: lostAfter,
        firstAvailableSeq: serverSeq + 1,
        message: `the event stream restarted at ${serverSeq}`,
      });
    }
    const lastSeq = this.snap.lastSeq;
    // Live events that arrive while the replay runs wait in the buffer, so delivery stays in order.
    if (this.connectedBefore && lastSeq !== undefined) {
      this.replay = { afterSeq: lastSeq, buffer: [] };
      this.replayTimer = this.clock.setTimeout(() => {
        if (this.replay) this.emitNotice({ kind: 'resumed', ...this.finishReplay() });
      }, this.replayTimeoutMs);
    }
    this.connectedBefore = true;
    this.setSnap({
      status: 'online',
      attempt: 0,
      nextRetryAt: undefined,
      // On the first connection there is nothing to catch up on: start from the server's position.
      lastSeq: lastSeq ?? serverSeq,
    });
    this.send({ type: 'subscribe', patterns: this.patterns });
    if (this.replay) this.send({ type: 'replay', afterSeq: this.replay.afterSeq });
  }

  private finishReplay(): { afterSeq: number; replayed: number } {
    const replay = this.replay;
    this.replay = undefined;
    this.clock.clearTimeout(this.replayTimer);
    this.replayTimer = undefined;
    if (!replay) return { afterSeq: 0, replayed: 0 };
    let replayed = 0;
    for (const { seq, event } of [...replay.buffer].sort((a, b) => a.seq - b.seq)) {
      if (this.deliver(seq, event, true)) replayed++;
    }
    return { afterSeq: replay.afterSeq, replayed };
  }

  /** Hands an event to the listeners unless its sequence was seen; true when delivered. */
  private deliver(seq: number, event: CloudEvent, replayed: boolean): boolean {
    if (seq <= this.seenFloor || this.seen.has(seq)) return false;
    this.seen.add(seq);
    this.seenOrder.push(seq);
    while (this.seenOrder.length > this.dedupeWindow) {
      const forgotten = this.seenOrder.shift() as number;
      this.seen.delete(forgotten);
      this.seenFloor = Math.max(this.seenFloor, forgotten);
    }
    if (this.snap.lastSeq === undefined || seq > this.snap.lastSeq) this.setSnap({ lastSeq: seq });
    const live: LiveEvent = { seq, event, replayed };
    for (const listener of [...this.eventListeners]) {
      try {
        listener(live);
      } catch (err) {
        console.error('live event listener failed', err);
      }
    }
    return true;
  }

  private armHeartbeat(): void {
    if (this.heartbeatMs <= 0) return;
    this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.send({ type: 'ping' });
      this.heartbeatTimer = this.clock.setTimeout(() => {
        // Nothing came back: the connection is dead even if the socket has not noticed.
        this.dropSocket(4000, 'heartbeat timeout');
        this.handleClosed();
      }, this.pongTimeoutMs);
    }, this.heartbeatMs);
  }

  private send(msg: WsClientMessage): void {
    this.socket?.send(JSON.stringify(msg));
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = undefined;
    this.generation++;
    try {
      socket?.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.heartbeatTimer, this.replayTimer]) this.clock.clearTimeout(t);
    this.retryTimer = undefined;
    this.heartbeatTimer = undefined;
    this.replayTimer = undefined;
  }

  private setSnap(patch: Partial<LiveSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const listener of [...this.statusListeners]) listener(this.snap);
  }

  private emitNotice(notice: LiveNotice): void {
    for (const listener of [...this.noticeListeners]) listener(notice);
  }
}

/** Parses and checks one server frame; null for anything that is not a known message. */
export function parseServerMessage(data: string): WsServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.type !== 'string') return null;
  const num = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  switch (value.type) {
    case 'hello':
      return num(value.seq) ? (value as WsServerMessage) : null;
    case 'event': {
      const e = value.event;
      const okEvent = isObject(e) && typeof e.type === 'string' && typeof e.id === 'string';
      return num(value.seq) && okEvent ? (value as WsServerMessage) : null;
    }
    case 'replay-done':
      return num(value.seq) ? (value as WsServerMessage) : null;
    case 'replay-gap':
      return num(value.afterSeq) && num(value.firstAvailableSeq)
        ? ({ message: '', ...value } as WsServerMessage)
        : null;
    case 'error':
      return isObject(value.error) && typeof value.error.message === 'string'
        ? {
            type: 'error',
            error: { code: String(value.error.code ?? 'error'), message: value.error.message },
          }
        : null;
    case 'subscribed':
    case 'pong':
      return value as WsServerMessage;
    default:
      return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
