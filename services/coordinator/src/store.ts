import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { decodeJson, ensureStream, isNotFound, type KV, openKv, type StreamSpec } from '@jousting/bus';

/** KV buckets of the coordinator: its lifecycle state and the task templates. */
export const COORD_STATE_BUCKET = 'coord-state';
/** The leader lease: which coordinator instance may write the journal. */
export const COORD_LEADER_BUCKET = 'coord-leader';
export const COORD_TEMPLATES_BUCKET = 'coord-templates';
const LIFECYCLE_KEY = 'lifecycle';

import { STREAMS } from '@jousting/contracts';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { JOURNAL_EVENT_TYPES, type JournalPosition } from './events-from-ops.js';
import type { JournalPart, JournalTransport } from './journal.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);
const DAY_MS = 24 * 60 * 60 * 1000;

export const JOURNAL_SUBJECT = 'jst.coord.journal';
const SNAPSHOT_HEAD_SUBJECT = 'jst.coord.snapshot.head';
const snapshotDataSubject = (id: string) => `jst.coord.snapshot.data.${id}`;
const OUTPUT_PREFIX = 'jst.coord.output';

/** Output lines kept per task: this many messages (each holds the lines of one report). */
export const OUTPUT_MESSAGES_PER_TASK = 1000;

/** The coordinator's streams. Subjects live under `jst.coord.` so they never overlap EVENTS' `coord.>`. */
export const COORD_STREAMS = {
  // The journal: never aged out; snapshots make its old messages unnecessary and purge them.
  journal: { name: 'COORD_JOURNAL', subjects: [JOURNAL_SUBJECT], maxAgeMs: 0 },
  snapshots: { name: 'COORD_SNAPSHOTS', subjects: ['jst.coord.snapshot.>'], maxAgeMs: 0 },
  output: {
    name: 'COORD_OUTPUT',
    subjects: [`${OUTPUT_PREFIX}.>`],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 1024 ** 3,
    maxMsgsPerSubject: OUTPUT_MESSAGES_PER_TASK,
  },
} satisfies Record<string, StreamSpec>;

/** Task ids may hold `.` (a subject separator) and `_`; both are escaped to keep subjects one token. */
export const outputSubject = (taskId: string) =>
  `${OUTPUT_PREFIX}.${taskId.replace(/[_.]/g, (c) => (c === '_' ? '_5F' : '_2E'))}`;

export interface SnapshotHead {
  id: string;
  seq: number;
  at: number;
  count: number;
  bytes: number;
  chunks: number[];
}

export interface JournalMessage {
  seq: number;
  /** When JetStream stored it (ms). */
  time: number;
  part: JournalPart;
  body: string;
}

export interface OutputLineAt {
  at: string;
  stream: 'stdout' | 'stderr' | 'log';
  line: string;
}

interface OutputMessage {
  a: number;
  lines: OutputLineAt[];
}

