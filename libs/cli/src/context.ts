import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GlobalFlags } from './args.js';
import { UsageError } from './errors.js';
import { GatewayClient } from './http-client.js';
import { Output, type Writable } from './output.js';

/** The outside world of one CLI run; bin.ts passes the real process, tests pass fakes. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Writable;
  stderr: Writable;
  fetch?: typeof fetch;
}

export const DEFAULT_GATEWAY_PORT = 8080;
export const DEFAULT_NATS_PORT = 4222;

/** $JOUSTING_DATA_DIR made absolute (default ./.data). */
export function dataDirOf(env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, env.JOUSTING_DATA_DIR || './.data');
}

export const adminTokenFile = (dataDir: string) => join(dataDir, 'admin-token');

/** --url, else $JOUSTING_URL, else the local gateway on $GATEWAY_PORT (8080). */
export function gatewayUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag || env.JOUSTING_URL || `http://127.0.0.1:${env.GATEWAY_PORT || DEFAULT_GATEWAY_PORT}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid gateway URL "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`gateway URL must be http:// or https://, got "${url}"`);
  }
  return url.replace(/\/+$/, '');
}

export type TokenSource = 'flag' | 'env' | 'file' | 'none';

/** --token, else $JOUSTING_TOKEN, else the admin-token file `jousting up` leaves in the data dir. */
export function tokenOf(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): { token: string | undefined; source: TokenSource; file: string } {
  const file = adminTokenFile(dataDir);
  if (flag) return { token: flag, source: 'flag', file };
  if (env.JOUSTING_TOKEN) return { token: env.JOUSTING_TOKEN, source: 'env', file };
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, source: 'file', file };
  } catch {}
  return { token: undefined, source: 'none', file };
}

/** What every command gets: output, flags, and a gateway client built on first use. */
export class CommandContext {
  readonly out: Output;
  readonly dataDir: string;
  private clientInstance: GatewayClient | undefined;
  tokenSource: TokenSource = 'none';
  tokenFile = '';

  constructor(
    readonly io: CliIo,
    readonly flags: GlobalFlags,
  ) {
    this.out = new Output(io.stdout, io.stderr, flags.json);
    this.dataDir = dataDirOf(io.env, io.cwd);
  }

  get client(): GatewayClient {
    if (!this.clientInstance) {
      const baseUrl = gatewayUrlOf(this.flags.url, this.io.env);
      const { token, source, file } = tokenOf(this.flags.token, this.io.env, this.dataDir);
      this.tokenSource = source;
      this.tokenFile = file;
      this.clientInstance = new GatewayClient({
        baseUrl,
        token,
        ...(this.io.fetch ? { fetch: this.io.fetch } : {}),
      });
    }
    return this.clientInstance;
  }
}
