import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@jousting/bus';
import { DEFAULT_SETTINGS, type Readiness, type Settings, settingsJsonSchema } from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli, gatewayStandIn, jsonResponse, type StandInRequest } from './cli-runner.js';

/** A stand-in for the gateway's settings and health routes, recording every request. */
function fakeGateway(opts: { ready?: boolean; token?: string } = {}) {
  let settings: Settings = { ...DEFAULT_SETTINGS };
  const json = jsonResponse;
  const authorizationOf = ({ headers }: StandInRequest) => ({ authorization: headers.get('authorization') });
  return gatewayStandIn(({ method, url, body, headers }) => {
    const authorization = headers.get('authorization');
    const route = `${method} ${url.pathname}`;
    if (route === 'GET /api/health/ready') {
      const readiness: Readiness = {
        ready: opts.ready ?? true,
        nats: { connected: true, server: 'nats://127.0.0.1:4222', rttMs: 1 },
        services: { settings: { ok: opts.ready ?? true, instances: opts.ready === false ? 0 : 1 } },
        missing: opts.ready === false ? ['settings'] : [],
      };
      return json(opts.ready === false ? 503 : 200, readiness);
    }
    if (opts.token && authorization !== `Bearer ${opts.token}`) {
      return json(401, { error: { code: 'unauthorized', message: 'missing or unknown token' } });
    }
    if (route === 'GET /api/settings') return json(200, { settings });
    if (route === 'GET /api/settings/schema') return json(200, settingsJsonSchema());
    if (route === 'PATCH /api/settings') {
      const patch = body as Record<string, unknown>;
      if (typeof patch.maxTurns === 'number' && patch.maxTurns > 200) {
        return json(400, {
          error: {
            code: 'validation_failed',
            message: 'invalid input (maxTurns: Too big: expected number to be <=200)',
            details: { fields: [{ field: 'maxTurns', message: 'Too big: expected number to be <=200' }] },
          },
        });
      }
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const [key, to] of Object.entries(patch)) {
        const from = settings[key as keyof Settings];
        if (from !== to) changes[key] = { from, to };
      }
      settings = { ...settings, ...patch };
      return json(200, { changes, settings });
    }
    if (route === 'POST /api/settings/reset') {
      const keys = ((body as { keys?: string[] }).keys ??
        Object.keys(DEFAULT_SETTINGS)) as (keyof Settings)[];
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of keys) {
        if (settings[key] !== DEFAULT_SETTINGS[key])
          changes[key] = { from: settings[key], to: DEFAULT_SETTINGS[key] };
      }
      settings = { ...settings, ...Object.fromEntries(keys.map((k) => [k, DEFAULT_SETTINGS[k]])) };
      return json(200, { changes, settings });
    }
    return json(404, { error: { code: 'not_found', message: `no route ${route}` } });
  }, authorizationOf);
}

