import { isWrongRevision, type KV, type KvEntry, openKv } from '@jousting/bus';
import { SETTING_KEYS, type SettingKey } from '@jousting/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';

export const SETTINGS_BUCKET = 'settings';
const decoder = new TextDecoder();

export interface StoredSetting {
  key: SettingKey;
  /** The raw text stored, or null when the key is missing or deleted. */
  raw: string | null;
  revision: number;
}

/** Owns the `settings` KV bucket: one key per setting, the value JSON-encoded. */
export class SettingsStore {
  private constructor(private readonly kv: KV) {}

  static async open(js: JetStreamClient): Promise<SettingsStore> {
    // History lets an invalid value found at start be replaced by the last valid one.
    const kv = await openKv(js, SETTINGS_BUCKET, {
      history: 10,
      description: 'Jousting settings, one key per setting',
    });
    return new SettingsStore(kv);
  }

  /** The stream position before a read; watching from after it misses nothing written later. */
  async lastRevision(): Promise<number> {
    const status = await this.kv.status();
    return status.streamInfo.state.last_seq;
  }

  async readAll(): Promise<StoredSetting[]> {
    return Promise.all(
      SETTING_KEYS.map(async (key) => {
        const entry = await this.kv.get(key);
        return toStored(key, entry);
      }),
    );
  }

  /** Earlier values of a key, newest first. */
  async history(key: SettingKey): Promise<string[]> {
    const values: string[] = [];
    const iter = await this.kv.history({ key });
    for await (const entry of iter) if (entry.operation === 'PUT') values.push(decoder.decode(entry.value));
    return values.reverse();
  }

  /** Writes several keys pipelined; reports each key's outcome so a partial failure is visible. */
  async putMany(values: Array<[SettingKey, unknown]>) {
    return Promise.allSettled(values.map(([key, value]) => this.kv.put(key, JSON.stringify(value))));
  }

  /** Writes `value` only if the key is still at `revision`; false if someone wrote in between. */
  async putIfUnchanged(key: SettingKey, value: unknown, revision: number): Promise<boolean> {
    try {
      await this.kv.update(key, JSON.stringify(value), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** Every write to a setting key after `afterRevision`, in order. */
  async watch(afterRevision: number, onWrite: (write: StoredSetting) => Promise<void>) {
    const iter = await this.kv.watch({ resumeFromRevision: afterRevision + 1 });
    const done = (async () => {
      for await (const entry of iter) {
        if (!(SETTING_KEYS as string[]).includes(entry.key)) continue;
        await onWrite(toStored(entry.key as SettingKey, entry));
      }
    })();
    return {
      stop: async () => {
        iter.stop();
        await done;
      },
    };
  }
}

function toStored(key: SettingKey, entry: KvEntry | null): StoredSetting {
  if (entry?.operation !== 'PUT') return { key, raw: null, revision: entry?.revision ?? 0 };
  return { key, raw: decoder.decode(entry.value), revision: entry.revision };
}
