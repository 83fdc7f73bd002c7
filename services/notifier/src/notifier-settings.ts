import { callCommand, type Logger, type NatsConnection, subscribeEvents } from '@jousting/bus';
import { DEFAULT_SETTINGS, parseSettingValue, settingsCommands } from '@jousting/contracts';
import type { Subscription } from '@nats-io/transport-node';

/**
 * The settings the notifier follows: read at start (defaults when the settings service does not
 * answer) and updated live from `settings.changed`. The subscription starts before the read, so
 * a change made in between is not missed.
 */
export class NotifierSettings {
  allowPrivateUrls = DEFAULT_SETTINGS.webhookAllowPrivateUrls;
  disableAfterHours = DEFAULT_SETTINGS.webhookDisableAfterHours;
  private sub: Subscription | undefined;

  static async start(nc: NatsConnection, logger: Logger): Promise<NotifierSettings> {
    const settings = new NotifierSettings();
    settings.sub = subscribeEvents(nc, 'settings.changed', (event) => settings.apply(event.data), logger);
    await nc.flush();
    try {
      const current = await callCommand(nc, settingsCommands.get, {}, { timeoutMs: 3000 });
      settings.apply({ settings: current.settings });
    } catch (err) {
      logger.warn(
        { code: (err as { code?: string }).code },
        'could not read the settings; using defaults until settings.changed arrives',
      );
    }
    return settings;
  }

  /** Reads the two keys from a settings snapshot defensively: one bad value leaves the other. */
  apply(data: unknown): void {
    const snapshot = (data as { settings?: Record<string, unknown> } | undefined)?.settings;
    if (!snapshot) return;
    const allow = parseSettingValue('webhookAllowPrivateUrls', snapshot.webhookAllowPrivateUrls);
    if (allow.ok) this.allowPrivateUrls = allow.value;
    const hours = parseSettingValue('webhookDisableAfterHours', snapshot.webhookDisableAfterHours);
    if (hours.ok) this.disableAfterHours = hours.value;
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
