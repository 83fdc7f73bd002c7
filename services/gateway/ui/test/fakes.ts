import type { WsClientMessage } from '@jousting/contracts';
import type { Clock, SocketFactory, SocketHandlers, SocketLike } from '../src/live';

/** A clock whose time only moves when the test says so. */
export class FakeClock implements Clock {
  time = 0;
  private nextId = 1;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  now(): number {
    return this.time;
  }

  /** Moves time forward, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }

  /** Milliseconds until the next timer, or undefined when none is pending. */
  nextDelay(): number | undefined {
    const next = Math.min(...this.timers.map((t) => t.at));
    return Number.isFinite(next) ? next - this.time : undefined;
  }
}

/** One socket the manager opened; the test plays the server. */
export class FakeSocket implements SocketLike {
  readonly sent: WsClientMessage[] = [];
  closedBy: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(
    readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as WsClientMessage);
  }

  close(code?: number, reason?: string): void {
    this.closedBy = { code, reason };
  }

  // --- the server side ---

  open(): void {
    this.handlers.onOpen();
  }

  receive(message: unknown): void {
    this.handlers.onMessage(JSON.stringify(message));
  }

  hello(seq: number): void {
    this.open();
    this.receive({ type: 'hello', seq, patterns: [] });
  }

  event(seq: number, type = 'settings.changed', data: unknown = {}): void {
    this.receive({
      type: 'event',
      seq,
      event: {
        specversion: '1.0',
        id: `evt-${seq}`,
        source: '/jousting/test',
        type,
        time: new Date(0).toISOString(),
        traceid: 'trace',
        data,
      },
    });
  }

  /** The connection drops (no close frame). */
  drop(code = 1006): void {
    this.handlers.onClose(code, '');
  }
}

export class FakeServer {
  readonly sockets: FakeSocket[] = [];

  readonly factory: SocketFactory = (url, handlers) => {
    const socket = new FakeSocket(url, handlers);
    this.sockets.push(socket);
    return socket;
  };

  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }
}
