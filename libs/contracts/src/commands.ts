import { z } from 'zod';
import { ErrorBody } from './errors.js';
import { Actor, SettingKey, Settings, SettingsChanges, SettingsPatch } from './settings.js';
import { commandSubject } from './subjects.js';

/** A request/reply command: subject plus request and reply-data schemas. */
export interface Command<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  service: string;
  op: string;
  subject: string;
  request: Req;
  response: Res;
  description: string;
}

export function command<Req extends z.ZodType, Res extends z.ZodType>(
  service: string,
  op: string,
  request: Req,
  response: Res,
  description: string,
): Command<Req, Res> {
  return { service, op, subject: commandSubject(service, op), request, response, description };
}

/** The reply envelope of every command. */
export const ReplyEnvelope = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorBody }),
]);
export type ReplyEnvelope = z.infer<typeof ReplyEnvelope>;

export const HealthReply = z.object({
  service: z.string(),
  instance: z.string(),
  version: z.string(),
  uptimeSeconds: z.number(),
  status: z.enum(['ok', 'degraded']),
});
export type HealthReply = z.infer<typeof HealthReply>;

export const SettingsChangeResult = z
  .object({ changes: SettingsChanges, settings: Settings })
  .meta({ id: 'SettingsChangeResult' });
export type SettingsChangeResult = z.infer<typeof SettingsChangeResult>;

export const settingsCommands = {
  get: command(
    'settings',
    'get',
    z.object({}).strict(),
    z.object({ settings: Settings }),
    'Current value of every setting.',
  ),
  patch: command(
    'settings',
    'patch',
    z.object({ changes: SettingsPatch, actor: Actor, traceId: z.string().optional() }).strict(),
    SettingsChangeResult,
    'Change several settings at once; all are validated before any is written.',
  ),
  reset: command(
    'settings',
    'reset',
    z.object({ keys: z.array(SettingKey).optional(), actor: Actor, traceId: z.string().optional() }).strict(),
    SettingsChangeResult,
    'Reset the named settings (or all) to their defaults.',
  ),
} as const;

export const healthCommand = (service: string) =>
  command(service, 'health', z.object({}).strict(), HealthReply, `Liveness of the ${service} service.`);
