import { JoustingError } from '@jousting/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm, type KvOptions } from '@nats-io/kv';

export type { KV, KvEntry };

export interface KvBucketOptions {
  history?: number;
  /** Entries older than this are removed by the server (sessions, leases). */
  maxAgeMs?: number;
  replicas?: number;
  description?: string;
}

/** Opens a KV bucket, creating it on first use. */
export async function openKv(js: JetStreamClient, bucket: string, opts: KvBucketOptions = {}): Promise<KV> {
  const options: Partial<KvOptions> = {
    history: opts.history ?? 1,
    replicas: opts.replicas ?? 1,
    ...(opts.maxAgeMs ? { ttl: opts.maxAgeMs } : {}),
    ...(opts.description ? { description: opts.description } : {}),
  };
  return new Kvm(js).create(bucket, options);
}

const decoder = new TextDecoder();

/** The JSON value of an entry, or undefined for a missing, deleted or non-JSON entry. */
export function decodeJson(entry: KvEntry | null): unknown {
  if (entry?.operation !== 'PUT') return undefined;
  try {
    return JSON.parse(decoder.decode(entry.value));
  } catch {
    return undefined;
  }
}

export const encodeJson = (value: unknown) => JSON.stringify(value);

/**
 * Compare-and-set: reads the key, applies `change` and writes only if nobody wrote in between;
 * on a conflict it reads again and retries. `change` returning undefined leaves the key alone.
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  change: (current: T | undefined) => T | undefined,
  opts: { attempts?: number; decode?: (raw: unknown) => T | undefined } = {},
): Promise<{ value: T | undefined; revision: number; changed: boolean }> {
  const attempts = opts.attempts ?? 10;
  const decode = opts.decode ?? ((raw: unknown) => raw as T | undefined);
  for (let attempt = 0; attempt < attempts; attempt++) {
    const entry = await kv.get(key);
    const exists = entry !== null && entry.operation === 'PUT';
    const current = exists ? decode(decodeJson(entry)) : undefined;
    const next = change(current);
    if (next === undefined) return { value: current, revision: entry?.revision ?? 0, changed: false };
    try {
      const revision =
        entry === null
          ? await kv.create(key, encodeJson(next))
          : await kv.update(key, encodeJson(next), entry.revision);
      return { value: next, revision, changed: true };
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
    }
  }
  throw new JoustingError('conflict', `key ${key} kept changing; gave up after ${attempts} attempts`);
}

export function isWrongRevision(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|10071|key exists|10164/i.test(text);
}
