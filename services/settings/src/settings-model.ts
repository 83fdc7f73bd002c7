import {
  DEFAULT_SETTINGS,
  parseSettingValue,
  SETTING_KEYS,
  type SettingKey,
  type Settings,
  type SettingsChanges,
  type SettingsPatch,
} from '@jousting/contracts';

/** The fields of `patch` whose value differs from `current`, as `{ field: { from, to } }`. */
export function diffSettings(current: Settings, patch: SettingsPatch): SettingsChanges {
  const changes: SettingsChanges = {};
  for (const key of SETTING_KEYS) {
    if (!(key in patch) || patch[key] === undefined) continue;
    if (!sameValue(current[key], patch[key])) changes[key] = { from: current[key], to: patch[key] };
  }
  return changes;
}

/** A patch that puts the named settings (all when none are named) back to their defaults. */
export function resetPatch(keys?: readonly SettingKey[]): SettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const key of keys ?? SETTING_KEYS) patch[key] = DEFAULT_SETTINGS[key];
  return patch as SettingsPatch;
}

export function applyChanges(current: Settings, changes: SettingsChanges): Settings {
  const next: Record<string, unknown> = { ...current };
  for (const [key, change] of Object.entries(changes)) next[key] = change?.to;
  return next as Settings;
}

export function isSettingKey(key: string): key is SettingKey {
  return (SETTING_KEYS as string[]).includes(key);
}

export type ExternalWrite =
  | { kind: 'unchanged' }
  | { kind: 'changed'; value: unknown }
  | { kind: 'rejected'; value: unknown; reason: string }
  | { kind: 'deleted' };

/** Judges a value someone wrote straight into the bucket, given the raw bytes as text. */
export function judgeExternalWrite(key: SettingKey, current: Settings, raw: string | null): ExternalWrite {
  if (raw === null) return { kind: 'deleted' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: 'rejected', value: raw, reason: 'not valid JSON' };
  }
  const parsed = parseSettingValue(key, value);
  if (!parsed.ok) return { kind: 'rejected', value, reason: parsed.reason };
  return sameValue(parsed.value, current[key])
    ? { kind: 'unchanged' }
    : { kind: 'changed', value: parsed.value };
}

// Setting values are JSON scalars today; JSON equality keeps this right if objects arrive.
export const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
