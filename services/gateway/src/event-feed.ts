import { type Logger, readEventStream, type SequencedEvent, type ServiceContext } from '@jousting/bus';
import {
  type CloudEvent,
  JoustingError,
  STREAMS,
  subjectMatches,
  type WsServerMessage,
} from '@jousting/contracts';

const YIELD_EVERY_EVENTS = 32;

/** The EVENTS stream as the feed needs it: its bounds and an ordered read from a sequence. */
export interface EventLog {
  bounds(): Promise<{ firstSeq: number; lastSeq: number }>;
  /** Events after `afterSeq`, in stream order, then new ones as they come. */
  read(afterSeq: number): Promise<{ events: AsyncIterable<SequencedEvent>; stop(): void }>;
}

export function jetStreamEventLog(ctx: Pick<ServiceContext<unknown>, 'js' | 'jsm'>): EventLog {
  return {
    bounds: async () => {
      const { state } = await ctx.jsm.streams.info(STREAMS.events.name);
      return { firstSeq: state.first_seq, lastSeq: state.last_seq };
    },
    read: (afterSeq) => readEventStream(ctx.js, { afterSeq }),
  };
}

/** One event on its way to many clients; each wire form is serialised once, not once per client. */
export class FeedItem {
  #wsFrame: string | undefined;
  #json: string | undefined;

  constructor(
    readonly seq: number,
    readonly event: CloudEvent,
  ) {}

  /** `{"type":"event","seq":…,"event":…}` for WebSocket clients. */
  get wsFrame(): string {
    this.#wsFrame ??= JSON.stringify({ type: 'event', seq: this.seq, event: this.event });
    return this.#wsFrame;
  }

  /** The CloudEvent JSON, for SSE `data:`. */
  get eventJson(): string {
    this.#json ??= JSON.stringify(this.event);
    return this.#json;
  }
}

/** A client connection as the feed sees it (WebSocket or SSE). Sends never wait. */
export interface FeedSink {
  /** Queues an event; false when the client is too slow and has been dropped. */
  sendEvent(item: FeedItem): boolean;
  sendControl(message: WsServerMessage): boolean;
  /** Bytes queued for this client and not yet handed to the network. */
  backlogBytes(): number;
  /** Above this backlog the client is dropped; replay pauses at half of it. */
  readonly maxBacklogBytes: number;
}

export interface EventHubOptions {
  /** Wait before reopening the live reader after it failed. */
  retryMs?: number;
  /** A replay ends when no event came for this long (the rest up to its target was not readable). */
  replayIdleMs?: number;
  /** Live events held for one client during its replay before it counts as too slow. */
  maxHeldEvents?: number;
}

/**
 * The one reader of the EVENTS stream per gateway process, fanned out to every subscribed client.
 * It starts right after the stream's last sequence and, if the reader fails, resumes after the last
 * event it delivered, so live clients see no gap.
 */
export class EventHub {
  readonly #subscriptions = new Set<FeedSubscription>();
  readonly #opts: Required<EventHubOptions>;
  #lastSeq = 0;
  #reader: { stop(): void } | undefined;
  #stopped = false;
  #following: Promise<void> | undefined;
  #healthy = false;

  constructor(
    readonly log: EventLog,
    private readonly logger: Logger,
    opts: EventHubOptions = {},
  ) {
    this.#opts = { retryMs: 1000, replayIdleMs: 3000, maxHeldEvents: 10_000, ...opts };
  }

  /** The sequence of the last event fanned out; every later event reaches live subscribers. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  get subscriberCount(): number {
    return this.#subscriptions.size;
  }

  get options(): Readonly<Required<EventHubOptions>> {
    return this.#opts;
  }

  async start(): Promise<void> {
    // Starting after the known last sequence (not "deliver new") leaves no window where an event slips by.
    this.#lastSeq = (await this.log.bounds()).lastSeq;
    await this.#open();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reader?.stop();
    await this.#following;
    for (const subscription of this.#subscriptions) subscription.close();
  }

  subscribe(sink: FeedSink, patterns: string[] = []): FeedSubscription {
    const subscription = new FeedSubscription(this, sink, patterns, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async #open(): Promise<void> {
    const reader = await this.log.read(this.#lastSeq);
    this.#reader = reader;
    this.#healthy = true;
    this.#following = this.#follow(reader.events);
  }

  async #follow(events: AsyncIterable<SequencedEvent>): Promise<void> {
    try {
      let sinceYield = 0;
      for await (const { seq, event } of events) {
        if (seq <= this.#lastSeq) continue;
        this.#lastSeq = seq;
        const item = new FeedItem(seq, event);
        for (const subscription of this.#subscriptions) subscription.offerLive(item);
        // A burst from NATS is handled in microtasks; yielding lets sockets and requests get a turn.
        if (++sinceYield >= YIELD_EVERY_EVENTS) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'the EVENTS reader failed');
    }
    this.#healthy = false;
    while (!this.#stopped) {
      this.logger.warn({ afterSeq: this.#lastSeq }, 'reopening the EVENTS reader');
      await new Promise((r) => setTimeout(r, this.#opts.retryMs));
      if (this.#stopped) return;
      try {
        await this.#open();
        return;
      } catch (err) {
        this.logger.warn({ err }, 'could not reopen the EVENTS reader; will retry');
      }
    }
  }
}

/**
 * One client's view of the feed: its patterns, and replay-then-live. During a replay, live events
 * are held; after `replay-done` (seq M) the held ones above M are sent, so nothing is doubled or lost.
 * A replay also skips events this connection already got live (a client that subscribed, got a few
 * live events and then asked to replay from before them).
 */
export class FeedSubscription {
  #patterns: string[];
  #replaying = false;
  #held: FeedItem[] = [];
  /** Sequences sent live, oldest first, bounded; consulted only by replays. */
  #sentLive = new Set<number>();
  #closed = false;

