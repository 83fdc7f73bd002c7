import type { HttpBindings } from '@hono/node-server';
import type { Logger } from '@jousting/bus';
import { JoustingError, SubjectPattern, type WsServerMessage } from '@jousting/contracts';
import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { Auth } from './auth.js';
import type { EventHub, FeedItem, FeedSink } from './event-feed.js';
import type { GatewayEnv, Principal } from './http-env.js';

export interface SseFeedOptions {
  hub: EventHub;
  auth: Auth;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** A client with more than this many bytes unwritten is dropped as too slow. */
  maxBufferedBytes: number;
}

export interface EventsRequest {
  patterns?: string | undefined;
  afterSeq?: number | undefined;
}

/**
 * `GET /api/events`: the event feed as server-sent events. `id` is the stream sequence, `event` the
 * CloudEvent type, `data` the CloudEvent. Control messages (`hello`, `replay-gap`, `replay-done`,
 * `error`) come as events of that name with the WebSocket message as data and no id.
 */
export class SseFeed {
  readonly #clients = new Map<SseClient, Promise<void>>();

  constructor(private readonly opts: SseFeedOptions) {}

  get clientCount(): number {
    return this.#clients.size;
  }

  respond(c: Context<GatewayEnv>, request: EventsRequest): Response {
    // Checked before the stream opens, so a bad request still gets a 400 with a JSON body.
    const patterns = parsePatterns(request.patterns);
    const afterSeq = parseLastEventId(c.req.header('last-event-id')) ?? request.afterSeq;
    const principal = c.get('principal')!;
    const log = c.get('log');
    const outgoing = (c.env as HttpBindings | undefined)?.outgoing;
    return streamSSE(c, async (stream) => {
      const client = new SseClient(stream, principal, this.opts, log, () => outgoing?.destroy());
      const running = client.run(patterns, afterSeq);
      this.#clients.set(client, running);
      log.info({ patterns, afterSeq, clients: this.#clients.size }, 'SSE client connected');
      try {
        await running;
      } finally {
        this.#clients.delete(client);
        log.info({ clients: this.#clients.size }, 'SSE client disconnected');
      }
    });
  }

  /** Ends every stream and resolves once their responses are finished. */
  async closeAll(): Promise<void> {
    for (const client of this.#clients.keys()) client.close();
    await Promise.allSettled(this.#clients.values());
  }
}

/** Comma-separated NATS patterns over event types; default every event. */
export function parsePatterns(value: string | undefined): string[] {
  const patterns = (value ?? '>')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  patterns.forEach((pattern, i) => {
    const checked = SubjectPattern.safeParse(pattern);
    if (!checked.success) {
      throw JoustingError.validation([
        { field: `patterns.${i}`, message: checked.error.issues[0]?.message ?? 'invalid pattern' },
      ]);
    }
  });
  return patterns.length ? patterns : ['>'];
}

function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d+$/.test(value.trim())) {
    throw JoustingError.validation([{ field: 'Last-Event-ID', message: 'must be a stream sequence number' }]);
  }
  return Number(value.trim());
}

/** One SSE response: a queue written in order by one pump, so sends from the hub never wait. */
class SseClient implements FeedSink {
  readonly maxBacklogBytes: number;
  #queue: string[] = [];
  #queuedBytes = 0;
  #writingBytes = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  #finished!: () => void;
  readonly #done = new Promise<void>((resolve) => {
    this.#finished = resolve;
  });

  constructor(
    private readonly stream: SSEStreamingApi,
    private readonly principal: Principal,
    private readonly opts: SseFeedOptions,
    private readonly log: Logger,
    private readonly destroyConnection: () => void,
  ) {
    this.maxBacklogBytes = opts.maxBufferedBytes;
  }

  async run(patterns: string[], afterSeq: number | undefined): Promise<void> {
    this.stream.onAbort(() => this.close());
    const subscription = this.opts.hub.subscribe(this, patterns);
    this.sendControl({ type: 'hello', seq: this.opts.hub.lastSeq, patterns });
    const heartbeat = setInterval(() => {
      this.#enqueue(': heartbeat\n\n');
      void this.opts.auth.stillValid(this.principal).then(
        (valid) => {
          if (!valid) this.close();
        },
        () => undefined,
      );
    }, this.opts.heartbeatMs ?? 15_000);
    const pump = this.#pump();
    if (afterSeq !== undefined) {
      subscription.replay(afterSeq).catch((err: unknown) => {
        const error =
          err instanceof JoustingError ? err : new JoustingError('unavailable', 'the replay failed');
        this.sendControl({ type: 'error', error: { code: error.code, message: error.message } });
        this.close();
      });
    }
    await this.#done;
    clearInterval(heartbeat);
    subscription.close();
    this.#wake?.();
    // A write stuck on a client that stopped reading must not keep the stream open forever.
    const flushed = await Promise.race([pump.then(() => true), delay(1000).then(() => false)]);
    if (!flushed) this.destroyConnection();
  }

  sendEvent(item: FeedItem): boolean {
    return this.#enqueue(`id: ${item.seq}\nevent: ${oneLine(item.event.type)}\ndata: ${item.eventJson}\n\n`);
  }

  sendControl(message: WsServerMessage): boolean {
    return this.#enqueue(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
  }

  backlogBytes(): number {
    return this.#queuedBytes + this.#writingBytes;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#finished();
    this.#wake?.();
  }

  #enqueue(text: string): boolean {
    if (this.#closed) return false;
    this.#queue.push(text);
    this.#queuedBytes += Buffer.byteLength(text);
    if (this.backlogBytes() > this.maxBacklogBytes) {
      this.log.warn({ backlogBytes: this.backlogBytes() }, 'dropping an SSE client that reads too slowly');
      this.close();
      // It cannot read a goodbye anyway; cutting the connection makes EventSource reconnect and resume.
      this.destroyConnection();
      return false;
    }
    this.#wake?.();
    return true;
  }

  async #pump(): Promise<void> {
    while (!this.#closed) {
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const chunk = this.#queue.join('');
      this.#queue = [];
      this.#writingBytes = this.#queuedBytes;
      this.#queuedBytes = 0;
      await this.stream.write(chunk);
      this.#writingBytes = 0;
    }
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ');
