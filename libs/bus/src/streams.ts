import { STREAMS } from '@jousting/contracts';
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  maxAgeMs: number;
  maxBytes?: number;
  duplicateWindowMs?: number;
  /** Keep only the newest N messages per subject (e.g. bounded output per task). */
  maxMsgsPerSubject?: number;
}

/** The shared streams every service may publish into; created by whichever service starts first. */
export const SHARED_STREAMS: StreamSpec[] = [
  // Events are kept long enough for a gateway client or webhook consumer to catch up after a day off.
  {
    name: STREAMS.events.name,
    subjects: STREAMS.events.subjects,
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 1024 ** 3,
    duplicateWindowMs: 120_000,
  },
  {
    name: STREAMS.audit.name,
    subjects: STREAMS.audit.subjects,
    maxAgeMs: 90 * DAY_MS,
    maxBytes: 1024 ** 3,
    duplicateWindowMs: 120_000,
  },
];

/**
 * Creates the stream, or adds subjects it lacks. Only options that nats-server 2.9 understands
 * are set (no metadata, no compression).
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, replicas = 1): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.streams.info(spec.name).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (!info) {
        await jsm.streams.add({
          name: spec.name,
          subjects: [...spec.subjects],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age: nanos(spec.maxAgeMs),
          max_bytes: spec.maxBytes ?? -1,
          duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
          ...(spec.maxMsgsPerSubject ? { max_msgs_per_subject: spec.maxMsgsPerSubject } : {}),
          num_replicas: replicas,
        });
        return;
      }
      const missing = spec.subjects.filter((s) => !info.config.subjects?.includes(s));
      if (missing.length) {
        await jsm.streams.update(spec.name, { subjects: [...(info.config.subjects ?? []), ...missing] });
      }
      return;
    } catch (err) {
      // Two services starting together may race to create the same stream; look again.
      if (attempt < 3) continue;
      throw err;
    }
  }
}

export function isNotFound(err: unknown): boolean {
  const text =
    err instanceof Error ? `${err.message} ${String((err as { code?: unknown }).code ?? '')}` : String(err);
  return /not found|10059|404/i.test(text);
}