const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** Chunks compressed at once (was 8): fewer threads competing with dispatch on small machines. */
const SNAPSHOT_PARALLEL = 2;
const OUTPUT_MESSAGE_BYTES = 256 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Owns the coordinator's streams: the journal, the snapshots and the task output. */
export class CoordinatorStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly state: KV,
    readonly templates: KV,
  ) {}

  static async open(js: JetStreamClient, jsm: JetStreamManager): Promise<CoordinatorStore> {
    for (const spec of Object.values(COORD_STREAMS)) await ensureStream(jsm, spec);
    const [state, templates] = await Promise.all([
      openKv(js, COORD_STATE_BUCKET, { description: 'Coordinator lifecycle (running, draining, paused)' }),
      openKv(js, COORD_TEMPLATES_BUCKET, { description: 'Task templates, one key per name' }),
    ]);
    return new CoordinatorStore(js, jsm, state, templates);
  }

  /** The lifecycle record stored at the last change, if any. */
  async readLifecycle(): Promise<unknown> {
    return decodeJson(await this.state.get(LIFECYCLE_KEY));
  }

  async writeLifecycle(record: unknown): Promise<void> {
    await this.state.put(LIFECYCLE_KEY, JSON.stringify(record));
  }

  // ------------------------------------------------------------ journal

  readonly journal: JournalTransport = {
    publish: async (body, msgId, expectLastSeq) => {
      const ack = await this.js.publish(JOURNAL_SUBJECT, body, {
        msgID: msgId,
        expect: { lastSequence: expectLastSeq },
        timeout: 5000,
      });
      return ack.seq;
    },
  };

  async journalBounds(): Promise<{ first: number; last: number; messages: number }> {
    const info = await this.jsm.streams.info(COORD_STREAMS.journal.name);
    return { first: info.state.first_seq, last: info.state.last_seq, messages: info.state.messages };
  }

  /** Reads journal messages with sequence ≥ `fromSeq` up to the last one stored now, in order. */
  async *readJournal(fromSeq: number): AsyncGenerator<JournalMessage> {
    const { last, messages } = await this.journalBounds();
    if (messages === 0 || last < fromSeq) return;
    const consumer = await this.js.consumers.get(COORD_STREAMS.journal.name, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSeq),
    });
    const iter = await consumer.consume({ max_messages: 256 });
    try {
      for await (const msg of iter) {
        const body = decoder.decode(msg.data);
        yield { seq: msg.seq, time: msg.time.getTime(), part: JSON.parse(body) as JournalPart, body };
        if (msg.seq >= last) break;
      }
    } finally {
      await iter.close();
    }
  }

  /** Removes journal messages with a sequence ≤ `seq`. */
  async purgeJournal(seq: number): Promise<number> {
    if (seq <= 0) return 0;
    const r = await this.jsm.streams.purge(COORD_STREAMS.journal.name, { seq: seq + 1 });
    return r.purged;
  }

  // ------------------------------------------------------------ snapshots

  /** Stores a snapshot (gzip chunks, then the head that names them) and drops older ones. */
  async writeSnapshot(
    content: string | { pieces: Uint8Array[]; bytes: number },
    seq: number,
    count: number,
  ): Promise<SnapshotHead> {
    const id = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    // Pieces (already encoded, each ≤ SNAPSHOT_CHUNK_BYTES) are stored as they are: the reader
    // only concatenates chunks, so their boundaries do not matter.
    let slices: Uint8Array[];
    let total: number;
    if (typeof content === 'string') {
      const bytes = encoder.encode(content);
      slices = [];
      for (let at = 0; at < bytes.length || at === 0; at += SNAPSHOT_CHUNK_BYTES) {
        slices.push(bytes.subarray(at, at + SNAPSHOT_CHUNK_BYTES));
        if (bytes.length === 0) break;
      }
      total = bytes.length;
    } else {
      slices = content.pieces.length > 0 ? content.pieces : [new Uint8Array()];
      total = content.bytes;
    }
    const chunks: number[] = [];
    for (let i = 0; i < slices.length; i += SNAPSHOT_PARALLEL) {
      const group = slices.slice(i, i + SNAPSHOT_PARALLEL);
      const acks = await Promise.all(
        group.map(async (slice) => this.js.publish(snapshotDataSubject(id), await gzip(slice, { level: 1 }))),
      );
      chunks.push(...acks.map((a) => a.seq));
    }
    const head: SnapshotHead = { id, seq, at: Date.now(), count, bytes: total, chunks };
    await this.js.publish(SNAPSHOT_HEAD_SUBJECT, JSON.stringify(head));
    await this.jsm.streams.purge(COORD_STREAMS.snapshots.name, { filter: SNAPSHOT_HEAD_SUBJECT, keep: 1 });
    // Chunks are compressed in parallel, so their sequences are not in chunk order.
    const oldest = Math.min(...chunks);
    // nats-server 2.9 treats seq 1 as "no sequence" and would purge every chunk: nothing is older anyway.
    if (oldest > 1) {
      await this.jsm.streams.purge(COORD_STREAMS.snapshots.name, {
        filter: 'jst.coord.snapshot.data.>',
        seq: oldest,
      });
    }
    return head;
  }

  /** The newest snapshot's head and text, or undefined when none was taken. */
  async readSnapshot(): Promise<{ head: SnapshotHead; text: string } | undefined> {
    const headMsg = await this.lastBySubject(COORD_STREAMS.snapshots.name, SNAPSHOT_HEAD_SUBJECT);
    if (!headMsg) return undefined;
    const head = headMsg.json<SnapshotHead>();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < head.chunks.length; i += 16) {
      const got = await Promise.all(
        head.chunks.slice(i, i + 16).map(async (seq) => {
          const msg = await this.jsm.streams.getMessage(COORD_STREAMS.snapshots.name, { seq });
          if (!msg) throw new Error(`snapshot ${head.id} lost its chunk ${seq}`);
          return gunzip(msg.data);
        }),
      );
      parts.push(...got);
    }
    const all = Buffer.concat(parts);
    if (all.length !== head.bytes)
      throw new Error(`snapshot ${head.id} is ${all.length} bytes, expected ${head.bytes}`);
    return { head, text: all.toString('utf8') };
  }

  // ------------------------------------------------------------ events

  /**
   * The journal position (`coord-<seq>-<index>`) of the newest journal event stored in EVENTS,
   * if any: the last message of each journal event subject, the greatest position of them. The
   * events of the journal are sent in order on one connection, so everything before it is stored.
   * Throws when EVENTS cannot be read: guessing would re-send events twice or lose them.
   */
  async lastAnnouncedEvent(): Promise<JournalPosition | undefined> {
    const newest = await Promise.all(
      JOURNAL_EVENT_TYPES.map((subject) => this.lastBySubject(STREAMS.events.name, subject)),
    );
    let last: JournalPosition | undefined;
    for (const msg of newest) {
      const id = msg?.json<{ id?: unknown }>().id;
      const match = typeof id === 'string' ? /^coord-(\d+)-(\d+)$/.exec(id) : null;
      if (!match) continue;
      const at = { seq: Number(match[1]), index: Number(match[2]) };
      if (!last || at.seq > last.seq || (at.seq === last.seq && at.index > last.index)) last = at;
    }
    return last;
  }

  /** The newest message on `subject`, or null when there is none; other errors are thrown. */
  private lastBySubject(stream: string, subject: string) {
    return this.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch((err: unknown) => {
      if (isNotFound(err) || /no message/i.test(String(err))) return null;
      throw err;
    });
  }

  // ------------------------------------------------------------ output

  /** Stores output lines of a task (pipelined); resolves with the stored messages' sequences and lines. */
  async appendOutput(
    taskId: string,
    attempt: number,
    lines: OutputLineAt[],
  ): Promise<Array<{ seq: number; lines: OutputLineAt[] }>> {
    const messages: OutputLineAt[][] = [];
    let current: OutputLineAt[] = [];
    let bytes = 0;
    for (const line of lines) {
      const size = line.line.length + 64;
      if (current.length > 0 && bytes + size > OUTPUT_MESSAGE_BYTES) {
        messages.push(current);
        current = [];
        bytes = 0;
      }
      current.push(line);
      bytes += size;
    }
    if (current.length) messages.push(current);
    const subject = outputSubject(taskId);
    return Promise.all(
      messages.map(async (chunk) => {
        const body: OutputMessage = { a: attempt, lines: chunk };
        const ack = await this.js.publish(subject, JSON.stringify(body));
        return { seq: ack.seq, lines: chunk };
      }),
    );
  }

  /** The newest `limit` output lines of a task. */
  async readOutput(taskId: string, limit: number): Promise<OutputLineAt[]> {
    const subject = outputSubject(taskId);
    const info = await this.jsm.streams.info(COORD_STREAMS.output.name, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    const consumer = await this.js.consumers.get(COORD_STREAMS.output.name, { filter_subjects: subject });
    const iter = await consumer.fetch({ max_messages: count, expires: 2000 });
    const lines: OutputLineAt[] = [];
    for await (const msg of iter) {
      lines.push(...(JSON.parse(decoder.decode(msg.data)) as OutputMessage).lines);
      if (lines.length > limit * 2) lines.splice(0, lines.length - limit);
    }
    return lines.slice(-limit);
  }
}
