import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  endpoint,
  type HandlerContext,
  type RunningService,
  serveCommands,
  startService,
} from '@jousting/bus';
import { JoustingError, SecretMeta, secretCommands } from '@jousting/contracts';
import { freePort, type NatsHandle, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newApiToken } from '../src/auth.js';
import { gatewayService } from '../src/service.js';
import { client, silentLogger } from './harness.js';

// The /api/secrets routes of the real gateway against a stand-in vault on a real NATS server (the
// real vault is services/settings; its own tests cover the crypto). Every gateway log line is
// captured at trace level: no secret value may appear in it.

interface VaultCall {
  op: string;
  request: Record<string, unknown>;
  traceId: string;
}

/** An in-memory vault answering the four secret commands like the real one, recording each call. */
async function startVaultResponder(nc: NatsConnection) {
  const secrets = new Map<string, { meta: SecretMeta; value: string }>();
  const calls: VaultCall[] = [];
  const record = (op: string, request: object, ctx: HandlerContext) =>
    calls.push({ op, request: request as Record<string, unknown>, traceId: ctx.traceId });
  const mustGet = (name: string) => {
    const found = secrets.get(name);
    if (!found) throw new JoustingError('not_found', `secret ${name} not found`, { name });
    return found;
  };
  const service = await serveCommands(nc, { name: 'settings', version: '0.0.0-test', logger: silentLogger }, [
    endpoint(secretCommands.list, async (req, ctx) => {
      record('secret-list', req, ctx);
      return { items: [...secrets.values()].map((s) => s.meta) };
    }),
    endpoint(secretCommands.put, async (req, ctx) => {
      record('secret-put', req, ctx);
      const now = new Date().toISOString();
      const old = secrets.get(req.name)?.meta;
      const description = req.description ?? old?.description;
      const meta: SecretMeta = {
        name: req.name,
        ...(description ? { description } : {}),
        version: (old?.version ?? 0) + 1,
        createdAt: old?.createdAt ?? now,
        updatedAt: now,
        createdBy: old?.createdBy ?? req.actor,
        updatedBy: req.actor,
      };
      secrets.set(req.name, { meta, value: req.value });
      return meta;
    }),
    endpoint(secretCommands.reveal, async (req, ctx) => {
      record('secret-reveal', req, ctx);
      const { meta, value } = mustGet(req.name);
      return { name: meta.name, value, version: meta.version };
    }),
    endpoint(secretCommands.delete, async (req, ctx) => {
      record('secret-delete', req, ctx);
      mustGet(req.name);
      secrets.delete(req.name);
      return { name: req.name, deleted: true as const };
    }),
  ]);
  return { calls, secrets, stop: () => service.stop() };
}

let nats: NatsHandle;
let nc: NatsConnection;
let gateway: RunningService;
let baseUrl: string;
let vault: Awaited<ReturnType<typeof startVaultResponder>>;
let admin: ReturnType<typeof client>;
let operator: ReturnType<typeof client>;
let viewer: ReturnType<typeof client>;
const logLines: string[] = [];
const usedValues: string[] = [];

/** A fresh value to store; remembered so the log check at the end looks for it. */
const newValue = () => {
  const value = `s3cret-${randomBytes(12).toString('hex')}`;
  usedValues.push(value);
  return value;
};

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const port = await freePort();
  const adminToken = newApiToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'jousting-gateway-secrets-'));
  gateway = await startService(gatewayService, {
    env: {
      NATS_URL: nats.url,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      JOUSTING_ADMIN_TOKEN: adminToken,
      JOUSTING_DATA_DIR: dataDir,
      JOUSTING_UI_DIR: join(dataDir, 'no-ui'),
      LOG_LEVEL: 'trace',
    },
    logger: createLogger('gateway', {
      level: 'trace',
      destination: { write: (l: string) => void logLines.push(l) },
    }),
  });
  baseUrl = `http://127.0.0.1:${port}`;
  admin = client(baseUrl, adminToken);
  const token = async (name: string, role: string) => {
    const res = await admin('POST', '/api/tokens', { body: { name, role } });
    return res.json.token as string;
  };
  operator = client(baseUrl, await token('secrets-operator', 'operator'));
  viewer = client(baseUrl, await token('secrets-viewer', 'viewer'));
});

afterAll(async () => {
  await gateway?.stop();
  await nc?.close();
  await nats?.stop();
  const logs = logLines.join('');
  expect(logs).toContain('/api/secrets');
  for (const value of usedValues)
    expect(logs, 'a gateway log line holds a secret value').not.toContain(value);
});

beforeEach(async () => {
  vault = await startVaultResponder(nc);
});
afterEach(async () => {
  await vault.stop();
});

