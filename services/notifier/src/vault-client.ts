import { callCommand, type Logger, type NatsConnection } from '@jousting/bus';
import { secretCommands } from '@jousting/contracts';

/** The actor the notifier uses with the vault: reveals are audited under it. */
export const VAULT_ACTOR = 'service:notifier';

/** The vault name of a webhook's signing secret; a rotation gets the next generation. */
export const webhookSecretName = (webhookId: string, generation: number) =>
  `webhook_${webhookId}_${generation}`;

/**
 * Webhook signing secrets in the settings service's vault, revealed once and then kept in memory.
 * Values are never logged: errors carry the secret's name only.
 */
export class VaultClient {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly timeoutMs = 5000,
  ) {}

  async put(name: string, value: string, description: string, traceId?: string): Promise<void> {
    await callCommand(
      this.nc,
      secretCommands.put,
      { name, value, description, actor: VAULT_ACTOR, ...(traceId ? { traceId } : {}) },
      { timeoutMs: this.timeoutMs, ...(traceId ? { traceId } : {}) },
    );
    this.cache.set(name, value);
  }

  async reveal(name: string): Promise<string> {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const revealed = await callCommand(
      this.nc,
      secretCommands.reveal,
      { name, actor: VAULT_ACTOR },
      { timeoutMs: this.timeoutMs },
    );
    this.cache.set(name, revealed.value);
    return revealed.value;
  }

  /** Best effort: a secret left behind is harmless, a failed delete is logged by name. */
  async delete(name: string, traceId?: string): Promise<void> {
    this.cache.delete(name);
    try {
      await callCommand(
        this.nc,
        secretCommands.delete,
        { name, actor: VAULT_ACTOR, ...(traceId ? { traceId } : {}) },
        { timeoutMs: this.timeoutMs, ...(traceId ? { traceId } : {}) },
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'not_found')
        this.logger.warn({ name, code }, 'could not delete a webhook secret from the vault');
    }
  }
}
