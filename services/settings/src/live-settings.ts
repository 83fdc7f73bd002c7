import { type AuditWriter, type EventPublisher, type Logger, SerialQueue } from '@jousting/bus';
import {
  DEFAULT_SETTINGS,
  JoustingError,
  type SettingKey,
  type Settings,
  type SettingsChangeResult,
  type SettingsChanges,
  type SettingsPatch,
} from '@jousting/contracts';
import { applyChanges, diffSettings, judgeExternalWrite, resetPatch } from './settings-model.js';
import type { SettingsStore, StoredSetting } from './settings-store.js';

export const EXTERNAL_ACTOR = 'external';

export interface LiveSettingsDeps {
  store: SettingsStore;
  events: EventPublisher;
  audit: AuditWriter;
  logger: Logger;
}

/**
 * The current settings, kept in memory and in the bucket. Commands and watched bucket writes go
 * through one queue, so a write this service made is told apart from someone else's.
 */
export class LiveSettings {
  private current: Settings = { ...DEFAULT_SETTINGS };
  /** JSON texts this service wrote that the watcher has not delivered yet, per key. */
  private readonly ownWrites = new Map<SettingKey, string[]>();
  private readonly queue = new SerialQueue();
  private watcher: { stop(): Promise<void> } | undefined;

  private constructor(private readonly deps: LiveSettingsDeps) {}

