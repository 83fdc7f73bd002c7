import { describe, expect, it } from 'vitest';
import { leadingWords, parseCommandLine } from '../src/args.js';
import { gatewayUrlOf, tokenOf } from '../src/context.js';
import { EXIT, UsageError } from '../src/errors.js';

describe('parseCommandLine', () => {
  it('reads global flags before, between and after the command words', () => {
    const parsed = parseCommandLine([
      '--json',
      'settings',
      '--url',
      'http://h:1',
      'get',
      'maxTurns',
      '--token=t',
    ]);
    expect(parsed.flags).toEqual({ json: true, url: 'http://h:1', token: 't', help: false });
    expect(parsed.positionals).toEqual(['settings', 'get', 'maxTurns']);
  });

  it('accepts -h as --help', () => {
    expect(parseCommandLine(['status', '-h']).flags.help).toBe(true);
  });

  it('keeps key=value arguments as positionals, even with a negative number', () => {
    expect(
      parseCommandLine(['settings', 'set', 'maxTurns=40', 'coordGlobalBudgetUsd=-1']).positionals,
    ).toEqual(['settings', 'set', 'maxTurns=40', 'coordGlobalBudgetUsd=-1']);
  });

  it('refuses an unknown flag with a usage error naming it', () => {
    const err = (() => {
      try {
        parseCommandLine(['status', '--bogus'], {}, 'status');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe("unknown option '--bogus'");
    expect((err as UsageError).exitCode).toBe(EXIT.usage);
    expect((err as UsageError).command).toBe('status');
  });

  it('refuses --url without a value', () => {
    expect(() => parseCommandLine(['status', '--url'])).toThrow(UsageError);
  });

  it('takes command options on top of the global ones', () => {
    const parsed = parseCommandLine(['up', '--detach'], { detach: { type: 'boolean' } });
    expect(parsed.options).toEqual({ detach: true });
  });
});

describe('leadingWords', () => {
  it('finds the command words without knowing command options', () => {
    expect(leadingWords(['--url', 'http://x:1', 'settings', 'set', 'a=1', '--json'])).toEqual([
      'settings',
      'set',
      'a=1',
    ]);
  });
});

describe('gatewayUrlOf', () => {
  it('prefers --url, then JOUSTING_URL, then GATEWAY_PORT on localhost, then port 8080', () => {
    const env = { JOUSTING_URL: 'http://env:1', GATEWAY_PORT: '9000' };
    expect(gatewayUrlOf('http://flag:2/', env)).toBe('http://flag:2');
    expect(gatewayUrlOf(undefined, env)).toBe('http://env:1');
    expect(gatewayUrlOf(undefined, { GATEWAY_PORT: '9000' })).toBe('http://127.0.0.1:9000');
    expect(gatewayUrlOf(undefined, {})).toBe('http://127.0.0.1:8080');
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => gatewayUrlOf('ftp://x', {})).toThrow(/must be http/);
    expect(() => gatewayUrlOf('not a url', {})).toThrow(/invalid gateway URL/);
  });
});

describe('tokenOf', () => {
  it('prefers --token, then JOUSTING_TOKEN, then the admin-token file', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'jousting-cli-token-'));
    expect(tokenOf(undefined, {}, dir)).toMatchObject({ token: undefined, source: 'none' });
    writeFileSync(join(dir, 'admin-token'), 'jst_file\n');
    expect(tokenOf(undefined, {}, dir)).toMatchObject({ token: 'jst_file', source: 'file' });
    expect(tokenOf(undefined, { JOUSTING_TOKEN: 'jst_env' }, dir)).toMatchObject({
      token: 'jst_env',
      source: 'env',
    });
    expect(tokenOf('jst_flag', { JOUSTING_TOKEN: 'jst_env' }, dir)).toMatchObject({
      token: 'jst_flag',
      source: 'flag',
    });
  });
});
