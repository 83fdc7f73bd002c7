import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  casUpdate,
  decodeJson,
  encodeJson,
  type KV,
  type Logger,
  openKv,
  type ServiceContext,
} from '@jousting/bus';
import {
  API_TOKEN_RE,
  JoustingError,
  Role,
  roleAllows,
  type Session,
  type TokenInfo,
} from '@jousting/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { GatewayEnv, Principal } from './http-env.js';

export const TOKENS_BUCKET = 'gateway-tokens';
export const SESSIONS_BUCKET = 'gateway-sessions';
export const SESSION_COOKIE = 'jst_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const ADMIN_TOKEN_FILE = 'admin-token';
/** How long a looked-up token or session is trusted without asking KV: the revocation delay on other replicas. */
const CACHE_TTL_MS = 2000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type JetStream = ServiceContext<unknown>['js'];

const StoredToken = z.object({ name: z.string(), role: Role, createdAt: z.iso.datetime() });
type StoredToken = z.infer<typeof StoredToken>;
const StoredSession = z.object({ tokenHash: z.string(), csrfToken: z.string(), createdAt: z.iso.datetime() });
type StoredSession = z.infer<typeof StoredSession>;

/** Tokens and session ids are stored only as their sha256, so a copy of a bucket logs nobody in. */
export const sha256Hex = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const newApiToken = () => `jst_${randomBytes(32).toString('hex')}`;
/** The public id of a token: the first 12 hex characters of its hash. */
export const tokenIdOf = (hash: string) => hash.slice(0, 12);
export const actorOf = (principal: Principal) => `token:${principal.name}`;

const unauthorized = (message: string) => new JoustingError('unauthorized', message);

/** A small map whose entries expire; bounded so unknown keys cannot grow it without limit. */
class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: V): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** API tokens in the `gateway-tokens` bucket: key = sha256 of the token, value = {name, role, createdAt}. */
export class TokenStore {
  readonly #cache = new TtlCache<StoredToken>(CACHE_TTL_MS);

  constructor(private readonly kv: KV) {}

  static async open(js: JetStream): Promise<TokenStore> {
    return new TokenStore(
      await openKv(js, TOKENS_BUCKET, { description: 'Gateway API tokens: sha256(token) -> name, role' }),
    );
  }

  /** The token with this hash, or undefined when it does not exist (never did, or was revoked). */
  async lookup(hash: string): Promise<StoredToken | undefined> {
    const cached = this.#cache.get(hash);
    if (cached) return cached;
    const stored = StoredToken.safeParse(decodeJson(await this.kv.get(hash)));
    if (!stored.success) return undefined;
    this.#cache.set(hash, stored.data);
    return stored.data;
  }

