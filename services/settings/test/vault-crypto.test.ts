import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseConfig, loadConfig } from '@jousting/bus';
import { JoustingError } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { settingsService } from '../src/service.js';
import { keyIdOf, open, seal } from '../src/vault-crypto.js';
import { loadMasterKey, MASTER_KEY_FILE, parseMasterKey } from '../src/vault-key.js';

const key = randomBytes(32);
const tempDir = () => mkdtempSync(join(tmpdir(), 'jousting-vault-'));

describe('seal and open (AES-256-GCM)', () => {
  it('round-trips any text, unicode included', () => {
    for (const value of ['hunter2', 'x', 'ünïcødé \u{1F511} line\nbreak', 'a'.repeat(65_536)]) {
      const sealed = seal(key, 'TOKEN', value);
      expect(open(key, 'TOKEN', sealed)).toEqual({ ok: true, value });
      expect(Buffer.from(sealed.ciphertext, 'base64').toString('utf8')).not.toContain(value.slice(0, 16));
    }
  });

  it('uses a fresh random IV: the same value sealed twice gives different IVs and ciphertexts', () => {
    const a = seal(key, 'TOKEN', 'same value');
    const b = seal(key, 'TOKEN', 'same value');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(open(key, 'TOKEN', a)).toEqual({ ok: true, value: 'same value' });
    expect(open(key, 'TOKEN', b)).toEqual({ ok: true, value: 'same value' });
  });

  it('refuses a tampered ciphertext, tag or IV as tampered', () => {
    const sealed = seal(key, 'TOKEN', 'attack at dawn');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 0x01;
      return bytes.toString('base64');
    };
    expect(open(key, 'TOKEN', { ...sealed, ciphertext: flip(sealed.ciphertext) })).toEqual({
      ok: false,
      failure: 'tampered',
    });
    expect(open(key, 'TOKEN', { ...sealed, tag: flip(sealed.tag) })).toEqual({
      ok: false,
      failure: 'tampered',
    });
    expect(open(key, 'TOKEN', { ...sealed, iv: flip(sealed.iv) })).toEqual({
      ok: false,
      failure: 'tampered',
    });
    expect(open(key, 'TOKEN', { ...sealed, tag: '' })).toEqual({ ok: false, failure: 'tampered' });
  });

  it('refuses a value copied under another name', () => {
    const sealed = seal(key, 'TOKEN', 'attack at dawn');
    expect(open(key, 'OTHER', sealed)).toEqual({ ok: false, failure: 'tampered' });
  });

  it('reports a value sealed with another key as wrong_key, and key ids tell keys apart', () => {
    const other = randomBytes(32);
    const sealed = seal(key, 'TOKEN', 'attack at dawn');
    expect(sealed.keyId).toBe(keyIdOf(key));
    expect(keyIdOf(other)).not.toBe(keyIdOf(key));
    expect(sealed.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(open(other, 'TOKEN', sealed)).toEqual({ ok: false, failure: 'wrong_key' });
    // Even with a forged key id, the wrong key fails authentication instead of returning garbage.
    expect(open(other, 'TOKEN', { ...sealed, keyId: keyIdOf(other) })).toEqual({
      ok: false,
      failure: 'tampered',
    });
  });
});

