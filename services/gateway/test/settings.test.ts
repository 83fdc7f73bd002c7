import { DEFAULT_SETTINGS, Readiness, SettingsChangeResult, settingsJsonSchema } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinatorResponder } from './coordinator-responder.js';
import {
  client,
  createToken,
  type GatewayUnderTest,
  startGateway,
  startSettingsResponder,
} from './harness.js';

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let operator: ReturnType<typeof client>;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  operator = client(gw.url, await createToken(gw, 'settings-operator', 'operator'));
});
afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});

describe('readiness', () => {
  it('is 503 naming each missing service until all answer, then 200', async () => {
    const down = await client(gw.url)('GET', '/api/health/ready');
    expect(down.status).toBe(503);
    const notReady = Readiness.parse(down.json);
    expect(notReady).toMatchObject({
      ready: false,
      nats: { connected: true },
      missing: ['settings', 'coordinator'],
    });
    expect(notReady.services.settings).toMatchObject({ ok: false, instances: 0 });

    const settings = await startSettingsResponder(nc);
    const coordinator = await startCoordinatorResponder(nc);
    try {
      const partly = Readiness.parse((await client(gw.url)('GET', '/api/health/ready')).json);
      expect(partly.missing).toEqual([]);
      await coordinator.stop();
      const withoutCoordinator = await client(gw.url)('GET', '/api/health/ready');
      expect(withoutCoordinator.status).toBe(503);
      expect(Readiness.parse(withoutCoordinator.json).missing).toEqual(['coordinator']);

      const again = await startCoordinatorResponder(nc);
      try {
        const up = await client(gw.url)('GET', '/api/health/ready');
        expect(up.status).toBe(200);
        expect(Readiness.parse(up.json)).toMatchObject({
          ready: true,
          missing: [],
          services: { settings: { ok: true, instances: 1 }, coordinator: { ok: true, instances: 1 } },
        });
      } finally {
        await again.stop();
      }
    } finally {
      await settings.stop();
    }
  });
});

describe('settings proxy', () => {
  it('patches through the settings service with the caller as actor', async () => {
    const settings = await startSettingsResponder(nc);
    try {
      const res = await operator('PATCH', '/api/settings', { body: { maxTurns: 12, model: 'opus' } });
      expect(res.status).toBe(200);
      const result = SettingsChangeResult.parse(res.json);
      expect(result.changes).toEqual({
        maxTurns: { from: DEFAULT_SETTINGS.maxTurns, to: 12 },
        model: { from: DEFAULT_SETTINGS.model, to: 'opus' },
      });
      expect(settings.actors).toEqual(['token:settings-operator']);

      const read = await operator('GET', '/api/settings');
      expect(read.json.settings).toMatchObject({ maxTurns: 12, model: 'opus' });

      const reset = await operator('POST', '/api/settings/reset', { body: { keys: ['maxTurns'] } });
      expect(reset.json.changes).toEqual({ maxTurns: { from: 12, to: DEFAULT_SETTINGS.maxTurns } });
      const resetAll = await operator('POST', '/api/settings/reset');
      expect(resetAll.json.changes).toEqual({ model: { from: 'opus', to: DEFAULT_SETTINGS.model } });
    } finally {
      await settings.stop();
    }
  });

  it('accepts an empty patch and reports no changes', async () => {
    const settings = await startSettingsResponder(nc);
    try {
      const res = await operator('PATCH', '/api/settings', { body: {} });
      expect(res.status).toBe(200);
      expect(res.json.changes).toEqual({});
    } finally {
      await settings.stop();
    }
  });

  it('refuses an invalid value with 400 naming the field as sent', async () => {
    const settings = await startSettingsResponder(nc);
    try {
      const res = await operator('PATCH', '/api/settings', { body: { maxTurns: 999 } });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('validation_failed');
      expect(res.json.error.message).toMatch(/maxTurns/);
      expect(res.json.error.details.fields).toEqual([{ field: 'maxTurns', message: expect.any(String) }]);
      expect(settings.actors).toEqual([]);
    } finally {
      await settings.stop();
    }
  });

  it('refuses an unknown field with 400 naming it', async () => {
    const res = await operator('PATCH', '/api/settings', { body: { maxTurnz: 5 } });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fields).toEqual([{ field: 'maxTurnz', message: 'unknown field' }]);
    expect(res.json.error.message).toMatch(/maxTurnz/);
  });

  it('answers 503 in the error format when the settings service is down', async () => {
    const res = await operator('PATCH', '/api/settings', { body: { maxTurns: 10 } });
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('unavailable');
    expect(res.json.error.message).toMatch(/settings/);
    expect((await operator('GET', '/api/settings')).status).toBe(503);
  });

  it('serves the JSON Schema of the settings', async () => {
    const res = await operator('GET', '/api/settings/schema');
    expect(res.status).toBe(200);
    expect(res.json).toEqual(JSON.parse(JSON.stringify(settingsJsonSchema())));
    expect(res.json.properties.maxTurns).toMatchObject({ minimum: 1, maximum: 200 });
  });
});
