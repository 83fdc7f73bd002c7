import type { LookupAddress } from 'node:dns';
import { JoustingError } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { BlockedAddressError, checkWebhookUrl, classifyAddress, guardedLookup } from '../src/url-guard.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.10.10', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['[::1]', 'loopback'],
  ])('%s is %s', (address, reason) => {
    expect(classifyAddress(address)).toBe(reason);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '2002:0808:0808::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

const resolveTo =
  (...addresses: string[]) =>
  async (): Promise<LookupAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JoustingError);
  const fields = (err as JoustingError).details?.fields ?? [];
  expect(fields.map((f) => f.field)).toEqual(['url']);
  return fields[0]!.message;
}

describe('checkWebhookUrl', () => {
  it('accepts an https URL whose host resolves only to public addresses', async () => {
    await expect(
      checkWebhookUrl('https://hooks.example.com/x', {
        allowPrivate: false,
        resolve: resolveTo('93.184.216.34'),
      }),
    ).resolves.toBeUndefined();
  });

  it('refuses other schemes, naming the field url', async () => {
    expect(await refusal(checkWebhookUrl('ftp://example.com/', { allowPrivate: true }))).toMatch(
      /http or https/,
    );
    expect(await refusal(checkWebhookUrl('file:///etc/passwd', { allowPrivate: true }))).toMatch(
      /http or https/,
    );
    expect(await refusal(checkWebhookUrl('not a url', { allowPrivate: true }))).toMatch(/not a URL/);
  });

  it('refuses a host when any of its addresses is internal', async () => {
    const message = await refusal(
      checkWebhookUrl('https://mixed.example.com/', {
        allowPrivate: false,
        resolve: resolveTo('93.184.216.34', '10.0.0.7'),
      }),
    );
    expect(message).toMatch(/10\.0\.0\.7, a private address/);
    expect(message).toMatch(/webhookAllowPrivateUrls/);
  });

  it('refuses IP literals, IPv6 and mapped IPv4 included, without asking DNS', async () => {
    const noDns = async (): Promise<LookupAddress[]> => {
      throw new Error('DNS must not be asked for an IP literal');
    };
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://0.0.0.0/',
    ]) {
      expect(await refusal(checkWebhookUrl(url, { allowPrivate: false, resolve: noDns })), url).toMatch(
        /address/,
      );
    }
  });

  it('refuses a name that does not resolve', async () => {
    const failing = async (): Promise<LookupAddress[]> => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(
      await refusal(checkWebhookUrl('https://nope.invalid/', { allowPrivate: false, resolve: failing })),
    ).toMatch(/ENOTFOUND/);
  });

  it('lets everything through when private targets are allowed', async () => {
    await expect(checkWebhookUrl('http://127.0.0.1:9/', { allowPrivate: true })).resolves.toBeUndefined();
  });
});

describe('guardedLookup (connect-time check against DNS rebinding)', () => {
  const lookupWith = (allow: boolean, ...addresses: string[]) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) => {
      guardedLookup(() => allow, resolveTo(...addresses))(
        'rebind.example.com',
        { all: true },
        (err, address) => resolve({ err, address }),
      );
    });

  it('fails the connection when the name now resolves to an internal address', async () => {
    const { err } = await lookupWith(false, '127.0.0.1');
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect(err?.message).toMatch(/loopback/);
  });

  it('hands over every address when all are public, or when private ones are allowed', async () => {
    expect((await lookupWith(false, '93.184.216.34')).address).toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    expect((await lookupWith(true, '127.0.0.1')).err).toBeNull();
  });
});
