import { type AuditWriter, decodeJson, type KV, type Logger, newId, SerialQueue } from '@jousting/bus';
import {
  type CloudEvent,
  type CreatedWebhook,
  JoustingError,
  NewWebhook,
  type RotatedWebhookSecret,
  subjectMatches,
  WEBHOOK_SECRET_GRACE_MS,
  WEBHOOK_SELF_EVENTS,
  Webhook,
  type WebhookHealth,
  type WebhookPatch,
} from '@jousting/contracts';
import { z } from 'zod';
import { KvBatcher } from './kv-batcher.js';
import { newWebhookSecret } from './signing.js';
import { urlOrigin } from './url-guard.js';
import { type VaultClient, webhookSecretName } from './vault-client.js';

export const WEBHOOKS_BUCKET = 'notifier-webhooks';

/** What the bucket holds per webhook: the listing minus hasSecret, plus which vault names sign. */
export const StoredWebhook = Webhook.omit({ hasSecret: true }).extend({
  secretGeneration: z.number().int().min(1),
  previousSecretGeneration: z.number().int().min(1).optional(),
});
export type StoredWebhook = z.infer<typeof StoredWebhook>;

const SELF_EVENTS = new Set<string>(WEBHOOK_SELF_EVENTS);

export interface RegistryDeps {
  kv: KV;
  vault: VaultClient;
  audit: AuditWriter;
  logger: Logger;
  now: () => number;
  /** Refuses a URL the current settings do not allow (names the field `url`). */
  checkUrl: (url: string) => Promise<void>;
}

type Who = { actor: string; traceId?: string };

/**
 * The webhooks: kept in memory, stored one key per webhook in `notifier-webhooks`. Commands run
 * one at a time; delivery outcomes change health in memory and are stored within a second.
 */