  async list(): Promise<TokenInfo[]> {
    const items: TokenInfo[] = [];
    for (const hash of await this.#hashes()) {
      const stored = StoredToken.safeParse(decodeJson(await this.kv.get(hash)));
      if (stored.success) items.push({ id: tokenIdOf(hash), ...stored.data });
    }
    return items.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  /** Creates a token; the plain token is returned here once and never stored. */
  async create(name: string, role: Role): Promise<TokenInfo & { token: string }> {
    if ((await this.list()).some((t) => t.name === name)) {
      throw new JoustingError(
        'conflict',
        `a token named "${name}" already exists; revoke it or pick another name`,
        {
          fields: [{ field: 'name', message: 'already used' }],
        },
      );
    }
    const token = newApiToken();
    const hash = sha256Hex(token);
    const stored: StoredToken = { name, role, createdAt: new Date().toISOString() };
    await this.kv.create(hash, encodeJson(stored));
    return { id: tokenIdOf(hash), ...stored, token };
  }

  /** Makes sure `token` exists with this name and role (the admin token from the environment). */
  async ensure(token: string, name: string, role: Role): Promise<void> {
    const hash = sha256Hex(token);
    await casUpdate<StoredToken>(
      this.kv,
      hash,
      (current) =>
        current?.name === name && current.role === role
          ? undefined
          : { name, role, createdAt: current?.createdAt ?? new Date().toISOString() },
      { decode: (raw) => StoredToken.safeParse(raw).data },
    );
    this.#cache.delete(hash);
  }

  /** Revokes the token with this id; its sessions fail on their next request. */
  async revoke(id: string): Promise<TokenInfo> {
    const hash = (await this.#hashes()).find((h) => tokenIdOf(h) === id);
    const stored = hash ? StoredToken.safeParse(decodeJson(await this.kv.get(hash))) : undefined;
    if (!hash || !stored?.success) throw new JoustingError('not_found', `no token with id ${id}`);
    await this.kv.delete(hash);
    this.#cache.delete(hash);
    return { id, ...stored.data };
  }

  async isEmpty(): Promise<boolean> {
    return (await this.#hashes()).length === 0;
  }

  async #hashes(): Promise<string[]> {
    const hashes: string[] = [];
    for await (const key of await this.kv.keys()) hashes.push(key);
    return hashes;
  }
}

/** Browser sessions in `gateway-sessions` (bucket TTL 12 h): key = sha256 of the cookie value. */
export class SessionStore {
  readonly #cache = new TtlCache<StoredSession>(CACHE_TTL_MS);

  constructor(private readonly kv: KV) {}

  static async open(js: JetStream): Promise<SessionStore> {
    return new SessionStore(
      await openKv(js, SESSIONS_BUCKET, {
        maxAgeMs: SESSION_TTL_MS,
        description: 'Gateway browser sessions: sha256(session id) -> token hash, CSRF token',
      }),
    );
  }

  async create(tokenHash: string): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const stored: StoredSession = { tokenHash, csrfToken, createdAt: new Date().toISOString() };
    await this.kv.create(sha256Hex(id), encodeJson(stored));
    return { id, csrfToken };
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const key = sha256Hex(id);
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const stored = StoredSession.safeParse(decodeJson(await this.kv.get(key)));
    // The bucket TTL removes old sessions; the age check covers a bucket created with another TTL.
    if (!stored.success || Date.parse(stored.data.createdAt) + SESSION_TTL_MS < Date.now()) return undefined;
    this.#cache.set(key, stored.data);
    return stored.data;
  }

  async end(id: string): Promise<void> {
    const key = sha256Hex(id);
    this.#cache.delete(key);
    await this.kv.delete(key);
  }
}

/**
 * Makes sure an admin can log in: registers JOUSTING_ADMIN_TOKEN when set; otherwise, when no token
 * exists at all, creates one and writes it to `<dataDir>/admin-token` (mode 0600). Logs the path, never the token.
 */
export async function bootstrapAdminToken(opts: {
  tokens: TokenStore;
  adminToken: string | undefined;
  dataDir: string;
  logger: Logger;
}): Promise<{ createdFile?: string }> {
  if (opts.adminToken) {
    await opts.tokens.ensure(opts.adminToken, 'admin', 'admin');
    opts.logger.info('the admin token from JOUSTING_ADMIN_TOKEN is registered');
    return {};
  }
  if (!(await opts.tokens.isEmpty())) return {};
  const token = newApiToken();
  const path = resolve(opts.dataDir, ADMIN_TOKEN_FILE);
  await mkdir(dirname(path), { recursive: true });
  // The file first: if storing the hash fails, the next start simply makes a new one.
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // `mode` above only applies when the file is new
  await opts.tokens.ensure(token, 'admin', 'admin');
  opts.logger.warn({ path }, 'no API token existed: created an admin token and wrote it to this file');
  return { createdFile: path };
}

/** Resolves callers, enforces roles and CSRF, and runs the login/logout cookie flow. */
export class Auth {
  constructor(
    readonly tokens: TokenStore,
    readonly sessions: SessionStore,
    private readonly opts: { secureCookies: boolean },
  ) {}

