import { type WsServerMessage, WsServerMessage as WsServerMessageSchema } from '@jousting/contracts';
import WebSocket from 'ws';

/** A test client for the gateway's /ws feed that records every message it receives. */
export class FeedClient {
  readonly messages: WsServerMessage[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) =>
      this.messages.push(WsServerMessageSchema.parse(JSON.parse(raw.toString()))),
    );
  }

  static async connect(baseUrl: string, token: string): Promise<FeedClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const client = new FeedClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await client.waitFor((m) => m.type === 'hello');
    return client;
  }

  send(message: unknown) {
    this.socket.send(JSON.stringify(message));
  }

  async subscribe(patterns: string[]) {
    this.send({ type: 'subscribe', patterns });
    await this.waitFor((m) => m.type === 'subscribed');
  }

  events() {
    return this.messages.flatMap((m) => (m.type === 'event' ? [m] : []));
  }

  async waitFor(predicate: (m: WsServerMessage) => boolean, timeoutMs = 5000): Promise<WsServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(this.messages)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close() {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
