import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@jousting/bus';

/**
 * The worker token from $JOUSTING_DATA_DIR/worker-token, which the coordinator writes on its
 * first start; waits for it a while, since `jousting up` may start us first.
 */
export async function readWorkerToken(dataDir: string, logger: Logger, timeoutMs = 10_000): Promise<string> {
  const path = join(dataDir, 'worker-token');
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const token = (await readFile(path, 'utf8')).trim();
      if (token) return token;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no worker token: set JOUSTING_WORKER_TOKEN, or start the coordinator, which writes ${path}`,
      );
    }
    if (!told) logger.info({ path }, 'waiting for the coordinator to write the worker token');
    told = true;
    await new Promise((r) => setTimeout(r, 200));
  }
}
