import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { SecretMeta } from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SecretsIo, StdinSource } from '../src/commands/secrets.js';
import { run } from '../src/main.js';
import { cli, errorResponse, gatewayStandIn, jsonResponse, type StandInRequest, T0 } from './cli-runner.js';

const TOKEN = `jst_${'a'.repeat(64)}`;

/** A stand-in for the gateway's /api/secrets routes with an admin-only write check, recording requests. */
function fakeSecretsGateway(role: 'admin' | 'operator' = 'admin') {
  const secrets = new Map<string, { meta: SecretMeta; value: string }>();
  const auth = ({ headers }: StandInRequest) => ({ auth: headers.get('authorization') });
  const { fetch, requests } = gatewayStandIn(({ method, url, body }) => {
    const [, , , raw, action] = url.pathname.split('/');
    const name = raw ? decodeURIComponent(raw) : undefined;
    if (method === 'GET' && url.pathname === '/api/secrets') {
      return jsonResponse(200, { items: [...secrets.values()].map((s) => s.meta) });
    }
    if (role !== 'admin')
      return errorResponse(403, 'forbidden', 'this needs the admin role; your token is operator');
    const found = name ? secrets.get(name) : undefined;
    if (method === 'PUT' && name) {
      const meta: SecretMeta = {
        name,
        ...(body.description ? { description: body.description } : {}),
        version: (found?.meta.version ?? 0) + 1,
        createdAt: T0,
        updatedAt: T0,
        createdBy: 'token:admin',
        updatedBy: 'token:admin',
      };
      secrets.set(name, { meta, value: body.value });
      return jsonResponse(200, meta);
    }
    if (!found) return errorResponse(404, 'not_found', `secret ${name} not found`);
    if (method === 'POST' && action === 'reveal') {
      return jsonResponse(200, { name, value: found.value, version: found.meta.version });
    }
    if (method === 'DELETE') {
      secrets.delete(found.meta.name);
      return jsonResponse(200, { name, deleted: true });
    }
    return errorResponse(404, 'not_found', `no route for ${method} ${url.pathname}`);
  }, auth);
  return { fetch, requests, secrets };
}

const env = { JOUSTING_URL: 'http://gateway.test', JOUSTING_TOKEN: TOKEN };

/** `jousting` with a given standard input (piped text, or a terminal). */
function cliWithStdin(fetchFn: typeof fetch, stdin: StdinSource) {
  const out = { stdout: '', stderr: '' };
  const io: SecretsIo = {
    env,
    cwd: mkdtempSync(join(tmpdir(), 'jousting-cli-secrets-')),
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    fetch: fetchFn,
    stdin,
  };
  return async (...argv: string[]) => ({ code: await run(argv, io), ...out });
}

const tty: StdinSource = Object.assign(Readable.from([]), { isTTY: true });

let gateway: ReturnType<typeof fakeSecretsGateway>;
let jousting: ReturnType<typeof cli>;
beforeEach(() => {
  gateway = fakeSecretsGateway();
  jousting = cli(env, gateway.fetch);
});

