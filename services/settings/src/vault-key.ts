import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { JoustingError } from '@jousting/contracts';
import { z } from 'zod';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = 'JOUSTING_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * The master key as written in JOUSTING_MASTER_KEY: 32 bytes as 64 hex characters, or as base64
 * (standard or URL-safe, padding optional). Returns the reason when it is neither; the reason
 * never quotes the text, which is the key or close to it.
 */
export function parseMasterKey(text: string): { ok: true; key: Buffer } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return { ok: true, key: Buffer.from(trimmed, 'hex') };
  if (BASE64_KEY.test(trimmed)) {
    const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === MASTER_KEY_BYTES) return { ok: true, key };
    return {
      ok: false,
      reason: `must be ${MASTER_KEY_BYTES} bytes as 64 hex characters or as base64; this decodes to ${key.length} bytes (generate one with \`openssl rand -base64 32\`)`,
    };
  }
  return {
    ok: false,
    reason: `must be ${MASTER_KEY_BYTES} bytes as 64 hex characters or as base64 (${trimmed.length} characters that are neither; generate one with \`openssl rand -base64 32\`)`,
  };
}

/**
 * The JOUSTING_MASTER_KEY variable in a service config: unset or blank means "use the key file";
 * anything else must parse, or loadConfig names the variable and the service does not start.
 */
export const MasterKeyVariable = z
  .string()
  .optional()
  .transform((text, ctx): Buffer | undefined => {
    if (text === undefined || text.trim() === '') return undefined;
    const parsed = parseMasterKey(text);
    if (parsed.ok) return parsed.key;
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  });

export interface MasterKey {
  key: Buffer;
  source: 'env' | 'file';
  /** Set when the key came from (or was just written to) the key file. */
  file?: string;
  /** The key file did not exist and was created by this call. */
  created: boolean;
}

/**
 * The vault's master key: JOUSTING_MASTER_KEY when given, else `<dataDir>/master.key` (32 raw
 * bytes, mode 0600), created with fresh random bytes on first start. A key file of any other
 * length stops the start: a new key would make every stored secret unreadable.
 */
export function loadMasterKey(opts: {
  fromEnv: Buffer | undefined;
  dataDir: string;
  warn?: (message: string, details: Record<string, unknown>) => void;
}): MasterKey {
  if (opts.fromEnv) return { key: opts.fromEnv, source: 'env', created: false };
  const file = resolve(join(opts.dataDir, MASTER_KEY_FILE));
  const existing = readKeyFile(file);
  if (existing) {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      opts.warn?.('the master key file can be read by other users; chmod 600 it', {
        file,
        mode: mode.toString(8),
      });
    }
    return { key: existing, source: 'file', file, created: false };
  }
  return createKeyFile(file);
}

function readKeyFile(file: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JoustingError(
      'validation_failed',
      `cannot read the master key file ${file}: ${(err as Error).message}`,
    );
  }
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new JoustingError(
      'validation_failed',
      `the master key file ${file} holds ${bytes.length} bytes, not ${MASTER_KEY_BYTES}: refusing to start, since a new key would make every stored secret unreadable. Restore the original file, or set ${MASTER_KEY_ENV}.`,
      { fields: [{ field: MASTER_KEY_FILE, message: `must be exactly ${MASTER_KEY_BYTES} bytes` }] },
    );
  }
  return bytes;
}

/**
 * Writes the key to a temporary file (0600), then hard-links it into place: the key file either
 * does not exist or is complete, and when two processes race the first link wins and the other
 * reads that key.
 */
function createKeyFile(file: string): MasterKey {
  const dir = resolve(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const key = randomBytes(MASTER_KEY_BYTES);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The mode passed to open is narrowed by the umask only; make it exactly 0600 regardless.
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = readKeyFile(file);
    if (!winner) throw err;
    return { key: winner, source: 'file', file, created: false };
  } finally {
    unlinkSync(tmp);
  }
  return { key, source: 'file', file, created: true };
}
