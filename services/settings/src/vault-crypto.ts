import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The encrypted form of one value, as stored (binary parts in base64). */
export interface Sealed {
  alg: typeof CIPHER;
  /** Which master key sealed it (keyIdOf), so a rotation can find what to re-encrypt. */
  keyId: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/**
 * A short, public fingerprint of a master key: an HMAC of a fixed label, so it identifies the
 * key without revealing anything about it and differs from any hash of the key itself.
 */
export function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('jousting-vault-key-id/v1').digest('hex').slice(0, 16);
}

/**
 * Binds a ciphertext to the secret's name: a stored value copied under another name fails the
 * authentication check instead of revealing under the wrong name.
 */
const aadOf = (name: string) => Buffer.from(`jousting-secret/v1:${name}`, 'utf8');

/** Encrypts with a fresh random 96-bit IV per call, as GCM requires for one key. */
export function seal(key: Buffer, name: string, plaintext: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadOf(name));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: CIPHER,
    keyId: keyIdOf(key),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

export type OpenFailure = 'wrong_key' | 'tampered';

/**
 * Decrypts and authenticates. A value sealed by another key is reported as `wrong_key` without
 * trying; one that fails GCM authentication (altered ciphertext, IV, tag or name) as `tampered`.
 */
export function open(
  key: Buffer,
  name: string,
  sealed: Sealed,
): { ok: true; value: string } | { ok: false; failure: OpenFailure } {
  if (sealed.keyId !== keyIdOf(key)) return { ok: false, failure: 'wrong_key' };
  try {
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, failure: 'tampered' };
    const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadOf(name));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]);
    return { ok: true, value: plain.toString('utf8') };
  } catch {
    return { ok: false, failure: 'tampered' };
  }
}
