import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** What the receiver answered (0: it dropped the connection). */
  answered: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Drop the connection instead of answering (a network error for the sender). */
  drop?: boolean;
  /** Never answer (a timeout for the sender). */
  hang?: boolean;
}

/** A local HTTP endpoint whose answers a test scripts; it records every request. */
export async function startReceiver() {
  const received: Received[] = [];
  let behaviour: (req: IncomingMessage, n: number) => Reply = () => ({ status: 200 });
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = behaviour(req, count++);
      received.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        answered: reply.drop ? 0 : reply.status,
      });
      if (reply.drop) {
        req.socket.destroy();
        return;
      }
      if (reply.hang) return;
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Sets how the following requests are answered; `n` counts from 0 since the last call. */
    answer(fn: (req: IncomingMessage, n: number) => Reply) {
      count = 0;
      behaviour = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
