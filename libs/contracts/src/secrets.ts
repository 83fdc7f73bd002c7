import { z } from 'zod';
import { command } from './commands.js';
import { Actor } from './settings.js';

/**
 * The secrets vault of the settings service: values encrypted at rest (AES-256-GCM), listed by
 * name and metadata only. Values travel only in `secret-put` requests and `secret-reveal`
 * replies; never in events, audit entries, logs or error messages.
 */
export const SECRET_NAME_RE = /^[A-Za-z0-9_]{1,64}$/;
export const SecretName = z
  .string()
  .regex(SECRET_NAME_RE, 'letters, digits and "_" only, 1 to 64 characters')
  .describe('Name of a secret, e.g. "SLACK_WEBHOOK_TOKEN"');
export type SecretName = z.infer<typeof SecretName>;

export const MAX_SECRET_VALUE = 65_536;
export const SecretValue = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_SECRET_VALUE, `at most ${MAX_SECRET_VALUE} characters`)
  .describe('The secret itself; stored encrypted, shown only by an audited reveal');
export const SecretDescription = z.string().max(500).describe('What the secret is for');

export const SecretMeta = z
  .object({
    name: SecretName,
    description: SecretDescription.optional(),
    version: z.number().int().min(1).describe('1 for the first put, +1 for every later put'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    createdBy: Actor,
    updatedBy: Actor,
  })
  .meta({ id: 'SecretMeta', description: 'A secret without its value.' });
export type SecretMeta = z.infer<typeof SecretMeta>;

export const RevealedSecret = z
  .object({ name: SecretName, value: z.string(), version: z.number().int().min(1) })
  .meta({ id: 'RevealedSecret' });
export type RevealedSecret = z.infer<typeof RevealedSecret>;

export const DeletedSecret = z
  .object({ name: SecretName, deleted: z.literal(true) })
  .meta({ id: 'DeletedSecret' });

export const secretCommands = {
  list: command(
    'settings',
    'secret-list',
    z.object({}).strict(),
    z.object({ items: z.array(SecretMeta) }),
    'Every secret by name with its metadata, never the values.',
  ),
  put: command(
    'settings',
    'secret-put',
    z
      .object({
        name: SecretName,
        value: SecretValue,
        description: SecretDescription.optional(),
        actor: Actor,
        traceId: z.string().optional(),
      })
      .strict(),
    SecretMeta,
    'Create or replace a secret (the version goes up by one); answers with its metadata only. An omitted description keeps the current one.',
  ),
  reveal: command(
    'settings',
    'secret-reveal',
    z.object({ name: SecretName, actor: Actor, traceId: z.string().optional() }).strict(),
    RevealedSecret,
    'The decrypted value of a secret; every reveal is audited (audit.settings.secret-revealed).',
  ),
  delete: command(
    'settings',
    'secret-delete',
    z.object({ name: SecretName, actor: Actor, traceId: z.string().optional() }).strict(),
    DeletedSecret,
    'Delete a secret; its encrypted value is purged from the bucket.',
  ),
} as const;

/** Events of the vault: names and metadata only, never a value. */
export const SECRET_EVENT_DATA = {
  'settings.secret-put': z
    .object({ name: SecretName, version: z.number().int().min(1), actor: Actor })
    .meta({ id: 'SecretPutData', description: 'A secret was created or replaced (value not included).' }),
  'settings.secret-deleted': z
    .object({ name: SecretName, actor: Actor })
    .meta({ id: 'SecretDeletedData', description: 'A secret was deleted.' }),
} as const;
