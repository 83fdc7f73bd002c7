import { upgradeWebSocket } from '@hono/node-server';
import type { Logger } from '@jousting/bus';
import { issuesFromZod, JoustingError, WsClientMessage, type WsServerMessage } from '@jousting/contracts';
import type { MiddlewareHandler } from 'hono';
import type { WSEvents } from 'hono/ws';
import { WebSocket } from 'ws';
import type { Auth } from './auth.js';
import type { EventHub, FeedItem, FeedSink, FeedSubscription } from './event-feed.js';
import type { GatewayEnv, Principal } from './http-env.js';

/** Subscribe messages may add up to 64 patterns each; this caps what one connection collects. */
const MAX_PATTERNS = 256;
/** A dropped client gets this long to read its close frame before its socket is destroyed. */
const CLOSE_GRACE_MS = 5000;

export const WS_CLOSE = {
  goingAway: 1001,
  policyViolation: 1008,
  tryAgainLater: 1013,
} as const;

export interface WsFeedOptions {
  hub: EventHub;
  auth: Auth;
  logger: Logger;
  /** Ping interval; a client that did not pong since the previous ping is terminated. */
  pingMs: number;
  /** A client whose socket buffer grows past this is dropped as too slow. */
  maxBufferedBytes: number;
}

/** The `/ws` event feed: every open WebSocket client, their pings, and shutdown. */
export class WsFeed {
  readonly #clients = new Set<WsClient>();
  #pinger: NodeJS.Timeout | undefined;
  /** The upgrade handler for `GET /ws`; it runs after authentication. */
  readonly handler: MiddlewareHandler<GatewayEnv>;

  constructor(private readonly opts: WsFeedOptions) {
    this.handler = upgradeWebSocket((c) => this.#events(c.get('principal')!, c.get('log')));
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  start(): void {
    this.#pinger = setInterval(() => {
      for (const client of this.#clients) client.heartbeat();
    }, this.opts.pingMs);
    this.#pinger.unref();
  }

  /** Sends every client a going-away close, waits briefly for the handshakes, then cuts what is left. */
  async closeAll(waitMs = 1000): Promise<void> {
    clearInterval(this.#pinger);
    const closed = [...this.#clients].map((client) => client.closeForShutdown());
    const timeout = new Promise((r) => setTimeout(r, waitMs).unref());
    await Promise.race([Promise.all(closed), timeout]);
    for (const client of this.#clients) client.socket.terminate();
    this.#clients.clear();
  }

  #events(principal: Principal, log: Logger): WSEvents {
    let client: WsClient | undefined;
    return {
      onOpen: (_event, ws) => {
        client = new WsClient(ws.raw as WebSocket, principal, this.opts, log);
        this.#clients.add(client);
        client.hello();
        log.info({ clients: this.#clients.size }, 'WebSocket client connected');
      },
      onMessage: (event) => client?.receive(event.data),
      onClose: (event) => {
        if (!client) return;
        client.dispose();
        this.#clients.delete(client);
        log.info({ code: event.code, clients: this.#clients.size }, 'WebSocket client disconnected');
      },
      onError: (event) => log.debug({ err: (event as Event & { error?: unknown }).error }, 'WebSocket error'),
    };
  }
}

/** One WebSocket connection: parses client messages and is the feed's sink for it. */
class WsClient implements FeedSink {
  readonly subscription: FeedSubscription;
  readonly maxBacklogBytes: number;
  #alive = true;
  #dropped = false;

  constructor(
    readonly socket: WebSocket,
    private readonly principal: Principal,
    private readonly opts: WsFeedOptions,
    private readonly log: Logger,
  ) {
    this.maxBacklogBytes = opts.maxBufferedBytes;
    socket.on('pong', () => {
      this.#alive = true;
    });
    this.subscription = opts.hub.subscribe(this);
  }

  hello(): void {
    this.sendControl({ type: 'hello', seq: this.opts.hub.lastSeq, patterns: this.subscription.patterns });
  }

  receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.#error('validation_failed', 'messages must be JSON text, not binary');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      this.#error('validation_failed', 'the message is not valid JSON');
      return;
    }
    const parsed = WsClientMessage.safeParse(raw);
    if (!parsed.success) {
      this.#error('validation_failed', JoustingError.validation(issuesFromZod(parsed.error)).message);
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'subscribe':
        if (new Set([...this.subscription.patterns, ...message.patterns]).size > MAX_PATTERNS) {
          this.#error('validation_failed', `at most ${MAX_PATTERNS} patterns per connection`);
          return;
        }
        this.subscription.addPatterns(message.patterns);
        this.sendControl({ type: 'subscribed', patterns: this.subscription.patterns });
        return;
      case 'unsubscribe':
        this.subscription.removePatterns(message.patterns);
        this.sendControl({ type: 'subscribed', patterns: this.subscription.patterns });
        return;
      case 'replay':
        this.subscription.replay(message.afterSeq).catch((err: unknown) => {
          const error =
            err instanceof JoustingError
              ? err
              : new JoustingError('unavailable', 'the replay failed; try again');
          if (!(err instanceof JoustingError)) this.log.warn({ err }, 'replay failed');
          this.#error(error.code, error.message);
        });
        return;
      case 'ping':
        this.sendControl({ type: 'pong' });
        return;
    }
  }

  sendEvent(item: FeedItem): boolean {
    return this.#write(item.wsFrame);
  }

  sendControl(message: WsServerMessage): boolean {
    return this.#write(JSON.stringify(message));
  }

  backlogBytes(): number {
    return this.socket.bufferedAmount;
  }

  /** Called on every ping tick: terminates a client that missed a pong, and one whose token is gone. */
  heartbeat(): void {
    if (this.#dropped) return;
    if (!this.#alive) {
      this.log.info('WebSocket client did not answer the last ping; terminating');
      this.#dropped = true;
      this.socket.terminate();
      return;
    }
    this.#alive = false;
    this.socket.ping();
    void this.opts.auth.stillValid(this.principal).then(
      (valid) => {
        if (!valid) this.#drop(WS_CLOSE.policyViolation, 'the token was revoked or the session ended');
      },
      () => undefined,
    );
  }

  closeForShutdown(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.#drop(WS_CLOSE.goingAway, 'the gateway is shutting down; reconnect and replay');
    return closed;
  }

  dispose(): void {
    this.#dropped = true;
    this.subscription.close();
  }

  #error(code: string, message: string): void {
    this.sendControl({ type: 'error', error: { code, message } });
  }

  /** Never waits for the network: a client that cannot keep up is dropped, so it slows nobody else. */
  #write(frame: string): boolean {
    if (this.#dropped || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(frame);
    if (this.socket.bufferedAmount <= this.opts.maxBufferedBytes) return true;
    this.log.warn(
      { bufferedBytes: this.socket.bufferedAmount },
      'dropping a WebSocket client that reads too slowly',
    );
    this.#drop(WS_CLOSE.tryAgainLater, 'client too slow: events piled up unread; reconnect and replay');
    return false;
  }

  #drop(code: number, reason: string): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.subscription.close();
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }
}
