import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK_SERVICES } from '@jousting/contracts';
import { freePort, launchService, type NatsHandle, type ServiceProcess, startNats } from '@jousting/testing';

export interface Stack {
  nats: NatsHandle;
  /** The gateway's base URL, e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  adminToken: string;
  dataDir: string;
  services: Record<string, ServiceProcess>;
  stop(): Promise<void>;
}

export const newApiToken = () => `jst_${randomBytes(32).toString('hex')}`;

/** Boots NATS and every service as real processes (from their built dist/), for one test file. */
export async function startStack(
  opts: { services?: string[]; env?: Record<string, string> } = {},
): Promise<Stack> {
  const nats = await startNats();
  const dataDir = mkdtempSync(join(tmpdir(), 'jousting-e2e-'));
  const adminToken = newApiToken();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    JOUSTING_DATA_DIR: dataDir,
    JOUSTING_ADMIN_TOKEN: adminToken,
    GATEWAY_PORT: String(port),
    GATEWAY_HOST: '127.0.0.1',
    ...opts.env,
  };
  const services: Record<string, ServiceProcess> = {};
  const stop = async () => {
    await Promise.all(Object.values(services).map((s) => s.stop()));
    await nats.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (const name of opts.services ?? STACK_SERVICES) {
      services[name] = await launchService(name, { natsUrl: nats.url, env });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nats, baseUrl, adminToken, dataDir, services, stop };
}
