import { z } from 'zod';

/**
 * Every setting with its type, default, allowed range and description. One key per setting in
 * the `settings` KV bucket, value JSON-encoded. The JSON Schema of `Settings` drives the UI form.
 */
export const SETTINGS_SHAPE = {
  coordMaxRequestsPerMinute: z.number().int().min(1).max(1000).default(60).meta({
    title: 'Max requests per minute',
    group: 'coordinator',
    description: 'Requests per minute the coordinator grants across all workers.',
  }),
  coordMaxTokensPerMinute: z.number().int().min(1000).max(10_000_000).default(100_000).meta({
    title: 'Max tokens per minute',
    group: 'coordinator',
    description: 'Model tokens per minute the coordinator grants across all workers.',
  }),
  coordGlobalBudgetUsd: z.number().min(0).max(1000).default(50).meta({
    title: 'Global budget (USD)',
    group: 'coordinator',
    description: 'Total spend after which the coordinator stops dispatching.',
  }),
  coordPerWorkerBudgetUsd: z.number().min(0).max(100).default(10).meta({
    title: 'Per-worker budget (USD)',
    group: 'coordinator',
    description: 'Spend after which a worker gets no more tasks.',
  }),
  maxTaskRetries: z.number().int().min(0).max(20).default(3).meta({
    title: 'Max task retries',
    group: 'coordinator',
    description: 'Failed attempts before a task is dead-lettered.',
  }),
  staleTaskMinutes: z.number().int().min(0).max(1440).default(30).meta({
    title: 'Stale task minutes',
    group: 'coordinator',
    description: 'Minutes without heartbeat before a running task is blocked; 0 turns this off.',
  }),
  model: z
    .enum(['haiku', 'sonnet', 'opus'])
    .default('sonnet')
    .meta({ title: 'Model', group: 'agent', description: 'Model used by agent sessions.' }),
  maxTurns: z.number().int().min(1).max(200).default(30).meta({
    title: 'Max turns',
    group: 'agent',
    description: 'Turns an agent session may take before it hands off.',
  }),
  maxContinuations: z.number().int().min(1).max(20).default(5).meta({
    title: 'Max continuations',
    group: 'agent',
    description: 'Handoffs an agent task may chain through.',
  }),
  maxBudgetUsd: z.number().min(0).max(100).default(5).meta({
    title: 'Max budget per session (USD)',
    group: 'agent',
    description: 'Spend limit of one agent session.',
  }),
  autoPush: z.boolean().default(false).meta({
    title: 'Auto push',
    group: 'agent',
    description: 'Push an agent session\u2019s commits when it completes.',
  }),
  webhookAllowPrivateUrls: z.boolean().default(false).meta({
    title: 'Allow private webhook URLs',
    group: 'notifier',
    description:
      'Let webhooks reach loopback, private, link-local and metadata addresses. Off by default: a webhook URL must not become a way into the internal network.',
  }),
  webhookDisableAfterHours: z.number().int().min(1).max(720).default(72).meta({
    title: 'Disable failing webhooks after (hours)',
    group: 'notifier',
    description: 'An endpoint whose every attempt failed for this long is switched off.',
  }),
};

const SettingsObject = z.object(SETTINGS_SHAPE).strict();
export const Settings = SettingsObject.meta({ id: 'Settings' });
export type Settings = z.infer<typeof Settings>;
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(SETTINGS_SHAPE) as SettingKey[];
export const SettingKey = z.enum(SETTING_KEYS as [SettingKey, ...SettingKey[]]);

export const DEFAULT_SETTINGS: Settings = Settings.parse({});

/** A partial update: every field optional, no defaults applied, unknown fields refused. */
export const SettingsPatch = z
  .object(
    Object.fromEntries(
      Object.entries(SETTINGS_SHAPE).map(([k, s]) => [k, s.removeDefault().optional()]),
    ) as unknown as { [K in SettingKey]: z.ZodOptional<z.ZodType<Settings[K]>> },
  )
  .strict()
  .meta({ id: 'SettingsPatch' });
export type SettingsPatch = Partial<Settings>;

/** Validates one setting's value on its own, e.g. a value someone put straight into KV. */
export function parseSettingValue<K extends SettingKey>(
  key: K,
  value: unknown,
): { ok: true; value: Settings[K] } | { ok: false; reason: string } {
  const result = SETTINGS_SHAPE[key].removeDefault().safeParse(value);
  if (result.success) return { ok: true, value: result.data as Settings[K] };
  return { ok: false, reason: result.error.issues.map((i) => i.message).join('; ') };
}

export const SettingChange = z.object({ from: z.unknown(), to: z.unknown() });
export const SettingsChanges = z.record(z.string(), SettingChange).meta({ id: 'SettingsChanges' });
export type SettingsChanges = Partial<Record<SettingKey, { from: unknown; to: unknown }>>;

/** Who made a change: `external` for a direct KV edit, `token:<name>` for an API caller. */
export const Actor = z.string().min(1).max(200);

/** JSON Schema (2020-12) of the settings, with titles, groups, ranges and defaults. */
export function settingsJsonSchema() {
  // The unregistered object, so the schema is inline rather than a $ref to a component.
  return z.toJSONSchema(SettingsObject, { io: 'input', target: 'draft-2020-12' });
}
