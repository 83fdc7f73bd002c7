import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  EventPublisher,
  endpoint,
  type RunningService,
  serveCommands,
  startService,
} from '@jousting/bus';
import {
  DEFAULT_SETTINGS,
  healthCommand,
  type Settings,
  type SettingsChanges,
  settingsCommands,
  type WsServerMessage,
} from '@jousting/contracts';
import { freePort } from '@jousting/testing';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { newApiToken } from '../src/auth.js';
import { gatewayService } from '../src/service.js';

// biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
type JsonBody = any;

export const silentLogger = createLogger('test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface GatewayUnderTest {
  url: string;
  wsUrl: string;
  adminToken: string;
  dataDir: string;
  running: RunningService;
  stop(): Promise<void>;
}

/** The real gateway service (startService, as in production) on a free port of 127.0.0.1. */
export async function startGateway(
  natsUrl: string,
  env: Record<string, string> = {},
): Promise<GatewayUnderTest> {
  const port = await freePort();
  const adminToken = newApiToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'jousting-gateway-'));
  const running = await startService(gatewayService, {
    env: {
      NATS_URL: natsUrl,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      JOUSTING_ADMIN_TOKEN: adminToken,
      JOUSTING_DATA_DIR: dataDir,
      JOUSTING_UI_DIR: join(dataDir, 'no-ui'),
      ...env,
    },
    logger: silentLogger,
  });
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    adminToken: env.JOUSTING_ADMIN_TOKEN ?? adminToken,
    dataDir,
    running,
    stop: () => running.stop(),
  };
}

/** fetch against the gateway with an optional bearer token; JSON bodies are encoded. */
export function client(baseUrl: string, token?: string) {
  return async (
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(opts.body === undefined
        ? {}
        : { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    let json: JsonBody;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}

/** Creates a token through the API with the admin token and returns the plain token. */
export async function createToken(gw: GatewayUnderTest, name: string, role: 'viewer' | 'operator' | 'admin') {
  const res = await client(gw.url, gw.adminToken)('POST', '/api/tokens', { body: { name, role } });
  if (res.status !== 201) throw new Error(`creating token ${name} failed: ${res.status} ${res.text}`);
  return res.json.token as string;
}

/**
 * A stand-in settings service on the real NATS server: the settings commands and health, with
 * settings held in memory (the real service lives in services/settings).
 */
export async function startSettingsResponder(nc: NatsConnection) {
  let settings: Settings = { ...DEFAULT_SETTINGS };
  const apply = (next: Settings) => {
    const changes: SettingsChanges = {};
    for (const key of Object.keys(next) as Array<keyof Settings>) {
      if (next[key] !== settings[key]) changes[key] = { from: settings[key], to: next[key] };
    }
    settings = next;
    return { changes, settings };
  };
  const actors: string[] = [];
  const service = await serveCommands(nc, { name: 'settings', version: '0.0.0-test', logger: silentLogger }, [
    endpoint(settingsCommands.get, async () => ({ settings })),
    endpoint(settingsCommands.patch, async (req) => {
      actors.push(req.actor);
      return apply({ ...settings, ...req.changes });
    }),
    endpoint(settingsCommands.reset, async (req) => {
      actors.push(req.actor);
      const keys = req.keys ?? (Object.keys(DEFAULT_SETTINGS) as Array<keyof Settings>);
      return apply({ ...settings, ...Object.fromEntries(keys.map((k) => [k, DEFAULT_SETTINGS[k]])) });
    }),
    endpoint(healthCommand('settings'), async () => ({
      service: 'settings',
      instance: 'settings-test',
      version: '0.0.0-test',
      uptimeSeconds: 0,
      status: 'ok' as const,
    })),
  ]);
  return { actors, stop: () => service.stop() };
}

export function eventPublisher(nc: NatsConnection) {
  return new EventPublisher(jetstream(nc), '/jousting/test');
}

/** A `settings.rejected` event; `padding` makes it large (slow-client tests). */
export const rejectedData = (field: string, padding = 0) => ({
  field,
  value: padding ? 'x'.repeat(padding) : 'bad',
  reason: 'test',
  restored: 1,
  actor: 'external',
});

/** Waits until `check` holds, re-checking on every `poke` and at least every 20 ms. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type EventMessage = Extract<WsServerMessage, { type: 'event' }>;

/** A WebSocket feed client that records every message and can wait for one. */
export class FeedClient {
  readonly messages: WsServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #listeners = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as WsServerMessage);
      for (const listener of this.#listeners) listener();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Connects and waits for `hello`. */
  static async connect(
    url: string,
    opts: { token?: string; headers?: Record<string, string>; autoPong?: boolean } = {},
  ): Promise<FeedClient> {
    const socket = new WebSocket(url, {
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
      autoPong: opts.autoPong ?? true,
    });
    const feed = new FeedClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
      );
    });
    await feed.waitFor((m) => m.type === 'hello');
    return feed;
  }

  get hello(): Extract<WsServerMessage, { type: 'hello' }> {
    return this.messages.find((m) => m.type === 'hello') as Extract<WsServerMessage, { type: 'hello' }>;
  }

  events(): EventMessage[] {
    return this.messages.filter((m): m is EventMessage => m.type === 'event');
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends `subscribe` and waits for the `subscribed` answer. */
  async subscribe(patterns: string[]): Promise<void> {
    const before = this.messages.length;
    this.send({ type: 'subscribe', patterns });
    await this.waitFor((m, i) => i >= before && m.type === 'subscribed');
  }

  /** Resolves with the first message (already received or coming) that matches. */
  waitFor(
    predicate: (m: WsServerMessage, index: number) => boolean,
    timeoutMs = 5000,
  ): Promise<WsServerMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.messages.findIndex(predicate);
        if (index < 0) return false;
        cleanup();
        resolve(this.messages[index]!);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no matching message in ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.type))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      if (!check()) this.#listeners.add(check);
    });
  }

  waitForEventSeq(seq: number, timeoutMs?: number) {
    return this.waitFor((m) => m.type === 'event' && m.seq === seq, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/** An SSE client over fetch that parses frames as they come. */
export class SseClient {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  #abort = new AbortController();
  #listeners = new Set<() => void>();
  done: Promise<void> = Promise.resolve();

  static async open(
    url: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; client?: SseClient; body?: JsonBody }> {
    const sse = new SseClient();
    const res = await fetch(url, { headers, signal: sse.#abort.signal });
    if (res.status !== 200) return { status: res.status, body: await res.json() };
    sse.done = sse.#read(res.body!);
    return { status: 200, client: sse };
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          this.#parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        for (const listener of this.#listeners) listener();
      }
    } catch {
      // aborted by close()
    }
  }

  #parse(block: string): void {
    const frame: SseFrame = { data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && frame.event === undefined) return;
    frame.data = data.join('\n');
    this.frames.push(frame);
  }

  waitFor(predicate: (f: SseFrame) => boolean, timeoutMs = 5000): Promise<SseFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(predicate);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no matching SSE frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.event))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      if (!check()) this.#listeners.add(check);
    });
  }

  close(): void {
    this.#abort.abort();
  }
}
