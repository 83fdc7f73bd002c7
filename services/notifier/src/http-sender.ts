import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, classifyAddress, guardedLookup, hostOf, type Resolver } from './url-guard.js';

export interface SendResult {
  /** 2xx within the timeout. */
  ok: boolean;
  status?: number;
  /** The first `bodyLimit` characters of the response, when asked for. */
  body?: string;
  durationMs: number;
  /** Why it failed, short and safe to show (never request headers, which carry signatures). */
  error?: string;
  retryAfter?: string;
  /** The target address is not allowed: the request was never sent. */
  blocked?: boolean;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Sockets per endpoint origin (keep-alive pool size). */
  maxSocketsPerOrigin: number;
  allowPrivate: () => boolean;
  resolve?: Resolver;
}

const MAX_BODY_READ = 64 * 1024;

/**
 * POSTs JSON bodies over keep-alive connections. The socket's address is checked at connect time
 * (guardedLookup), and a URL with an IP literal host is checked before sending.
 */
export class HttpSender {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(private readonly opts: SenderOptions) {
    const agentOptions = {
      keepAlive: true,
      maxSockets: opts.maxSocketsPerOrigin,
      maxFreeSockets: opts.maxSocketsPerOrigin,
      scheduling: 'lifo' as const,
      lookup: guardedLookup(opts.allowPrivate, opts.resolve),
    };
    this.http = new HttpAgent(agentOptions);
    this.https = new HttpsAgent(agentOptions);
  }

  send(url: string, body: string, headers: Record<string, string>, bodyLimit = 0): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.resolve({ ok: false, durationMs: 0, error: 'invalid URL', blocked: true });
    }
    const host = hostOf(target);
    if (isIP(host) && !this.opts.allowPrivate()) {
      const reason = classifyAddress(host);
      if (reason) {
        const err = new BlockedAddressError(host, host, reason);
        return Promise.resolve({ ok: false, durationMs: 0, error: err.message, blocked: true });
      }
    }
    const https = target.protocol === 'https:';
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const req = (https ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: https ? this.https : this.http,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'jousting-notifier/0.1',
            ...headers,
          },
        },
        (res) => readResponse(res, bodyLimit, finish),
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`no complete response within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof BlockedAddressError) finish({ ok: false, error: err.message, blocked: true });
        else finish({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message });
      });
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

function readResponse(
  res: IncomingMessage,
  bodyLimit: number,
  finish: (result: Omit<SendResult, 'durationMs'>) => void,
) {
  const status = res.statusCode ?? 0;
  const retryAfter = res.headers['retry-after'];
  let text = '';
  let read = 0;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    read += chunk.length;
    if (text.length < bodyLimit) text += chunk.slice(0, bodyLimit - text.length);
    // A huge reply is not worth reading; dropping the socket is cheaper.
    if (read > MAX_BODY_READ) res.destroy();
  });
  const done = () => {
    const ok = status >= 200 && status < 300;
    finish({
      ok,
      status,
      ...(bodyLimit > 0 ? { body: text } : {}),
      ...(ok ? {} : { error: `HTTP ${status}` }),
      ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
    });
  };
  res.on('end', done);
  res.on('close', done);
  res.on('error', done);
}
