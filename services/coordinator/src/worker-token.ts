import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@jousting/bus';
import { JoustingError } from '@jousting/contracts';

export const WORKER_TOKEN_FILE = 'worker-token';
export const newWorkerToken = () => `jsw_${randomBytes(32).toString('hex')}`;

/**
 * The token every worker request must carry: JOUSTING_WORKER_TOKEN, else the file
 * `<dataDir>/worker-token`, created (mode 0600) on first start. Logs the path, never the token.
 */
export async function loadWorkerToken(opts: {
  envToken: string | undefined;
  dataDir: string;
  logger: Logger;
}): Promise<string> {
  if (opts.envToken) {
    opts.logger.info('workers authenticate with the token from JOUSTING_WORKER_TOKEN');
    return opts.envToken;
  }
  const path = resolve(opts.dataDir, WORKER_TOKEN_FILE);
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token) {
      opts.logger.info({ path }, 'workers authenticate with the token in this file');
      return token;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = newWorkerToken();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  opts.logger.warn({ path }, 'created a worker token and wrote it to this file; give it to your workers');
  return token;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Checks a presented token in constant time (hashes first, so lengths never leak). */
export function workerTokenCheck(expected: string): (presented: string | undefined) => void {
  const want = digest(expected);
  return (presented) => {
    if (presented === undefined || !timingSafeEqual(digest(presented), want)) {
      throw new JoustingError('unauthorized', 'missing or wrong worker token (header Jst-Worker-Token)');
    }
  };
}
