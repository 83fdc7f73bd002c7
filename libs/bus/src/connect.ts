import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger.js';

export type { NatsConnection };

export interface ConnectOptions {
  servers: string;
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  logger: Logger;
  /** Give up on the first connect after this long; reconnects after that go on forever. */
  timeoutMs?: number;
}

/** Connects with endless reconnect and logs every status change of the connection. */
export async function connectBus(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: opts.timeoutMs ?? 10_000,
    waitOnFirstConnect: false,
    // Each request otherwise captures a stack trace for a possible failure: 1-2 % of the CPU of
    // every process on the hot paths, measured. Our errors carry the subject and code instead.
    noAsyncTraces: true,
  });
  opts.logger.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'ping' || status.type === 'staleConnection') continue;
      const level = status.type === 'disconnect' || status.type === 'error' ? 'warn' : 'info';
      opts.logger[level](
        { status: status.type, detail: 'server' in status ? status.server : undefined },
        'NATS status',
      );
    }
  })();
  return nc;
}
