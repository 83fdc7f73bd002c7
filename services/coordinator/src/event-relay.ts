import { Worker } from 'node:worker_threads';
import type { EventPublisher, Logger, PublishOptions } from '@jousting/bus';
import type { NatsConnection } from '@nats-io/nats-core';
import { eventFromOp, eventId } from './events-from-ops.js';
import type { Op } from './ops.js';

/**
 * A stored journal part on its way to becoming events: its sequence, its ops (or the JSON text of
 * the part, parsed by whoever publishes), and the trace id of each op's task.
 */
export interface PartForEvents {
  seq: number;
  ops?: Op[];
  body?: string;
  traces: Array<string | undefined>;
}

/**
 * Publishes the events of committed journal parts, in journal order, ids derived from the
 * journal position (`coord-<seq>-<n>`), so a re-send after a crash is stored once.
 */
export interface EventRelay {
  publish(parts: PartForEvents[]): void;
  /** Resolves once everything handed over so far has reached the NATS server. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Derives and emits the events of parts; returns the messages of events that could not be built. */
export function emitPartEvents(events: EventPublisher, parts: PartForEvents[]): string[] {
  const failures: string[] = [];
  for (const part of parts) {
    const ops = part.ops ?? (JSON.parse(part.body!) as { ops: Op[] }).ops;
    for (let index = 0; index < ops.length; index++) {
      const op = ops[index]!;
      const derived = eventFromOp(op);
      if (!derived) continue;
      const traceId = op.o === 'new' ? op.trace : part.traces[index];
      try {
        // Built from committed (validated) ops: the schema check runs only in tests or on demand.
        const opts: PublishOptions = { id: eventId(part.seq, index), time: derived.time, trusted: true };
        if (derived.subject !== undefined) opts.subject = derived.subject;
        if (traceId !== undefined) opts.traceId = traceId;
        events.emit(derived.type, derived.data, opts);
      } catch (err) {
        failures.push(`${derived.type} ${eventId(part.seq, index)}: ${(err as Error).message}`);
      }
    }
  }
  return failures;
}

/** Publishes on the coordinator's own connection, in the caller's turn of the event loop. */
export class InlineEventRelay implements EventRelay {
  constructor(
    private readonly events: EventPublisher,
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  publish(parts: PartForEvents[]): void {
    for (const failure of emitPartEvents(this.events, parts))
      this.logger.error({ failure }, 'could not publish an event');
  }

  drain(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {}
}

export interface ThreadRelayOptions {
  servers: string;
  name: string;
  source: string;
  logger: Logger;
  /** The thread died: events would silently stop, so the process must restart. */
  onFatal: (err: Error) => void;
}

type FromThread =
  | { kind: 'ready' }
  | { kind: 'drained'; id: number }
  | { kind: 'failed'; failures: string[] }
  | { kind: 'error'; message: string };

/**
 * Publishes from a worker thread with its own NATS connection: building, validating and sending
 * ~4 events per task is about half the coordinator's CPU on the hot path, and this moves it off
 * the thread that answers requests. Parts travel as the journal text already built for the
 * journal, so handing them over is a string copy.
 */
export class ThreadEventRelay implements EventRelay {
  private readonly drains = new Map<number, () => void>();
  private nextDrain = 0;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    private readonly opts: ThreadRelayOptions,
  ) {}

  static async start(opts: ThreadRelayOptions): Promise<ThreadEventRelay> {
    const worker = new Worker(new URL('./event-thread.js', import.meta.url), {
      workerData: {
        servers: opts.servers,
        name: opts.name,
        source: opts.source,
        logLevel: opts.logger.level,
      },
    });
    const relay = new ThreadEventRelay(worker, opts);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg: FromThread) => {
        if (msg.kind === 'ready') {
          worker.off('error', reject);
          resolve();
        } else relay.onMessage(msg);
      });
      worker.once('exit', (code) => {
        reject(new Error(`the event thread exited with ${code} while starting`));
        relay.onExit(code);
      });
    });
    worker.on('error', (err) => opts.logger.error({ err }, 'event thread error'));
    return relay;
  }

  publish(parts: PartForEvents[]): void {
    // The text when there is one: a string copy instead of cloning every op.
    const message = parts.map((p) => (p.body ? { seq: p.seq, body: p.body, traces: p.traces } : p));
    this.worker.postMessage({ kind: 'parts', parts: message });
  }

  drain(): Promise<void> {
    const id = ++this.nextDrain;
    return new Promise((resolve) => {
      this.drains.set(id, resolve);
      this.worker.postMessage({ kind: 'drain', id });
    });
  }

  async close(): Promise<void> {
    await this.drain();
    this.closing = true;
    this.worker.postMessage({ kind: 'close' });
    await new Promise((resolve) => this.worker.once('exit', resolve));
  }

  private onMessage(msg: FromThread): void {
    if (msg.kind === 'drained') {
      this.drains.get(msg.id)?.();
      this.drains.delete(msg.id);
    } else if (msg.kind === 'failed') {
      for (const failure of msg.failures) this.opts.logger.error({ failure }, 'could not publish an event');
    } else if (msg.kind === 'error') {
      this.opts.logger.error({ message: msg.message }, 'event thread error');
    }
  }

  private onExit(code: number): void {
    for (const resolve of this.drains.values()) resolve();
    this.drains.clear();
    if (!this.closing) this.opts.onFatal(new Error(`the event thread exited with ${code}`));
  }
}
