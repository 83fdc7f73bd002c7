import { callCommand, type NatsConnection } from '@jousting/bus';
import { healthCommand, type Readiness, SERVICE_NAMES } from '@jousting/contracts';

export interface ReadinessOptions {
  services?: readonly string[];
  /** How long each probe may take; all run in parallel, so this bounds the whole check. */
  timeoutMs?: number;
}

/**
 * Ready means: connected to NATS and every service answers its health command. `missing` names
 * what is not ("nats", or service names). Instance counts come from the services API `$SRV.PING`.
 */
export async function checkReadiness(nc: NatsConnection, opts: ReadinessOptions = {}): Promise<Readiness> {
  const services = opts.services ?? SERVICE_NAMES;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const [nats, ...probes] = await Promise.all([
    probeNats(nc, timeoutMs),
    ...services.map((name) => probeService(nc, name, timeoutMs)),
  ]);
  const missing = [...(nats.connected ? [] : ['nats']), ...services.filter((_, i) => !probes[i]?.ok)];
  return {
    ready: missing.length === 0,
    nats,
    services: Object.fromEntries(services.map((name, i) => [name, probes[i]!])),
    missing,
  };
}

async function probeNats(nc: NatsConnection, timeoutMs: number): Promise<Readiness['nats']> {
  if (nc.isClosed()) return { connected: false };
  try {
    const rttMs = await withTimeout(nc.rtt(), timeoutMs);
    return { connected: true, server: nc.getServer(), rttMs };
  } catch {
    return { connected: false, server: nc.getServer() };
  }
}

async function probeService(
  nc: NatsConnection,
  name: string,
  timeoutMs: number,
): Promise<Readiness['services'][string]> {
  const [health, instances] = await Promise.all([
    callCommand(nc, healthCommand(name), {}, { timeoutMs }).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    ),
    countInstances(nc, name, timeoutMs),
  ]);
  if (health !== undefined) return { ok: false, instances, error: health };
  // An instance that answered health is there even if its PING reply came late.
  return { ok: true, instances: Math.max(1, instances) };
}

/** Every instance of a NATS service answers `$SRV.PING.<name>`; collect replies until they stop. */
async function countInstances(nc: NatsConnection, name: string, timeoutMs: number): Promise<number> {
  try {
    const replies = await nc.requestMany(`$SRV.PING.${name}`, undefined, {
      strategy: 'stall',
      stall: 50,
      maxWait: timeoutMs,
    });
    let count = 0;
    for await (const _ of replies) count++;
    return count;
  } catch {
    return 0;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