describe('jousting settings', () => {
  let gateway: ReturnType<typeof fakeGateway>;
  let jousting: ReturnType<typeof cli>;
  const token = `jst_${'a'.repeat(64)}`;

  beforeEach(() => {
    gateway = fakeGateway({ token });
    jousting = cli({ JOUSTING_URL: 'http://gw.test:1', JOUSTING_TOKEN: token }, gateway.fetch);
  });

  it('set sends one PATCH with values in their schema types and prints what changed', async () => {
    const result = await jousting('settings', 'set', 'maxTurns=40', 'autoPush=true', 'model=opus');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      'maxTurns: 30 \u2192 40\nautoPush: false \u2192 true\nmodel: sonnet \u2192 opus\n',
    );
    const patches = gateway.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toEqual([
      {
        method: 'PATCH',
        path: '/api/settings',
        query: {},
        authorization: `Bearer ${token}`,
        body: { maxTurns: 40, autoPush: true, model: 'opus' },
      },
    ]);
  });

  it('set prints "nothing changed" when values are already set', async () => {
    const result = await jousting('settings', 'set', 'maxTurns=30');
    expect(result).toMatchObject({ code: 0, stdout: 'nothing changed\n' });
  });

  it('set prints the server field error for a refused value and exits 1', async () => {
    const result = await jousting('settings', 'set', 'maxTurns=999');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: invalid input (maxTurns: Too big: expected number to be <=200)\n' +
        '  maxTurns: Too big: expected number to be <=200\n',
    );
  });

  it('set refuses a value of the wrong type without sending anything', async () => {
    const result = await jousting('settings', 'set', 'maxTurns=lots');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: invalid value\n  maxTurns: expected an integer, got "lots"\n');
    expect(gateway.requests.some((r) => r.method === 'PATCH')).toBe(false);
  });

  it('set without key=value is a usage error (exit 64)', async () => {
    const result = await jousting('settings', 'set', 'maxTurns');
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('expected key=value, got "maxTurns"');
    expect(result.stderr).toContain('jousting settings set --help');
  });

  it('get prints one value, or JSON with --json', async () => {
    await jousting('settings', 'set', 'maxTurns=42');
    expect(await jousting('settings', 'get', 'maxTurns')).toMatchObject({ code: 0, stdout: '42\n' });
    const json = await jousting('settings', 'get', 'maxTurns', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ maxTurns: 42 });
  });

  it('get prints the table with default markers, and every setting with --json', async () => {
    await jousting('settings', 'set', 'maxTurns=42');
    const table = await jousting('settings', 'get');
    expect(table.stdout).toContain('maxTurns                   42\n');
    expect(table.stdout).toContain('model                      sonnet  (default)\n');
    const json = await jousting('settings', 'get', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ ...DEFAULT_SETTINGS, maxTurns: 42 });
  });

  it('get of an unknown key fails naming the known ones', async () => {
    const result = await jousting('settings', 'get', 'nope');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: unknown setting "nope"; known: coordMaxRequestsPerMinute, /);
  });

  it('reset sets the named keys back to their defaults', async () => {
    await jousting('settings', 'set', 'maxTurns=42', 'model=opus');
    const result = await jousting('settings', 'reset', 'maxTurns');
    expect(result).toMatchObject({ code: 0, stdout: 'maxTurns: 42 \u2192 30\n' });
    expect(gateway.requests.at(-1)).toMatchObject({
      path: '/api/settings/reset',
      body: { keys: ['maxTurns'] },
    });
    expect((await jousting('settings', 'reset')).stdout).toBe('model: opus \u2192 sonnet\n');
    expect(gateway.requests.at(-1)?.body).toEqual({});
  });

  it('reads the token from the data dir when neither --token nor JOUSTING_TOKEN is given', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jousting-cli-data-'));
    writeFileSync(join(dataDir, 'admin-token'), `${token}\n`, { mode: 0o600 });
    const fromFile = cli({ JOUSTING_URL: 'http://gw.test:1', JOUSTING_DATA_DIR: dataDir }, gateway.fetch);
    expect((await fromFile('settings', 'get', 'model')).stdout).toBe('sonnet\n');
    expect(gateway.requests.at(-1)?.authorization).toBe(`Bearer ${token}`);
  });

  it('on 401 without any token says where a token comes from', async () => {
    const noToken = cli({ JOUSTING_URL: 'http://gw.test:1' }, gateway.fetch);
    const result = await noToken('settings', 'get');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: missing or unknown token');
    expect(result.stderr).toContain('No token was found: pass --token, set JOUSTING_TOKEN, or create');
  });
});

describe('jousting status', () => {
  it('exits 0 and prints each service when ready', async () => {
    const result = await cli({ JOUSTING_URL: 'http://gw.test:1' }, fakeGateway().fetch)('status');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'ready\nnats      connected, nats://127.0.0.1:4222, rtt 1 ms\nsettings  ok (1 instance)\n',
    );
  });

  it('exits 1 and names what is missing when not ready; --json prints the body only', async () => {
    const jousting = cli({ JOUSTING_URL: 'http://gw.test:1' }, fakeGateway({ ready: false }).fetch);
    const text = await jousting('status');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('NOT ready');
    expect(text.stdout).toContain('missing: settings');
    const json = await jousting('status', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ready: false, missing: ['settings'] });
  });

  it('says how to start the gateway and exits 2 when nothing listens', async () => {
    const port = await freePort();
    const result = await cli({ GATEWAY_PORT: String(port) })('status');
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: cannot connect to http://127.0.0.1:${port}: is it running? (start it with \`npm start\` or \`jousting up\`)\n`,
    });
  });
});

describe('jousting help', () => {
  it('prints help for every command and exits 0', async () => {
    const jousting = cli({});
    for (const argv of [['--help'], ['help'], ['up', '--help'], ['status', '-h'], ['settings', '--help']]) {
      const result = await jousting(...argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout, argv.join(' ')).toMatch(/usage: jousting/);
    }
    expect((await jousting('settings', 'set', '--help')).stdout).toContain('--token <token>');
  });

  it('refuses an unknown command with exit 64', async () => {
    expect(await cli({})('deploy')).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('unknown command "deploy"'),
    });
  });
});