describe('PUT /api/secrets/{name}', () => {
  it('stores a secret as the admin, forwarding name, value, description, actor and trace id', async () => {
    const value = newValue();
    const res = await admin('PUT', '/api/secrets/SLACK_TOKEN', {
      body: { value, description: 'posts to #ops' },
      headers: { 'x-trace-id': 'trace-put-0001' },
    });
    expect(res.status).toBe(200);
    expect(SecretMeta.strict().parse(res.json)).toMatchObject({
      name: 'SLACK_TOKEN',
      description: 'posts to #ops',
      version: 1,
      createdBy: 'token:admin',
    });
    expect(res.text).not.toContain(value);
    expect(vault.calls).toEqual([
      {
        op: 'secret-put',
        request: {
          name: 'SLACK_TOKEN',
          value,
          description: 'posts to #ops',
          actor: 'token:admin',
          traceId: 'trace-put-0001',
        },
        traceId: 'trace-put-0001',
      },
    ]);
  });

  it('refuses a bad name, a missing or empty value, unknown fields and non-JSON with 400 naming the field', async () => {
    const value = newValue();
    const cases: Array<[string, unknown, string, Record<string, string>?]> = [
      ['/api/secrets/bad-name', { value }, 'name'],
      [`/api/secrets/${'A'.repeat(65)}`, { value }, 'name'],
      ['/api/secrets/OK', {}, 'value'],
      ['/api/secrets/OK', { value: '' }, 'value'],
      ['/api/secrets/OK', { value: 42 }, 'value'],
      ['/api/secrets/OK', { value, colour: 'red' }, 'colour'],
      ['/api/secrets/OK', { value, description: 'x'.repeat(501) }, 'description'],
      ['/api/secrets/OK', `value=${value}`, '(body)', { 'content-type': 'text/plain' }],
    ];
    for (const [path, body, field, headers] of cases) {
      const res = await admin('PUT', path, { body, ...(headers ? { headers } : {}) });
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json.error.code).toBe('validation_failed');
      expect(res.json.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(res.text).not.toContain(value);
    }
    expect(vault.calls).toEqual([]);
  });
});

describe('reveal, list and delete', () => {
  it('reveals to the admin with no-store caching; lists names and metadata to an operator', async () => {
    const value = newValue();
    await admin('PUT', '/api/secrets/DB_PASSWORD', { body: { value } });
    const revealed = await admin('POST', '/api/secrets/DB_PASSWORD/reveal');
    expect(revealed.status).toBe(200);
    expect(revealed.json).toEqual({ name: 'DB_PASSWORD', value, version: 1 });
    expect(revealed.headers.get('cache-control')).toBe('no-store');
    expect(vault.calls.at(-1)?.request).toMatchObject({ name: 'DB_PASSWORD', actor: 'token:admin' });

    const listed = await operator('GET', '/api/secrets');
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((i: SecretMeta) => i.name)).toEqual(['DB_PASSWORD']);
    expect(listed.text).not.toContain(value);
  });

  it('deletes as the admin; the name is then 404 for reveal and delete, with a JSON body naming it', async () => {
    await admin('PUT', '/api/secrets/OLD_KEY', { body: { value: newValue() } });
    const deleted = await admin('DELETE', '/api/secrets/OLD_KEY');
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ name: 'OLD_KEY', deleted: true });
    for (const [method, path] of [
      ['POST', '/api/secrets/OLD_KEY/reveal'],
      ['DELETE', '/api/secrets/OLD_KEY'],
    ] as const) {
      const res = await admin(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error).toMatchObject({ code: 'not_found', message: 'secret OLD_KEY not found' });
    }
  });
});

describe('roles and availability', () => {
  it('lets an operator list but not put, reveal or delete; a viewer cannot even list', async () => {
    await admin('PUT', '/api/secrets/ROLE_TEST', { body: { value: newValue() } });
    vault.calls.length = 0;
    const value = newValue();
    for (const [method, path, body] of [
      ['PUT', '/api/secrets/ROLE_TEST', { value }],
      ['POST', '/api/secrets/ROLE_TEST/reveal', undefined],
      ['DELETE', '/api/secrets/ROLE_TEST', undefined],
    ] as const) {
      const res = await operator(method, path, body ? { body } : {});
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.message).toMatch(/admin role/);
    }
    expect((await operator('GET', '/api/secrets')).status).toBe(200);
    const viewerList = await viewer('GET', '/api/secrets');
    expect(viewerList.status).toBe(403);
    expect(viewerList.json.error.message).toMatch(/operator role/);
    expect((await client(baseUrl)('GET', '/api/secrets')).status).toBe(401);
    // Refused calls never reached the vault.
    expect(vault.calls.map((c) => c.op)).toEqual(['secret-list']);
    expect(vault.secrets.get('ROLE_TEST')?.meta.version).toBe(1);
  });

  it('answers 503 naming the settings service when the vault is down', async () => {
    await vault.stop();
    for (const [method, path, body] of [
      ['GET', '/api/secrets'],
      ['PUT', '/api/secrets/X', { value: newValue() }],
      ['POST', '/api/secrets/X/reveal'],
    ] as const) {
      const res = await admin(method, path, body ? { body } : {});
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.json.error.message).toMatch(/settings/);
    }
  });
});
