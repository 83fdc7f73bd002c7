import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { JoustingError } from '@jousting/contracts';

/** Why an address may not be a webhook target; undefined for a public address. */
export type BlockedReason =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'carrier-grade NAT'
  | 'cloud metadata'
  | 'multicast'
  | 'reserved';

type V4Rule = [base: number, prefix: number, reason: BlockedReason];

const v4 = (text: string) => text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);

// Most specific first: the metadata address sits inside link-local.
const V4_RULES: V4Rule[] = [
  [v4('169.254.169.254'), 32, 'cloud metadata'],
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('100.64.0.0'), 10, 'carrier-grade NAT'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

function classifyV4(value: number): BlockedReason | undefined {
  for (const [base, prefix, reason] of V4_RULES) {
    const size = 2 ** (32 - prefix);
    if (value >= base && value < base + size) return reason;
  }
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted quad and a %zone allowed). */
function parseV6(text: string): number[] | undefined {
  let address = text.replace(/%.*$/, '');
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (quad) {
    const n = v4(quad[1]!);
    address = `${address.slice(0, -quad[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail, ...extra] = address.split('::');
  if (extra.length) return undefined;
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array(tail === undefined ? 0 : missing).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyV6(g: number[]): BlockedReason | undefined {
  const embeddedV4 = (hi: number, lo: number) => classifyV4(hi * 65536 + lo);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return 'unspecified';
  if (zeros(0, 7) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) reach the IPv4 address.
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return embeddedV4(g[6]!, g[7]!) ?? undefined;
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address too.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embeddedV4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return embeddedV4(g[1]!, g[2]!);
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zeros(2, 7) && g[7] === 0x254) return 'cloud metadata';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

/** Why `address` (an IPv4 or IPv6 literal) may not be a webhook target; undefined when public. */
export function classifyAddress(address: string): BlockedReason | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(v4(bare));
  if (family === 6) {
    const groups = parseV6(bare);
    return groups ? classifyV6(groups) : 'reserved';
  }
  return 'reserved';
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });

export class BlockedAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: BlockedReason,
  ) {
    super(
      `${host} resolves to ${address}, a ${reason} address; webhooks may not reach it unless the setting webhookAllowPrivateUrls is on`,
    );
    this.name = 'BlockedAddressError';
  }
}

/** Scheme, host and port: what may be shown of a webhook URL (paths and user info can be credentials). */
export function urlOrigin(text: string): string {
  try {
    return new URL(text).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** The host of a URL without IPv6 brackets. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Throws BlockedAddressError when the host is, or resolves to, any address that is not public.
 * Every address counts: a name with one public and one private address could be sent either.
 */
export async function assertPublicHost(host: string, resolve: Resolver = systemResolver): Promise<void> {
  if (isIP(host)) {
    const reason = classifyAddress(host);
    if (reason) throw new BlockedAddressError(host, host, reason);
    return;
  }
  const addresses = await resolve(host);
  for (const { address } of addresses) {
    const reason = classifyAddress(address);
    if (reason) throw new BlockedAddressError(host, address, reason);
  }
}

/**
 * The check at create and update: http or https only, and (unless private targets are allowed)
 * a host that resolves only to public addresses. Refusals name the field `url`.
 */
export async function checkWebhookUrl(
  text: string,
  opts: { allowPrivate: boolean; resolve?: Resolver },
): Promise<void> {
  const refuse = (message: string) => JoustingError.validation([{ field: 'url', message }]);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('must be an http or https URL');
  if (opts.allowPrivate) return;
  try {
    await assertPublicHost(hostOf(url), opts.resolve);
  } catch (err) {
    if (err instanceof BlockedAddressError) throw refuse(err.message);
    throw refuse(
      `${hostOf(url)} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for sockets that refuses non-public addresses at connect time, so a name that
 * resolved to a public address when the webhook was saved cannot be re-pointed (DNS rebinding)
 * at an internal one: the address checked is the address connected to.
 */
export function guardedLookup(allowPrivate: () => boolean, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    resolve(hostname).then(
      (addresses) => {
        if (!allowPrivate()) {
          for (const { address } of addresses) {
            const reason = classifyAddress(address);
            if (reason) {
              callback(new BlockedAddressError(hostname, address, reason), '');
              return;
            }
          }
        }
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