describe('jousting secrets put', () => {
  it('stores --value with a description and prints the version, never the value', async () => {
    const res = await jousting('secrets', 'put', 'API_KEY', '--value', 'v-123', '--description', 'billing');
    expect(res).toMatchObject({ code: 0, stdout: 'stored API_KEY (version 1)\n', stderr: '' });
    expect(gateway.requests).toEqual([
      {
        method: 'PUT',
        path: '/api/secrets/API_KEY',
        query: {},
        body: { value: 'v-123', description: 'billing' },
        auth: `Bearer ${TOKEN}`,
      },
    ]);
    const json = await jousting('secrets', 'put', 'API_KEY', '--value', 'v-456', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'API_KEY', version: 2 });
    expect(json.stdout).not.toContain('v-456');
  });

  it('reads --from-file without its final line break', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'jousting-secret-file-')), 'token');
    writeFileSync(file, 'line one\nline two\n');
    expect((await jousting('secrets', 'put', 'CERT', '--from-file', file)).code).toBe(0);
    expect(gateway.secrets.get('CERT')?.value).toBe('line one\nline two');
    const missing = await jousting('secrets', 'put', 'CERT', '--from-file', `${file}.nope`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read --from-file');
  });

  it('reads piped standard input without its final line break', async () => {
    const piped = cliWithStdin(
      gateway.fetch,
      Readable.from([Buffer.from('from-'), Buffer.from('stdin\r\n')]),
    );
    const res = await piped('secrets', 'put', 'PIPED');
    expect(res.code).toBe(0);
    expect(gateway.secrets.get('PIPED')?.value).toBe('from-stdin');
  });

  it('refuses a bad name, two sources, an empty value or a terminal without a value, sending nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['secrets', 'put', 'bad-name', '--value', 'x'],
        /invalid secret name "bad-name": letters, digits and "_"/,
      ],
      [['secrets', 'put', 'A', '--value', 'x', '--from-file', '/etc/hostname'], /not both/],
      [['secrets', 'put', 'A', '--value', ''], /the value is empty/],
      [['secrets', 'put'], /missing <name>/],
    ];
    for (const [argv, message] of cases) {
      const res = await jousting(...argv);
      expect(res.code, argv.join(' ')).toBe(64);
      expect(res.stderr, argv.join(' ')).toMatch(message);
    }
    const atTerminal = await cliWithStdin(gateway.fetch, tty)('secrets', 'put', 'A');
    expect(atTerminal.code).toBe(64);
    expect(atTerminal.stderr).toContain('pass --value, --from-file FILE, or pipe it on standard input');
    expect(gateway.requests).toEqual([]);
  });
});

describe('jousting secrets ls, reveal, rm', () => {
  beforeEach(async () => {
    await jousting('secrets', 'put', 'B_TOKEN', '--value', 'bbb');
    await jousting('secrets', 'put', 'A_TOKEN', '--value', 'aaa', '--description', 'first');
    gateway.requests.length = 0;
  });

  it('ls prints names and metadata as a table, or {items} with --json, never values', async () => {
    const res = await jousting('secrets', 'ls');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+UPDATED\s+BY\s+DESCRIPTION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['B_TOKEN', 'A_TOKEN']);
    expect(lines[2]).toMatch(/A_TOKEN\s+1\s+.+token:admin\s+first/);
    expect(res.stdout).not.toMatch(/aaa|bbb/);
    const json = JSON.parse((await jousting('secrets', 'ls', '--json')).stdout);
    expect(json.items.map((i: SecretMeta) => i.name)).toEqual(['B_TOKEN', 'A_TOKEN']);
  });

  it('reveal prints the value alone, or {name, value, version} with --json', async () => {
    expect(await jousting('secrets', 'reveal', 'A_TOKEN')).toMatchObject({ code: 0, stdout: 'aaa\n' });
    expect(gateway.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/secrets/A_TOKEN/reveal' });
    const json = await jousting('secrets', 'reveal', 'A_TOKEN', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ name: 'A_TOKEN', value: 'aaa', version: 1 });
  });

  it('rm deletes; an unknown name fails with the server message (exit 1), in --json too', async () => {
    expect(await jousting('secrets', 'rm', 'B_TOKEN')).toMatchObject({
      code: 0,
      stdout: 'deleted B_TOKEN\n',
    });
    expect(gateway.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/secrets/B_TOKEN' });
    const again = await jousting('secrets', 'rm', 'B_TOKEN');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('secret B_TOKEN not found');
    const json = await jousting('secrets', 'reveal', 'B_TOKEN', '--json');
    expect(JSON.parse(json.stdout).error).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('an operator token is refused by the server for reveal, with its message', async () => {
    const asOperator = fakeSecretsGateway('operator');
    const res = await cli(env, asOperator.fetch)('secrets', 'reveal', 'A_TOKEN');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('needs the admin role');
    expect(res.stdout).toBe('');
  });

  it('says when the gateway cannot be reached (exit 2)', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const res = await cli(env, down)('secrets', 'ls');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('cannot connect to http://gateway.test');
  });

  it('is listed in the help', async () => {
    const res = await jousting('secrets', '--help');
    expect(res.code).toBe(0);
    for (const sub of ['ls', 'put', 'reveal', 'rm']) expect(res.stdout).toContain(`secrets ${sub}`);
  });
});
