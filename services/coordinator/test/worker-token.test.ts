import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@jousting/bus';
import { describe, expect, it } from 'vitest';
import { loadWorkerToken, WORKER_TOKEN_FILE, workerTokenCheck } from '../src/worker-token.js';

describe('worker token', () => {
  it('creates a jsw_ token in a 0600 file on first start, reuses it, and logs only the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coord-token-'));
    const lines: string[] = [];
    const logger = createLogger('t', {
      level: 'info',
      destination: { write: (l: string) => void lines.push(l) },
    });
    try {
      const token = await loadWorkerToken({ envToken: undefined, dataDir: join(dir, 'nested'), logger });
      expect(token).toMatch(/^jsw_[0-9a-f]{64}$/);
      const file = join(dir, 'nested', WORKER_TOKEN_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(token);
      expect(await loadWorkerToken({ envToken: undefined, dataDir: join(dir, 'nested'), logger })).toBe(
        token,
      );
      expect(lines.join('')).toContain(file);
      expect(lines.join('')).not.toContain(token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers JOUSTING_WORKER_TOKEN and refuses a missing or wrong token as unauthorized', async () => {
    const logger = createLogger('t', { level: 'silent' });
    const token = await loadWorkerToken({ envToken: 'jsw_from_env', dataDir: '/nonexistent', logger });
    const check = workerTokenCheck(token);
    expect(() => check('jsw_from_env')).not.toThrow();
    expect(() => check('jsw_from_en')).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    expect(() => check(undefined)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
  });
});
