import { z } from 'zod';
import { COORD_EVENT_DATA } from './coordinator.js';
import { NOTIFY_EVENT_DATA } from './notify.js';
import { SECRET_EVENT_DATA } from './secrets.js';
import { Actor, Settings, SettingsChanges } from './settings.js';

/** Data schemas of every event type. The key is the CloudEvent type and the NATS subject. */
export const EVENT_DATA = {
  'settings.changed': z.object({ changes: SettingsChanges, settings: Settings, actor: Actor }).meta({
    id: 'SettingsChangedData',
    description: 'One or more settings changed; published once per real change.',
  }),
  'settings.rejected': z
    .object({
      field: z.string(),
      value: z.unknown().describe('The refused value as it was written to KV'),
      reason: z.string(),
      restored: z.unknown().describe('The last valid value, written back'),
      actor: Actor,
    })
    .meta({
      id: 'SettingsRejectedData',
      description: 'An invalid value written straight into KV was refused and the last valid value restored.',
    }),
  ...SECRET_EVENT_DATA,
  ...COORD_EVENT_DATA,
  ...NOTIFY_EVENT_DATA,
} as const;

export type EventType = keyof typeof EVENT_DATA;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA)[T]>;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];
