import {
  type AuditWriter,
  casUpdate,
  decodeJson,
  type EventPublisher,
  type KV,
  type Logger,
  openKv,
} from '@jousting/bus';
import {
  Actor,
  JoustingError,
  type RevealedSecret,
  SecretMeta,
  SecretName,
  type secretCommands,
} from '@jousting/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { z } from 'zod';
import { CIPHER, keyIdOf, open, seal } from './vault-crypto.js';
import type { MasterKey } from './vault-key.js';

export const SECRETS_BUCKET = 'secrets';

/** One secret as stored under its name in the `secrets` bucket: metadata plus the sealed value. */
const StoredSecret = z.object({
  format: z.literal(1),
  name: SecretName,
  description: z.string().optional(),
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  createdBy: Actor,
  updatedBy: Actor,
  sealed: z.object({
    alg: z.literal(CIPHER),
    keyId: z.string(),
    iv: z.string(),
    tag: z.string(),
    ciphertext: z.string(),
  }),
});
type StoredSecret = z.infer<typeof StoredSecret>;

type PutRequest = z.infer<(typeof secretCommands)['put']['request']>;
type NameRequest = z.infer<(typeof secretCommands)['reveal']['request']>;

const metaOf = (s: StoredSecret): SecretMeta =>
  SecretMeta.parse({
    name: s.name,
    ...(s.description === undefined ? {} : { description: s.description }),
    version: s.version,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    createdBy: s.createdBy,
    updatedBy: s.updatedBy,
  });

const notFound = (name: string) => new JoustingError('not_found', `secret ${name} not found`, { name });

export interface VaultOptions {
  js: JetStreamClient;
  masterKey: MasterKey;
  events: EventPublisher;
  audit: AuditWriter;
  logger: Logger;
}

/**
 * The secrets vault: each value sealed with AES-256-GCM under the master key, one KV key per
 * secret. Values leave only through reveal() and are never passed to a logger, an event, an
 * audit entry or an error.
 */
export class Vault {
  readonly keyId: string;

  private constructor(
    private readonly kv: KV,
    private readonly key: Buffer,
    private readonly opts: VaultOptions,
  ) {
    this.keyId = keyIdOf(key);
  }

  static async open(opts: VaultOptions): Promise<Vault> {
    // History 1: a replaced or deleted value's old ciphertext does not linger in the stream.
    const kv = await openKv(opts.js, SECRETS_BUCKET, {
      history: 1,
      description: 'Jousting secrets vault: values sealed with AES-256-GCM',
    });
    const vault = new Vault(kv, opts.masterKey.key, opts);
    await vault.checkKeys();
    return vault;
  }

  /** Says loudly at start when stored secrets were sealed by another key than the current one. */
  private async checkKeys(): Promise<void> {
    const { masterKey, logger } = this.opts;
    const foreign: Record<string, number> = {};
    let total = 0;
    for (const stored of await this.readAll()) {
      total++;
      if (stored.sealed.keyId !== this.keyId)
        foreign[stored.sealed.keyId] = (foreign[stored.sealed.keyId] ?? 0) + 1;
    }
    const unreadable = Object.values(foreign).reduce((a, b) => a + b, 0);
    const where = masterKey.source === 'env' ? 'JOUSTING_MASTER_KEY' : masterKey.file;
    logger.info(
      { keyId: this.keyId, keySource: masterKey.source, keyFile: masterKey.file, secrets: total },
      masterKey.created ? 'vault ready with a new master key file' : 'vault ready',
    );
    if (unreadable > 0) {
      logger.error(
        { keyId: this.keyId, keySource: masterKey.source, sealedWith: foreign },
        `${unreadable} of ${total} secrets were sealed with another master key than the current one (${where}); they cannot be revealed until that key is restored`,
      );
    }
  }

  async list(): Promise<{ items: SecretMeta[] }> {
    const items = (await this.readAll()).map(metaOf);
    items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { items };
  }

