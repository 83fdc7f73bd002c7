import { type NatsHandle, startNats } from '@jousting/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/auth.js';
import { client, createToken, type GatewayUnderTest, startGateway } from './harness.js';

let nats: NatsHandle;
let nc: NatsConnection;
let gw: GatewayUnderTest;
let admin: ReturnType<typeof client>;
let anonymous: ReturnType<typeof client>;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  gw = await startGateway(nats.url);
  admin = client(gw.url, gw.adminToken);
  anonymous = client(gw.url);
});
afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});

/** Logs in with `token` and returns the session cookie and CSRF token. */
async function login(token: string) {
  const res = await anonymous('POST', '/api/auth/login', { body: { token } });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { res, setCookie, cookie, csrfToken: res.json.csrfToken as string };
}

describe('bearer tokens', () => {
  it('answers 401 without credentials, with an unknown token, and with a malformed header', async () => {
    const none = await anonymous('GET', '/api/auth/me');
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const unknown = await client(gw.url, `jst_${'0'.repeat(64)}`)('GET', '/api/auth/me');
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.message).toMatch(/unknown or revoked/);

    const malformed = await anonymous('GET', '/api/auth/me', { headers: { authorization: 'Bearer nope' } });
    expect(malformed.status).toBe(401);
  });

  it('lets public routes through without a token', async () => {
    const health = await anonymous('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('ok');
    expect(new Date(health.json.time).getTime()).toBeGreaterThan(0);
  });

  it('enforces roles viewer < operator < admin with 403', async () => {
    const viewer = client(gw.url, await createToken(gw, 'role-viewer', 'viewer'));
    const operator = client(gw.url, await createToken(gw, 'role-operator', 'operator'));

    expect((await viewer('GET', '/api/auth/me')).json).toEqual({
      name: 'role-viewer',
      role: 'viewer',
      via: 'bearer',
    });
    expect((await viewer('GET', '/api/settings/schema')).status).toBe(200);

    const viewerWrites = await viewer('PATCH', '/api/settings', { body: {} });
    expect(viewerWrites.status).toBe(403);
    expect(viewerWrites.json.error.message).toMatch(/operator role/);

    expect((await operator('GET', '/api/tokens')).status).toBe(403);
    expect((await operator('POST', '/api/tokens', { body: { name: 'x', role: 'viewer' } })).status).toBe(403);
    expect((await admin('GET', '/api/tokens')).status).toBe(200);
  });

  it('creates a token shown once, lists it without the secret, and revokes it', async () => {
    const created = await admin('POST', '/api/tokens', { body: { name: 'ci-bot', role: 'operator' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'ci-bot', role: 'operator' });
    expect(created.json.token).toMatch(/^jst_[0-9a-f]{64}$/);
    expect(created.json.id).toBe(sha256Hex(created.json.token).slice(0, 12));

    const listed = await admin('GET', '/api/tokens');
    const entry = listed.json.items.find((t: { name: string }) => t.name === 'ci-bot');
    expect(entry).toEqual({
      id: created.json.id,
      name: 'ci-bot',
      role: 'operator',
      createdAt: created.json.createdAt,
    });
    expect(listed.text).not.toContain(created.json.token);

    const bot = client(gw.url, created.json.token);
    expect((await bot('GET', '/api/auth/me')).status).toBe(200);

    expect((await admin('DELETE', `/api/tokens/${created.json.id}`)).json).toEqual({ ok: true });
    expect((await bot('GET', '/api/auth/me')).status).toBe(401);
    expect((await admin('DELETE', `/api/tokens/${created.json.id}`)).status).toBe(404);
  });

  it('stores only the sha256 of a token in the gateway-tokens bucket', async () => {
    const token = await createToken(gw, 'hash-check', 'viewer');
    const kv = await new Kvm(jetstream(nc)).open('gateway-tokens');
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    expect(keys).toContain(sha256Hex(token));
    const entry = await kv.get(sha256Hex(token));
    expect(entry?.string()).not.toContain(token);
  });

  it('refuses a duplicate token name with 409 and a bad body with 400 naming the field', async () => {
    await createToken(gw, 'dup', 'viewer');
    const again = await admin('POST', '/api/tokens', { body: { name: 'dup', role: 'viewer' } });
    expect(again.status).toBe(409);

    const badRole = await admin('POST', '/api/tokens', { body: { name: 'ok-name', role: 'root' } });
    expect(badRole.status).toBe(400);
    expect(badRole.json.error.details.fields).toEqual([expect.objectContaining({ field: 'role' })]);

    const extra = await admin('POST', '/api/tokens', { body: { name: 'n', role: 'viewer', admin: true } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.details.fields).toEqual([{ field: 'admin', message: 'unknown field' }]);

    const broken = await admin('POST', '/api/tokens', { body: '{"name": ' });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('validation_failed');
    expect(broken.json.error.message).toMatch(/not valid JSON/);
  });
});

describe('browser sessions', () => {
  it('logs in with an HttpOnly SameSite=Strict cookie and returns the CSRF token; /me recovers it', async () => {
    const { res, setCookie, cookie, csrfToken } = await login(gw.adminToken);
    expect(res.json).toMatchObject({ name: 'admin', role: 'admin', via: 'session' });
    expect(csrfToken.length).toBeGreaterThan(20);
    expect(setCookie).toMatch(/^jst_session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/);

    const me = await anonymous('GET', '/api/auth/me', { headers: { cookie } });
    expect(me.json).toEqual({ name: 'admin', role: 'admin', via: 'session', csrfToken });
  });

  it('refuses a login with an unknown token (401) or a malformed one (400 naming token)', async () => {
    expect(
      (await anonymous('POST', '/api/auth/login', { body: { token: `jst_${'a'.repeat(64)}` } })).status,
    ).toBe(401);
    const malformed = await anonymous('POST', '/api/auth/login', { body: { token: 'hello' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.details.fields[0].field).toBe('token');
  });

  it('needs x-csrf-token on cookie-authenticated writes, and not on bearer writes', async () => {
    const { cookie, csrfToken } = await login(gw.adminToken);
    const withoutHeader = await anonymous('POST', '/api/tokens', {
      body: { name: 'csrf-a', role: 'viewer' },
      headers: { cookie },
    });
    expect(withoutHeader.status).toBe(403);
    expect(withoutHeader.json.error.message).toMatch(/x-csrf-token/);

    const wrongHeader = await anonymous('POST', '/api/tokens', {
      body: { name: 'csrf-a', role: 'viewer' },
      headers: { cookie, 'x-csrf-token': 'guess' },
    });
    expect(wrongHeader.status).toBe(403);

    const withHeader = await anonymous('POST', '/api/tokens', {
      body: { name: 'csrf-a', role: 'viewer' },
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(withHeader.status).toBe(201);

    const bearer = await admin('POST', '/api/tokens', { body: { name: 'csrf-b', role: 'viewer' } });
    expect(bearer.status).toBe(201);

    // Reads with the cookie need no header.
    expect((await anonymous('GET', '/api/tokens', { headers: { cookie } })).status).toBe(200);
  });

  it('logout ends the session and clears the cookie', async () => {
    const { cookie, csrfToken } = await login(gw.adminToken);
    const out = await anonymous('POST', '/api/auth/logout', {
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(out.json).toEqual({ ok: true });
    expect(out.headers.get('set-cookie')).toMatch(/jst_session=;.*Max-Age=0/i);
    expect((await anonymous('GET', '/api/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('revoking a token ends the sessions opened with it', async () => {
    const token = await createToken(gw, 'revoke-session', 'operator');
    const { cookie } = await login(token);
    expect((await anonymous('GET', '/api/auth/me', { headers: { cookie } })).status).toBe(200);

    const id = sha256Hex(token).slice(0, 12);
    expect((await admin('DELETE', `/api/tokens/${id}`)).status).toBe(200);
    const after = await anonymous('GET', '/api/auth/me', { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('writes an audit entry for token creation and revocation', async () => {
    const jsm = await jetstreamManager(nc);
    const token = await createToken(gw, 'audited', 'viewer');
    await admin('DELETE', `/api/tokens/${sha256Hex(token).slice(0, 12)}`);
    const created = await jsm.streams.getMessage('AUDIT', { last_by_subj: 'audit.gateway.token-created' });
    const revoked = await jsm.streams.getMessage('AUDIT', { last_by_subj: 'audit.gateway.token-revoked' });
    expect(created?.json()).toMatchObject({
      actor: 'token:admin',
      after: { name: 'audited', role: 'viewer' },
    });
    expect(revoked?.json()).toMatchObject({
      actor: 'token:admin',
      before: { name: 'audited', role: 'viewer' },
    });
    expect(JSON.stringify(created?.json())).not.toContain(token);
  });
});
