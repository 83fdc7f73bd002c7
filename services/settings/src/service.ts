import { endpoint, type ServiceDefinition } from '@jousting/bus';
import { secretCommands, settingsCommands } from '@jousting/contracts';
import { z } from 'zod';
import { LiveSettings } from './live-settings.js';
import { SettingsStore } from './settings-store.js';
import { Vault } from './vault.js';
import { loadMasterKey, MasterKeyVariable } from './vault-key.js';

export const SETTINGS_VERSION = '0.1.0';

const SettingsConfig = z.object({
  /** The vault's master key (64 hex or base64 of 32 bytes); unset: $JOUSTING_DATA_DIR/master.key. */
  JOUSTING_MASTER_KEY: MasterKeyVariable,
});

/**
 * Typed settings with hot reload (owns the `settings` bucket and announces every change) and the
 * secrets vault (owns the `secrets` bucket).
 */
export const settingsService: ServiceDefinition<typeof SettingsConfig> = {
  name: 'settings',
  version: SETTINGS_VERSION,
  description: 'Typed settings with hot reload, and the secrets vault',
  config: SettingsConfig,
  async start(ctx) {
    // Before anything else: a missing or broken key file stops the start with the reason.
    const masterKey = loadMasterKey({
      fromEnv: ctx.config.JOUSTING_MASTER_KEY,
      dataDir: ctx.config.JOUSTING_DATA_DIR,
      warn: (message, details) => ctx.logger.warn(details, message),
    });
    const vault = await Vault.open({
      js: ctx.js,
      masterKey,
      events: ctx.events,
      audit: ctx.audit,
      logger: ctx.logger.child({ component: 'vault' }),
    });
    const store = await SettingsStore.open(ctx.js);
    const live = await LiveSettings.start({
      store,
      events: ctx.events,
      audit: ctx.audit,
      logger: ctx.logger,
    });
    return {
      endpoints: [
        endpoint(settingsCommands.get, async () => ({ settings: live.snapshot() })),
        endpoint(settingsCommands.patch, (req, c) =>
          live.patch(req.changes, req.actor, req.traceId ?? c.traceId),
        ),
        endpoint(settingsCommands.reset, (req, c) =>
          live.reset(req.keys, req.actor, req.traceId ?? c.traceId),
        ),
        endpoint(secretCommands.list, () => vault.list()),
        endpoint(secretCommands.put, (req, c) => vault.put(req, req.traceId ?? c.traceId)),
        endpoint(secretCommands.reveal, (req, c) => vault.reveal(req, req.traceId ?? c.traceId)),
        endpoint(secretCommands.delete, (req, c) => vault.delete(req, req.traceId ?? c.traceId)),
      ],
      stop: () => live.stop(),
    };
  },
};
