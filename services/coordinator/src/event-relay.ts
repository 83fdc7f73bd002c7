import { Worker } from 'node:worker_threads';
import {
  checksTrustedEvents,
  type EventPublisher,
  type Logger,
  newTraceId,
  type PreparedEvent,
  type PublishOptions,
  serializeEvent,
} from '@jousting/bus';
import type { NatsConnection } from '@nats-io/nats-core';
import { eventFromOp, eventId, isoTime } from './events-from-ops.js';
import type { NewTaskOp, Op, StatusOp } from './ops.js';

/**
 * A stored journal part on its way to becoming events: its sequence, its ops (or the JSON text of
 * the part, parsed by whoever publishes), and the trace id of each op's task.
 */
export interface PartForEvents {
  seq: number;
  ops?: Op[];
  body?: string;
  traces: Array<string | undefined>;
  /** Ops before this index already have their event stored (a re-send after a crash); default 0. */
  fromIndex?: number;
}

/**
 * Publishes the events of committed journal parts, in journal order on one connection, ids
 * derived from the journal position (`coord-<seq>-<n>`). Without `Nats-Msg-Id`: the stored events
 * are therefore a prefix of what was sent, and a restart re-sends from just after the newest one.
 */
export interface EventRelay {
  publish(parts: PartForEvents[]): void;
  /** Resolves once everything handed over so far has reached the NATS server. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Events handed to NATS in one buffer: a few hundred KB, so a big re-send at start is written in pieces. */
const EVENTS_PER_WRITE = 1000;

/** Derives and emits the events of parts; returns the messages of events that could not be built or sent. */
export function emitPartEvents(events: EventPublisher, parts: PartForEvents[]): string[] {
  const failures: string[] = [];
  const check = checksTrustedEvents();
  const sourceJson = JSON.stringify(events.source);
  let batch: PreparedEvent[] = [];
  for (const part of parts) {
    const ops = part.ops ?? (JSON.parse(part.body!) as { ops: Op[] }).ops;
    for (let index = part.fromIndex ?? 0; index < ops.length; index++) {
      const op = ops[index]!;
      const traceId = op.o === 'new' ? op.trace : part.traces[index];
      try {
        const id = eventId(part.seq, index);
        const prepared =
          op.o === 'st' && SAFE_ID.test(op.id) && (op.w === undefined || SAFE_ID.test(op.w))
            ? statusEvent(sourceJson, op, id, traceId)
            : op.o === 'new' && SAFE_ID.test(op.id)
              ? createdEvent(sourceJson, op, id)
              : genericEvent(events, op, id, traceId);
        if (!prepared) continue;
        if (check && (op.o === 'st' || op.o === 'new')) {
          // A template must give exactly what the schema-checked path gives.
          const expected = genericEvent(events, op, id, JSON.parse(prepared.json).traceid);
          if (expected?.json !== prepared.json)
            throw new Error(`the ${op.o} event template differs: ${prepared.json} vs ${expected?.json}`);
        }
        batch.push(prepared);
      } catch (err) {
        failures.push(`${op.o} ${eventId(part.seq, index)}: ${(err as Error).message}`);
      }
      if (batch.length >= EVENTS_PER_WRITE) {
        send(events, batch, failures);
        batch = [];
      }
    }
  }
  if (batch.length > 0) send(events, batch, failures);
  return failures;
}

function send(events: EventPublisher, batch: PreparedEvent[], failures: string[]): void {
  try {
    failures.push(...events.emitPrepared(batch, { msgIds: false }));
  } catch (err) {
    // A closed connection (only while stopping): reported like any event that could not be sent.
    failures.push(`${batch.length} events from ${batch[0]?.id}: ${(err as Error).message}`);
  }
}

/** What a task or worker id may hold (their schemas): nothing JSON would escape. */
const SAFE_ID = /^[A-Za-z0-9_.:-]+$/;

let lastTrace = '';
let lastTraceJson = '""';
/** Events of one batch mostly share their trace id: remember the last one's JSON. */
function traceJson(traceId: string | undefined): string {
  const trace = traceId ?? newTraceId();
  if (trace !== lastTrace) {
    lastTrace = trace;
    lastTraceJson = JSON.stringify(trace);
  }
  return lastTraceJson;
}

/**
 * The coord.task-updated event of a status op as JSON text, by template: ~3 of them per task make
 * this the hottest path of the event thread. Same text as serializeEvent(build(...)), which the
 * tests check on every event.
 */
function statusEvent(
  sourceJson: string,
  op: StatusOp,
  id: string,
  traceId: string | undefined,
): PreparedEvent {
  let data = `{"id":"${op.id}","from":"${op.from}","to":"${op.to}"`;
  if (op.reason !== undefined) data += `,"reason":${JSON.stringify(op.reason)}`;
  if (op.w !== undefined) data += `,"workerId":"${op.w}"`;
  if (op.a !== undefined) data += `,"attempt":${JSON.stringify(op.a)}`;
  return {
    type: 'coord.task-updated',
    id,
    json: `{"specversion":"1.0","id":"${id}","source":${sourceJson},"type":"coord.task-updated","time":"${isoTime(op.at)}","subject":"${op.id}","datacontenttype":"application/json","traceid":${traceJson(traceId)},"data":${data}}}`,
  };
}

/** The coord.task-created event of a new task by template (one per task), like statusEvent. */
function createdEvent(sourceJson: string, op: NewTaskOp, id: string): PreparedEvent {
  const time = isoTime(op.at);
  const reason = op.reason === undefined ? '' : `,"statusReason":${JSON.stringify(op.reason)}`;
  const task = `{"id":"${op.id}","title":${JSON.stringify(op.title)},"kind":${JSON.stringify(op.kind)},"priority":${JSON.stringify(op.prio)},"labels":${op.labels ? JSON.stringify(op.labels) : '[]'},"deps":${op.deps ? JSON.stringify(op.deps) : '[]'},"status":"${op.status}"${reason},"createdAt":"${time}","updatedAt":"${time}","attemptCount":0}`;
  return {
    type: 'coord.task-created',
    id,
    json: `{"specversion":"1.0","id":"${id}","source":${sourceJson},"type":"coord.task-created","time":"${time}","subject":"${op.id}","datacontenttype":"application/json","traceid":${traceJson(op.trace)},"data":{"task":${task}}}`,
  };
}

function genericEvent(
  events: EventPublisher,
  op: Op,
  id: string,
  traceId: string | undefined,
): PreparedEvent | undefined {
  const derived = eventFromOp(op);
  if (!derived) return undefined;
  // Built from committed (validated) ops: the schema check runs only in tests or on demand.
  const opts: PublishOptions = { id, time: derived.time, trusted: true };
  if (derived.subject !== undefined) opts.subject = derived.subject;
  if (traceId !== undefined) opts.traceId = traceId;
  return { type: derived.type, id, json: serializeEvent(events.build(derived.type, derived.data, opts)) };
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
    // The text when there is one: a string copy instead of cloning every op. Every other field
    // goes as it is (a field left out here once lost the re-send's start index).
    const message = parts.map(({ ops, ...rest }) => (rest.body ? rest : { ...rest, ops }));
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
