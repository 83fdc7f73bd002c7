import { endpoint, type ServiceDefinition } from '@jousting/bus';
import { settingsCommands } from '@jousting/contracts';
import { z } from 'zod';
import { LiveSettings } from './live-settings.js';
import { SettingsStore } from './settings-store.js';

export const SETTINGS_VERSION = '0.1.0';

/** Typed settings with hot reload: owns the `settings` bucket and announces every change. */
export const settingsService: ServiceDefinition<z.ZodObject> = {
  name: 'settings',
  version: SETTINGS_VERSION,
  description: 'Typed settings with hot reload',
  config: z.object({}),
  async start(ctx) {
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
      ],
      stop: () => live.stop(),
    };
  },
};