  /** The caller from `Authorization: Bearer jst_…` or the session cookie; 401 when neither is valid. */
  async authenticate(c: Context<GatewayEnv>): Promise<Principal> {
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      if (!token || !API_TOKEN_RE.test(token)) {
        throw unauthorized('the Authorization header must be "Bearer jst_" followed by 64 hex characters');
      }
      const hash = sha256Hex(token);
      const stored = await this.tokens.lookup(hash);
      if (!stored) throw unauthorized('unknown or revoked token');
      return { name: stored.name, role: stored.role, via: 'bearer', tokenHash: hash };
    }
    const sessionId = getCookie(c, SESSION_COOKIE);
    if (sessionId) {
      const session = await this.sessions.get(sessionId);
      if (!session) throw unauthorized('the session has ended; log in again');
      const stored = await this.tokens.lookup(session.tokenHash);
      if (!stored) {
        await this.sessions.end(sessionId);
        throw unauthorized('the token of this session was revoked; log in again');
      }
      return {
        name: stored.name,
        role: stored.role,
        via: 'session',
        tokenHash: session.tokenHash,
        session: { id: sessionId, csrfToken: session.csrfToken },
      };
    }
    throw unauthorized('no credentials: send "Authorization: Bearer jst_…" or log in at /api/auth/login');
  }

  /** Authenticates and checks role and CSRF: 401 without valid credentials, 403 when not allowed. */
  async authorize(c: Context<GatewayEnv>, need: Role): Promise<Principal> {
    const principal = await this.authenticate(c);
    // A cookie rides along on cross-site requests; a header a foreign page cannot read or set does not.
    if (principal.session && !SAFE_METHODS.has(c.req.method)) {
      if (!sameSecret(c.req.header(CSRF_HEADER), principal.session.csrfToken)) {
        throw new JoustingError(
          'forbidden',
          `cookie-authenticated writes need the ${CSRF_HEADER} header (from /api/auth/login or /api/auth/me)`,
        );
      }
    }
    if (!roleAllows(principal.role, need)) {
      throw new JoustingError(
        'forbidden',
        `this needs the ${need} role; token "${principal.name}" has ${principal.role}`,
      );
    }
    c.set('principal', principal);
    c.set('log', c.get('log').child({ actor: actorOf(principal) }));
    return principal;
  }

  /** The same check as middleware, for routes outside the catalog (/ws). */
  requireRole(need: Role): MiddlewareHandler<GatewayEnv> {
    return async (c, next) => {
      await this.authorize(c, need);
      await next();
    };
  }

  async login(c: Context<GatewayEnv>, token: string): Promise<Session> {
    const hash = sha256Hex(token);
    const stored = await this.tokens.lookup(hash);
    if (!stored) throw unauthorized('unknown or revoked token');
    const previous = getCookie(c, SESSION_COOKIE);
    if (previous) await this.sessions.end(previous);
    const session = await this.sessions.create(hash);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: this.opts.secureCookies,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
    return { name: stored.name, role: stored.role, via: 'session', csrfToken: session.csrfToken };
  }

  async logout(c: Context<GatewayEnv>, principal: Principal): Promise<void> {
    if (principal.session) await this.sessions.end(principal.session.id);
    deleteCookie(c, SESSION_COOKIE, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: this.opts.secureCookies,
      path: '/',
    });
  }

  /** True while the principal's token (and session) still exist: long-lived feeds re-check with this. */
  async stillValid(principal: Principal): Promise<boolean> {
    if (!(await this.tokens.lookup(principal.tokenHash))) return false;
    return principal.session ? (await this.sessions.get(principal.session.id)) !== undefined : true;
  }
}

/** The Session body for a principal; the CSRF token only goes to cookie-authenticated callers. */
export function sessionOf(principal: Principal): Session {
  return {
    name: principal.name,
    role: principal.role,
    via: principal.via,
    ...(principal.session ? { csrfToken: principal.session.csrfToken } : {}),
  };
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
