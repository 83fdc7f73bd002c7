import { createLogger, EventPublisher, endpoint, serveCommands } from '@jousting/bus';
import {
  DEFAULT_SETTINGS,
  healthCommand,
  JoustingError,
  type Settings,
  type SettingsChanges,
  secretCommands,
  settingsCommands,
} from '@jousting/contracts';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * A stand-in settings service on the real NATS server: `api.settings.get/patch` over settings in
 * memory (announcing `settings.changed` like the real one) and the vault commands over a map. The
 * real one is services/settings; this one lets the notifier be tested alone, and records which
 * secrets were put so the test can look for them in logs and events.
 */
export async function startSettingsResponder(nc: NatsConnection, initial: Partial<Settings> = {}) {
  let settings: Settings = { ...DEFAULT_SETTINGS, ...initial };
  const secrets = new Map<string, { value: string; version: number }>();
  const everPut: string[] = [];
  const reveals: string[] = [];
  const events = new EventPublisher(jetstream(nc), '/jousting/settings', nc);
  const at = () => new Date().toISOString();

  const service = await serveCommands(
    nc,
    {
      name: 'settings',
      version: '0.0.0-test',
      logger: createLogger('settings-responder', { level: 'silent' }),
    },
    [
      endpoint(settingsCommands.get, async () => ({ settings })),
      endpoint(settingsCommands.patch, async (req) => {
        const changes: SettingsChanges = {};
        for (const [key, to] of Object.entries(req.changes)) {
          changes[key as keyof Settings] = { from: settings[key as keyof Settings], to };
        }
        settings = { ...settings, ...req.changes };
        await events.publish('settings.changed', { changes, settings, actor: req.actor });
        return { changes, settings };
      }),
      endpoint(secretCommands.put, async (req) => {
        const version = (secrets.get(req.name)?.version ?? 0) + 1;
        secrets.set(req.name, { value: req.value, version });
        everPut.push(req.value);
        return {
          name: req.name,
          version,
          createdAt: at(),
          updatedAt: at(),
          createdBy: req.actor,
          updatedBy: req.actor,
        };
      }),
      endpoint(secretCommands.reveal, async (req) => {
        const secret = secrets.get(req.name);
        if (!secret) throw new JoustingError('not_found', `secret ${req.name} does not exist`);
        reveals.push(req.name);
        return { name: req.name, value: secret.value, version: secret.version };
      }),
      endpoint(secretCommands.delete, async (req) => {
        if (!secrets.delete(req.name))
          throw new JoustingError('not_found', `secret ${req.name} does not exist`);
        return { name: req.name, deleted: true as const };
      }),
      endpoint(secretCommands.list, async () => ({ items: [] })),
      endpoint(healthCommand('settings'), async () => ({
        service: 'settings',
        instance: 'responder',
        version: 'test',
        uptimeSeconds: 0,
        status: 'ok' as const,
      })),
    ],
  );
  await nc.flush();
  return {
    secrets,
    /** Every secret value ever stored, for leak checks. */
    everPut,
    reveals,
    patch: (changes: Partial<Settings>) =>
      nc.request(settingsCommands.patch.subject, JSON.stringify({ changes, actor: 'test' }), {
        timeout: 5000,
      }),
    stop: () => service.stop(),
  };
}
