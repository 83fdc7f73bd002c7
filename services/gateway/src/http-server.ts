import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { WebSocketServer } from 'ws';
import type { GatewayEnv } from './http-env.js';

export interface HttpListener {
  port: number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Serves the app over HTTP with WebSocket upgrades; resolves once listening, rejects if it cannot. */
export async function listenHttp(
  app: Hono<GatewayEnv>,
  opts: { host: string; port: number; maxWsMessageBytes?: number },
): Promise<HttpListener> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxWsMessageBytes ?? 64 * 1024 });
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: opts.host,
    websocket: { server: wss },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 3000) =>
      new Promise<void>((resolve) => {
        // Keep-alive sockets turn idle as their last response ends; close them as they do.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearInterval(idle);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