  async put(req: PutRequest, traceId: string): Promise<SecretMeta> {
    const { name, actor } = req;
    let before: StoredSecret | undefined;
    const { value: stored } = await casUpdate<StoredSecret>(
      this.kv,
      name,
      (current) => {
        before = current;
        const now = new Date().toISOString();
        const description = req.description === undefined ? current?.description : req.description;
        return {
          format: 1,
          name,
          ...(description ? { description } : {}),
          version: (current?.version ?? 0) + 1,
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
          createdBy: current?.createdBy ?? actor,
          updatedBy: actor,
          sealed: seal(this.key, name, req.value),
        };
      },
      { decode: decodeStored },
    );
    if (!stored) throw new JoustingError('internal', `secret ${name} was not stored`);
    const meta = metaOf(stored);
    await this.opts.events.publish(
      'settings.secret-put',
      { name, version: meta.version, actor },
      { subject: name, traceId },
    );
    await this.opts.audit.record({
      actor,
      domain: 'settings',
      action: 'secret-put',
      target: `secret:${name}`,
      ...(before ? { before: auditMeta(metaOf(before)) } : {}),
      after: auditMeta(meta),
      traceid: traceId,
    });
    this.opts.logger.info({ secret: name, version: meta.version, actor, traceId }, 'secret stored');
    return meta;
  }

  /** The value, after the reveal is recorded in the audit stream: no audit entry, no value. */
  async reveal(req: NameRequest, traceId: string): Promise<RevealedSecret> {
    const { name, actor } = req;
    const stored = await this.read(name);
    if (!stored) throw notFound(name);
    const opened = open(this.key, name, stored.sealed);
    if (!opened.ok) {
      const reason =
        opened.failure === 'wrong_key'
          ? `it was sealed with master key ${stored.sealed.keyId} but the current key is ${this.keyId}; restore the master key it was stored with (JOUSTING_MASTER_KEY or $JOUSTING_DATA_DIR/master.key), or put the secret again`
          : 'its stored ciphertext failed authentication (altered in the bucket, or sealed under another name)';
      throw new JoustingError('internal', `secret ${name} cannot be decrypted: ${reason}`, {
        name,
        failure: opened.failure,
        keyId: stored.sealed.keyId,
        currentKeyId: this.keyId,
      });
    }
    await this.opts.audit.record({
      actor,
      domain: 'settings',
      action: 'secret-revealed',
      target: `secret:${name}`,
      after: { version: stored.version },
      traceid: traceId,
    });
    this.opts.logger.info({ secret: name, version: stored.version, actor, traceId }, 'secret revealed');
    return { name, value: opened.value, version: stored.version };
  }

  async delete(req: NameRequest, traceId: string): Promise<{ name: string; deleted: true }> {
    const { name, actor } = req;
    const entry = await this.kv.get(name);
    if (entry?.operation !== 'PUT') throw notFound(name);
    const stored = decodeStored(decodeJson(entry));
    try {
      // Purge, not delete: no earlier ciphertext of this name stays in the stream.
      await this.kv.purge(name, { previousSeq: entry.revision });
    } catch (err) {
      if (/wrong last sequence|10071/i.test((err as Error).message)) {
        throw new JoustingError('conflict', `secret ${name} changed while it was being deleted; try again`);
      }
      throw err;
    }
    await this.opts.events.publish('settings.secret-deleted', { name, actor }, { subject: name, traceId });
    await this.opts.audit.record({
      actor,
      domain: 'settings',
      action: 'secret-deleted',
      target: `secret:${name}`,
      ...(stored ? { before: auditMeta(metaOf(stored)) } : {}),
      traceid: traceId,
    });
    this.opts.logger.info({ secret: name, actor, traceId }, 'secret deleted');
    return { name, deleted: true };
  }

  private async read(name: string): Promise<StoredSecret | undefined> {
    const entry = await this.kv.get(name);
    if (entry?.operation !== 'PUT') return undefined;
    const stored = decodeStored(decodeJson(entry));
    if (!stored) {
      throw new JoustingError('internal', `secret ${name} is stored in a form this service cannot read`, {
        name,
      });
    }
    return stored;
  }

  private async readAll(): Promise<StoredSecret[]> {
    const names: string[] = [];
    for await (const name of await this.kv.keys()) names.push(name);
    // Gets sent together: one round trip of waiting instead of one per secret.
    const entries = await Promise.all(names.map((name) => this.kv.get(name)));
    const found: StoredSecret[] = [];
    for (const [i, entry] of entries.entries()) {
      const name = names[i];
      if (entry?.operation !== 'PUT') continue;
      const stored = decodeStored(decodeJson(entry));
      if (stored) found.push(stored);
      else
        this.opts.logger.warn({ secret: name }, 'skipped a secret stored in a form this service cannot read');
    }
    return found;
  }
}

function decodeStored(raw: unknown): StoredSecret | undefined {
  const parsed = StoredSecret.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** What an audit entry keeps of a secret: its metadata, never its value or ciphertext. */
function auditMeta(meta: SecretMeta) {
  return {
    version: meta.version,
    ...(meta.description === undefined ? {} : { description: meta.description }),
  };
}