describe('JOUSTING_MASTER_KEY', () => {
  it('accepts 32 bytes as hex, base64 or base64url, with surrounding whitespace', () => {
    for (const text of [
      key.toString('hex'),
      key.toString('hex').toUpperCase(),
      key.toString('base64'),
      key.toString('base64url'),
      ` ${key.toString('base64')}\n`,
    ]) {
      const parsed = parseMasterKey(text);
      expect(parsed.ok, text).toBe(true);
      if (parsed.ok) expect(parsed.key.equals(key)).toBe(true);
    }
  });

  it('refuses other lengths and other text, without quoting the text', () => {
    const cases = [
      randomBytes(16).toString('hex'),
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      'correct horse battery staple!!',
      `${key.toString('hex')}zz`,
    ];
    for (const text of cases) {
      const parsed = parseMasterKey(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) {
        expect(parsed.reason).toMatch(/32 bytes as 64 hex characters or as base64/);
        expect(parsed.reason).not.toContain(text);
      }
    }
    const short = parseMasterKey(randomBytes(16).toString('base64'));
    expect(!short.ok && short.reason).toContain('decodes to 16 bytes');
  });

  it('a bad value is a config error naming the variable, never echoing it', () => {
    const bad = 'not-a-key-but-a-secret-phrase';
    const schema = BaseConfig.extend(settingsService.config.shape);
    let error: unknown;
    try {
      loadConfig(schema, { JOUSTING_MASTER_KEY: bad });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(JoustingError);
    const e = error as JoustingError;
    expect(e.code).toBe('validation_failed');
    expect(e.message).toMatch(/^invalid environment: JOUSTING_MASTER_KEY must be 32 bytes/);
    expect(e.details?.fields?.map((f) => f.field)).toEqual(['JOUSTING_MASTER_KEY']);
    expect(JSON.stringify(e.toBody())).not.toContain(bad);
  });

  it('unset or blank means the key file; a valid one is the key', () => {
    const schema = BaseConfig.extend(settingsService.config.shape);
    expect(loadConfig(schema, {}).JOUSTING_MASTER_KEY).toBeUndefined();
    expect(loadConfig(schema, { JOUSTING_MASTER_KEY: '  ' }).JOUSTING_MASTER_KEY).toBeUndefined();
    const parsed = loadConfig(schema, { JOUSTING_MASTER_KEY: key.toString('base64') }).JOUSTING_MASTER_KEY;
    expect(parsed?.equals(key)).toBe(true);
  });
});

describe('the master key file', () => {
  it('is created on first use with 32 random bytes and mode 0600, then reused', () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    const first = loadMasterKey({ fromEnv: undefined, dataDir });
    const file = join(dataDir, MASTER_KEY_FILE);
    expect(first).toMatchObject({ source: 'file', file, created: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).equals(first.key)).toBe(true);
    expect(first.key).toHaveLength(32);
    const second = loadMasterKey({ fromEnv: undefined, dataDir });
    expect(second).toMatchObject({ source: 'file', created: false });
    expect(second.key.equals(first.key)).toBe(true);
    // Two data dirs never share a key: it is random, not derived from the host.
    expect(loadMasterKey({ fromEnv: undefined, dataDir: tempDir() }).key.equals(first.key)).toBe(false);
  });

  it('refuses to start from a key file of the wrong length, and leaves it alone', () => {
    const dataDir = tempDir();
    const file = join(dataDir, MASTER_KEY_FILE);
    writeFileSync(file, key.toString('base64'), { mode: 0o600 });
    expect(() => loadMasterKey({ fromEnv: undefined, dataDir })).toThrow(
      /master key file .*master\.key holds 44 bytes, not 32: refusing to start/,
    );
    writeFileSync(file, '');
    expect(() => loadMasterKey({ fromEnv: undefined, dataDir })).toThrow(/holds 0 bytes/);
    expect(readFileSync(file)).toHaveLength(0);
  });

  it('warns about a key file other users can read', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, MASTER_KEY_FILE), key, { mode: 0o644 });
    const warnings: string[] = [];
    const loaded = loadMasterKey({ fromEnv: undefined, dataDir, warn: (m) => warnings.push(m) });
    expect(loaded.key.equals(key)).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/chmod 600/)]);
  });

  it('is not created when JOUSTING_MASTER_KEY is given', () => {
    const dataDir = tempDir();
    const loaded = loadMasterKey({ fromEnv: key, dataDir });
    expect(loaded).toMatchObject({ source: 'env', created: false });
    expect(existsSync(join(dataDir, MASTER_KEY_FILE))).toBe(false);
  });
});
