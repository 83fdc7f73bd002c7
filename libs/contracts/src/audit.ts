import { z } from 'zod';
import { Actor } from './settings.js';

/** One entry of the AUDIT stream, published on `audit.<domain>.<action>`. */
export const AuditEntry = z
  .object({
    id: z.string(),
    time: z.iso.datetime(),
    actor: Actor,
    domain: z.string(),
    action: z.string(),
    target: z.string(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    traceid: z.string().optional(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;