  /** Loads the bucket, seeds missing keys, repairs invalid values, then follows every write. */
  static async start(deps: LiveSettingsDeps): Promise<LiveSettings> {
    const live = new LiveSettings(deps);
    const before = await deps.store.lastRevision();
    const stored = await deps.store.readAll();
    const repairs: Array<[SettingKey, unknown]> = [];
    const rejected: Array<{ stored: StoredSetting; value: unknown; reason: string; restored: unknown }> = [];
    const values: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const s of stored) {
      const verdict = judgeExternalWrite(s.key, DEFAULT_SETTINGS, s.raw);
      if (verdict.kind === 'deleted') repairs.push([s.key, DEFAULT_SETTINGS[s.key]]);
      else if (verdict.kind === 'changed') values[s.key] = verdict.value;
      else if (verdict.kind === 'rejected') {
        const restored = await live.lastValidValue(s.key);
        values[s.key] = restored;
        repairs.push([s.key, restored]);
        rejected.push({ stored: s, value: verdict.value, reason: verdict.reason, restored });
      }
    }
    live.current = values as Settings;
    await live.write(repairs);
    for (const r of rejected) await live.announceRejected(r.stored, r.value, r.reason, r.restored);
    live.watcher = await deps.store.watch(before, (write) => live.queue.run(() => live.onStoredWrite(write)));
    deps.logger.info(
      { seeded: repairs.length - rejected.length, repaired: rejected.length },
      'settings loaded',
    );
    return live;
  }

  snapshot(): Settings {
    return { ...this.current };
  }

  patch(patch: SettingsPatch, actor: string, traceId?: string): Promise<SettingsChangeResult> {
    return this.queue.run(async () => {
      const changes = diffSettings(this.current, patch);
      const keys = Object.keys(changes) as SettingKey[];
      if (keys.length === 0) return { changes: {}, settings: this.snapshot() };
      const failed = await this.write(keys.map((k) => [k, changes[k]?.to]));
      const applied: SettingsChanges = {};
      for (const key of keys) if (!failed.includes(key)) applied[key] = changes[key];
      if (Object.keys(applied).length) await this.announceChanged(applied, actor, { traceId });
      if (failed.length) {
        const saved = Object.keys(applied);
        throw new JoustingError(
          'unavailable',
          `could not store ${failed.join(', ')}${saved.length ? `; ${saved.join(', ')} saved` : '; nothing saved'}`,
        );
      }
      return { changes: applied, settings: this.snapshot() };
    });
  }

  reset(
    keys: readonly SettingKey[] | undefined,
    actor: string,
    traceId?: string,
  ): Promise<SettingsChangeResult> {
    return this.patch(resetPatch(keys), actor, traceId);
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
    await this.queue.idle();
  }

  /** Writes values and remembers them as our own; returns the keys that could not be written. */
  private async write(values: Array<[SettingKey, unknown]>): Promise<SettingKey[]> {
    for (const [key, value] of values) this.rememberOwnWrite(key, JSON.stringify(value));
    const results = await this.deps.store.putMany(values);
    const failed: SettingKey[] = [];
    results.forEach((result, i) => {
      const [key, value] = values[i]!;
      if (result.status === 'rejected') {
        this.forgetOwnWrite(key, JSON.stringify(value));
        this.deps.logger.error({ err: result.reason, key }, 'could not store setting');
        failed.push(key);
      }
    });
    return failed;
  }

  private async onStoredWrite(write: StoredSetting): Promise<void> {
    if (write.raw !== null && this.forgetOwnWrite(write.key, write.raw)) return;
    const verdict = judgeExternalWrite(write.key, this.current, write.raw);
    const id = `${write.key}-${write.revision}`;
    switch (verdict.kind) {
      case 'unchanged':
        return;
      case 'changed':
        await this.announceChanged(
          { [write.key]: { from: this.current[write.key], to: verdict.value } },
          EXTERNAL_ACTOR,
          {
            id: `settings-changed-${id}`,
          },
        );
        return;
      case 'deleted': {
        // A deleted key means "back to the default": write it back so the bucket stays complete.
        const to = DEFAULT_SETTINGS[write.key];
        await this.restore(write, to);
        if (JSON.stringify(this.current[write.key]) !== JSON.stringify(to)) {
          await this.announceChanged({ [write.key]: { from: this.current[write.key], to } }, EXTERNAL_ACTOR, {
            id: `settings-changed-${id}`,
          });
        }
        return;
      }
      case 'rejected': {
        const restored = this.current[write.key];
        await this.restore(write, restored);
        await this.announceRejected(write, verdict.value, verdict.reason, restored);
        return;
      }
    }
  }

  /** Puts `value` back unless someone wrote again meanwhile (their newer write gets judged next). */
  private async restore(write: StoredSetting, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    this.rememberOwnWrite(write.key, text);
    const restored = await this.deps.store
      .putIfUnchanged(write.key, value, write.revision)
      .catch((err: unknown) => {
        this.deps.logger.error({ err, key: write.key }, 'could not restore setting');
        return false;
      });
    if (!restored) this.forgetOwnWrite(write.key, text);
  }

  private async announceChanged(
    changes: SettingsChanges,
    actor: string,
    opts: { id?: string; traceId?: string },
  ) {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const [key, change] of Object.entries(changes)) {
      before[key] = change?.from;
      after[key] = change?.to;
    }
    this.current = applyChanges(this.current, changes);
    this.deps.logger.info({ actor, changes }, 'settings changed');
    await this.publishSafely(() =>
      Promise.all([
        this.deps.events.publish(
          'settings.changed',
          { changes, settings: this.snapshot(), actor },
          { subject: Object.keys(changes).join(','), ...opts },
        ),
        this.deps.audit.record({
          actor,
          domain: 'settings',
          action: 'changed',
          target: Object.keys(changes).join(','),
          before,
          after,
          ...(opts.traceId ? { traceid: opts.traceId } : {}),
        }),
      ]),
    );
  }

  private async announceRejected(write: StoredSetting, value: unknown, reason: string, restored: unknown) {
    this.deps.logger.warn(
      { key: write.key, reason },
      'refused an invalid value written to the bucket; restored the last valid one',
    );
    await this.publishSafely(() =>
      Promise.all([
        this.deps.events.publish(
          'settings.rejected',
          { field: write.key, value, reason, restored, actor: EXTERNAL_ACTOR },
          { subject: write.key, id: `settings-rejected-${write.key}-${write.revision}` },
        ),
        this.deps.audit.record({
          actor: EXTERNAL_ACTOR,
          domain: 'settings',
          action: 'rejected',
          target: write.key,
          before: { [write.key]: value },
          after: { [write.key]: restored },
        }),
      ]),
    );
  }

  /** Event and audit writes are retried briefly: the change itself is already stored. */
  private async publishSafely(publish: () => Promise<unknown>) {
    for (let attempt = 1; ; attempt++) {
      try {
        await publish();
        return;
      } catch (err) {
        if (attempt >= 3) {
          this.deps.logger.error({ err }, 'could not publish a settings event after 3 attempts');
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  private async lastValidValue(key: SettingKey): Promise<unknown> {
    for (const raw of await this.deps.store.history(key)) {
      const verdict = judgeExternalWrite(key, DEFAULT_SETTINGS, raw);
      if (verdict.kind === 'changed') return verdict.value;
      if (verdict.kind === 'unchanged') return DEFAULT_SETTINGS[key];
    }
    return DEFAULT_SETTINGS[key];
  }

  private rememberOwnWrite(key: SettingKey, text: string) {
    const list = this.ownWrites.get(key) ?? [];
    list.push(text);
    this.ownWrites.set(key, list);
  }

  private forgetOwnWrite(key: SettingKey, text: string): boolean {
    const list = this.ownWrites.get(key);
    const index = list?.indexOf(text) ?? -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    return true;
  }
}