export class WebhookRegistry {
  private readonly hooks = new Map<string, StoredWebhook>();
  private readonly queue = new SerialQueue();
  private readonly writes: KvBatcher;
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly deps: RegistryDeps) {
    this.writes = new KvBatcher(deps.kv, 2);
  }

  static async open(deps: RegistryDeps): Promise<WebhookRegistry> {
    const registry = new WebhookRegistry(deps);
    for (const key of await collect(await deps.kv.keys())) {
      const parsed = StoredWebhook.safeParse(decodeJson(await deps.kv.get(key)));
      if (parsed.success) registry.hooks.set(parsed.data.id, parsed.data);
      else deps.logger.error({ key }, 'ignored an unreadable webhook record');
    }
    registry.flushTimer = setInterval(() => void registry.flushHealth(), 1000);
    return registry;
  }

  get(id: string): StoredWebhook | undefined {
    return this.hooks.get(id);
  }

  require(id: string): StoredWebhook {
    const hook = this.hooks.get(id);
    if (!hook) throw new JoustingError('not_found', `webhook ${id} does not exist`);
    return hook;
  }

  list(): Webhook[] {
    return [...this.hooks.values()].sort((a, b) => a.id.localeCompare(b.id)).map(toListing);
  }

  /** Whether any active webhook wants events of this type (checked before parsing an event). */
  wantsType(type: string): boolean {
    if (SELF_EVENTS.has(type)) return false;
    for (const hook of this.hooks.values()) {
      if (hook.active && hook.events.some((p) => subjectMatches(p, type))) return true;
    }
    return false;
  }

  /** Active webhooks that want this event: a pattern matches and they existed when it happened. */
  matching(event: CloudEvent): StoredWebhook[] {
    if (SELF_EVENTS.has(event.type)) return [];
    const out: StoredWebhook[] = [];
    const at = Date.parse(event.time);
    for (const hook of this.hooks.values()) {
      if (!hook.active || at < Date.parse(hook.createdAt)) continue;
      if (hook.events.some((p) => subjectMatches(p, event.type))) out.push(hook);
    }
    return out;
  }

  create(input: z.input<typeof NewWebhook>, who: Who): Promise<CreatedWebhook> {
    return this.queue.run(async () => {
      const fields = NewWebhook.parse(input);
      await this.deps.checkUrl(fields.url);
      const id = newId();
      const secret = newWebhookSecret();
      await this.deps.vault.put(
        webhookSecretName(id, 1),
        secret,
        `Signing secret of webhook ${id}`,
        who.traceId,
      );
      const at = this.iso();
      const hook: StoredWebhook = {
        id,
        ...fields,
        state: { consecutiveFailures: 0 },
        createdAt: at,
        updatedAt: at,
        secretGeneration: 1,
      };
      try {
        await this.writes.put(id, hook);
      } catch (err) {
        await this.deps.vault.delete(webhookSecretName(id, 1));
        throw err;
      }
      this.hooks.set(id, hook);
      await this.auditSafely(who, 'webhook-created', id, undefined, describe(hook));
      return { ...toListing(hook), secret };
    });
  }

  update(id: string, patch: WebhookPatch, who: Who): Promise<Webhook> {
    return this.queue.run(async () => {
      if (patch.url !== undefined && patch.url !== this.require(id).url) await this.deps.checkUrl(patch.url);
      // Read after the (slow) URL check: health may have changed meanwhile.
      const before = this.require(id);
      const next: StoredWebhook = { ...before, state: { ...before.state } };
      if (patch.url !== undefined) next.url = patch.url;
      if (patch.events !== undefined) next.events = patch.events;
      if (patch.format !== undefined) next.format = patch.format;
      if (patch.label !== undefined) next.label = patch.label;
      if (patch.description === null) delete next.description;
      else if (patch.description !== undefined) next.description = patch.description;
      if (patch.active !== undefined) next.active = patch.active;
      if (patch.active === true && !before.active) {
        // Switched back on: it starts with a clean record.
        delete next.disabledReason;
        delete next.disabledAt;
        next.state = { consecutiveFailures: 0, ...pick(before.state, ['lastSuccessAt']) };
      }
      next.updatedAt = this.iso();
      await this.writes.put(id, next);
      this.hooks.set(id, next);
      await this.auditSafely(who, 'webhook-updated', id, describe(before), describe(next));
      return toListing(next);
    });
  }

  delete(id: string, who: Who): Promise<StoredWebhook> {
    return this.queue.run(async () => {
      const hook = this.require(id);
      await this.writes.delete(id);
      this.hooks.delete(id);
      this.dirty.delete(id);
      await this.deps.vault.delete(webhookSecretName(id, hook.secretGeneration), who.traceId);
      if (hook.previousSecretGeneration)
        await this.deps.vault.delete(webhookSecretName(id, hook.previousSecretGeneration), who.traceId);
      await this.auditSafely(who, 'webhook-deleted', id, describe(hook), undefined);
      return hook;
    });
  }

  rotateSecret(id: string, who: Who): Promise<RotatedWebhookSecret> {
    return this.queue.run(async () => {
      const before = this.require(id);
      const generation = before.secretGeneration + 1;
      const secret = newWebhookSecret();
      await this.deps.vault.put(
        webhookSecretName(id, generation),
        secret,
        `Signing secret of webhook ${id}`,
        who.traceId,
      );
      const validUntil = new Date(this.deps.now() + WEBHOOK_SECRET_GRACE_MS).toISOString();
      const next: StoredWebhook = {
        ...before,
        secretGeneration: generation,
        previousSecretGeneration: before.secretGeneration,
        previousSecretValidUntil: validUntil,
        updatedAt: this.iso(),
      };
      await this.writes.put(id, next);
      this.hooks.set(id, next);
      // A secret two rotations old signs nothing any more.
      if (before.previousSecretGeneration)
        await this.deps.vault.delete(webhookSecretName(id, before.previousSecretGeneration), who.traceId);
      await this.auditSafely(who, 'webhook-secret-rotated', id, undefined, {
        previousSecretValidUntil: validUntil,
      });
      return { webhook: toListing(next), secret, previousSecretValidUntil: validUntil };
    });
  }

  /** The secrets that sign a delivery now: the current one, and the previous during its grace. */
  async signingSecrets(hook: StoredWebhook): Promise<string[]> {
    const names = [webhookSecretName(hook.id, hook.secretGeneration)];
    if (
      hook.previousSecretGeneration &&
      hook.previousSecretValidUntil &&
      Date.parse(hook.previousSecretValidUntil) > this.deps.now()
    ) {
      names.push(webhookSecretName(hook.id, hook.previousSecretGeneration));
    }
    return Promise.all(names.map((n) => this.deps.vault.reveal(n)));
  }

  /** Forgets previous secrets whose grace is over (run now and then). */
  expirePreviousSecrets(): Promise<void> {
    return this.queue.run(async () => {
      for (const hook of this.hooks.values()) {
        if (!hook.previousSecretGeneration || !hook.previousSecretValidUntil) continue;
        if (Date.parse(hook.previousSecretValidUntil) > this.deps.now()) continue;
        const next = { ...hook, updatedAt: this.iso() };
        const old = next.previousSecretGeneration!;
        delete next.previousSecretGeneration;
        delete next.previousSecretValidUntil;
        await this.writes.put(hook.id, next);
        this.hooks.set(hook.id, next);
        await this.deps.vault.delete(webhookSecretName(hook.id, old));
      }
    });
  }

  /** Records an attempt's outcome in the webhook's health; stored within a second. */
  recordOutcome(
    id: string,
    ok: boolean,
    at: number,
    status?: number,
    error?: string,
  ): WebhookHealth | undefined {
    const hook = this.hooks.get(id);
    if (!hook) return undefined;
    const iso = new Date(at).toISOString();
    const state: WebhookHealth = ok
      ? { consecutiveFailures: 0, lastAttemptAt: iso, lastSuccessAt: iso }
      : {
          ...pick(hook.state, ['lastSuccessAt']),
          consecutiveFailures: hook.state.consecutiveFailures + 1,
          failingSince: hook.state.failingSince ?? iso,
          lastAttemptAt: iso,
          ...(error ? { lastError: error } : {}),
        };
    if (status !== undefined) state.lastResponseStatus = status;
    this.hooks.set(id, { ...hook, state });
    this.dirty.add(id);
    return state;
  }

  /** Switches a webhook off for a reason; false when it was already off or is gone. */
  disable(id: string, reason: string): Promise<StoredWebhook | undefined> {
    return this.queue.run(async () => {
      const hook = this.hooks.get(id);
      if (!hook?.active) return undefined;
      const at = this.iso();
      const next: StoredWebhook = {
        ...hook,
        active: false,
        disabledReason: reason,
        disabledAt: at,
        updatedAt: at,
      };
      this.hooks.set(id, next);
      this.dirty.delete(id);
      await this.writes.put(id, next);
      await this.auditSafely({ actor: 'service:notifier' }, 'webhook-disabled', id, undefined, { reason });
      return next;
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.queue.idle();
    await this.flushHealth();
  }

  private async flushHealth(): Promise<void> {
    const ids = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      ids.map((id) => {
        const hook = this.hooks.get(id);
        return hook
          ? this.writes.put(id, hook).catch((err: unknown) => {
              this.dirty.add(id);
              this.deps.logger.warn({ err, webhookId: id }, 'could not store webhook health; will retry');
            })
          : undefined;
      }),
    );
  }

  private iso() {
    return new Date(this.deps.now()).toISOString();
  }

  private async auditSafely(who: Who, action: string, id: string, before: unknown, after: unknown) {
    try {
      await this.deps.audit.record({
        actor: who.actor,
        domain: 'notify',
        action,
        target: `webhook:${id}`,
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
        ...(who.traceId ? { traceid: who.traceId } : {}),
      });
    } catch (err) {
      this.deps.logger.error({ err, action, webhookId: id }, 'could not write the audit entry');
    }
  }
}

export function toListing(hook: StoredWebhook): Webhook {
  const { secretGeneration, previousSecretGeneration, previousSecretValidUntil, ...rest } = hook;
  const graceOpen = previousSecretGeneration !== undefined && previousSecretValidUntil !== undefined;
  return {
    ...rest,
    hasSecret: secretGeneration >= 1,
    ...(graceOpen ? { previousSecretValidUntil } : {}),
  };
}

/** What audit entries show of a webhook: never secrets, and of the URL only its origin. */
const describe = (h: StoredWebhook) => ({
  url: urlOrigin(h.url),
  events: h.events,
  format: h.format,
  label: h.label,
  active: h.active,
});

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}