  constructor(
    private readonly hub: EventHub,
    private readonly sink: FeedSink,
    patterns: string[],
    private readonly detach: () => void,
  ) {
    this.#patterns = [...new Set(patterns)];
  }

  get patterns(): string[] {
    return [...this.#patterns];
  }

  get closed(): boolean {
    return this.#closed;
  }

  addPatterns(patterns: string[]): void {
    this.#patterns = [...new Set([...this.#patterns, ...patterns])];
  }

  removePatterns(patterns: string[]): void {
    const removed = new Set(patterns);
    this.#patterns = this.#patterns.filter((p) => !removed.has(p));
  }

  matches(type: string): boolean {
    return this.#patterns.some((pattern) => subjectMatches(pattern, type));
  }

  /** Called by the hub for every live event; never waits. */
  offerLive(item: FeedItem): void {
    if (this.#closed || !this.matches(item.event.type)) return;
    if (!this.#replaying) {
      this.#sendLive(item);
      return;
    }
    this.#held.push(item);
    if (this.#held.length > this.hub.options.maxHeldEvents) {
      this.sink.sendControl({
        type: 'error',
        error: { code: 'rate_limited', message: 'too many live events arrived during the replay' },
      });
      this.close();
    }
  }

  /**
   * Sends the matching events after `afterSeq` up to the stream's last sequence at the time of the
   * call (M), then `replay-done` with M, then the live events held meanwhile. A start older than
   * the stream's first event is reported with `replay-gap` and replay starts at what is kept.
   */
  async replay(afterSeq: number): Promise<void> {
    if (this.#closed) return;
    if (this.#replaying)
      throw new JoustingError('conflict', 'a replay is already running on this connection');
    this.#replaying = true;
    try {
      const { firstSeq, lastSeq: target } = await this.hub.log.bounds();
      if (afterSeq + 1 < firstSeq) {
        this.sink.sendControl({
          type: 'replay-gap',
          afterSeq,
          firstAvailableSeq: firstSeq,
          message: `events ${afterSeq + 1}..${firstSeq - 1} are no longer kept; replaying from ${firstSeq}`,
        });
      }
      if (target > afterSeq && this.#patterns.length > 0) await this.#replayRange(afterSeq, target);
      if (this.#closed) return;
      this.sink.sendControl({ type: 'replay-done', seq: target });
      const held = this.#held;
      this.#held = [];
      this.#replaying = false;
      for (const item of held) if (item.seq > target && !this.#closed) this.#sendLive(item);
    } finally {
      this.#replaying = false;
      this.#held = [];
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.#sentLive.clear();
    this.detach();
  }

  async #replayRange(afterSeq: number, target: number): Promise<void> {
    const reader = await this.hub.log.read(afterSeq);
    const events = reader.events[Symbol.asyncIterator]();
    try {
      while (!this.#closed) {
        const next = await nextOrIdle(events, this.hub.options.replayIdleMs);
        if (next === 'idle' || next.done || next.value.seq > target) return;
        const { seq, event } = next.value;
        const wanted = this.matches(event.type) && !this.#sentLive.has(seq);
        if (wanted && !this.#send(new FeedItem(seq, event))) return;
        if (seq >= target) return;
        // Replay is this client's own reader, so it waits for the client instead of dropping it.
        if (this.sink.backlogBytes() > this.sink.maxBacklogBytes / 2) await this.#backlogBelowQuarter();
      }
    } finally {
      reader.stop();
    }
  }

  #sendLive(item: FeedItem): void {
    if (!this.#send(item)) return;
    this.#sentLive.add(item.seq);
    if (this.#sentLive.size > this.hub.options.maxHeldEvents) {
      this.#sentLive.delete(this.#sentLive.values().next().value as number);
    }
  }

  #send(item: FeedItem): boolean {
    if (this.sink.sendEvent(item)) return true;
    this.close();
    return false;
  }

  async #backlogBelowQuarter(): Promise<void> {
    while (!this.#closed && this.sink.backlogBytes() > this.sink.maxBacklogBytes / 4) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function nextOrIdle<T>(
  iterator: AsyncIterator<T>,
  idleMs: number,
): Promise<IteratorResult<T> | 'idle'> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<'idle'>((resolve) => {
    timer = setTimeout(() => resolve('idle'), idleMs);
  });
  try {
    return await Promise.race([iterator.next(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
