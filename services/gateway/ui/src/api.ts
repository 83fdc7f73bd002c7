import type {
  ErrorBody,
  ErrorCode,
  FieldIssue,
  NewTask,
  Progress,
  Readiness,
  Session,
  SettingKey,
  Settings,
  SettingsChangeResult,
  SettingsPatch,
  Task,
  TaskDetail,
  TaskGraph,
  TaskPatch,
  TaskStatus,
  TaskSummary,
  WorkerInfo,
} from '@jousting/contracts';
import {
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterQuery,
  deadLetterQueryString,
  type RetryBody,
} from './dead-letters';

export type {
  NewTask,
  Progress,
  Readiness,
  Session,
  SettingKey,
  Settings,
  SettingsChangeResult,
  SettingsPatch,
  Task,
  TaskDetail,
  TaskGraph,
  TaskPatch,
  TaskStatus,
  TaskSummary,
  WorkerInfo,
};

/** Query of `GET /api/tasks`; empty values are left out. */
export interface TaskQuery {
  status?: readonly TaskStatus[];
  label?: string;
  kind?: string;
  q?: string;
  limit?: number;
  offset?: number;
}

export interface TaskPage {
  items: TaskSummary[];
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
}

export interface CanceledTask {
  task: Task;
  cascaded: Array<{ id: string; reason: string }>;
  /** All dependents canceled; `cascaded` lists at most the first 1000. */
  cascadedTotal: number;
}

/** Any failed call: an error body from the gateway, or a network failure (`status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'network' | 'bad_response';
  readonly fields: FieldIssue[];
  /** `error.details` of the answer, e.g. `cycle` of a refused dependency. */
  readonly details: Record<string, unknown>;

  constructor(
    status: number,
    code: ApiError['code'],
    message: string,
    fields: FieldIssue[] = [],
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.details = details;
  }
}

export interface ApiClientOptions {
  /** Prefix of every path; '' means same origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called on any 401, so the app can show the login page. */
  onUnauthorized?: () => void;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

interface RequestOptions {
  body?: unknown;
  /** Statuses whose body is the answer rather than an error (readiness answers 503). */
  acceptStatus?: number[];
  /** Do not call onUnauthorized on 401 (e.g. the session probe at start). */
  quiet401?: boolean;
  headers?: Record<string, string>;
}

/** A typed fetch wrapper for the gateway: JSON in and out, the CSRF header, errors as ApiError. */
export class ApiClient {
  private csrfToken: string | undefined;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly onUnauthorized: (() => void) | undefined;

  constructor(opts: ApiClientOptions = {}) {
    this.baseUrl = opts.baseUrl ?? '';
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = opts.onUnauthorized;
  }

  async request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch (err) {
      throw new ApiError(0, 'network', `Cannot reach the gateway (${errorText(err)})`);
    }
    const payload = await readJson(res);
    if (res.ok || opts.acceptStatus?.includes(res.status)) {
      if (payload === undefined) throw new ApiError(res.status, 'bad_response', `Empty answer from ${path}`);
      return payload as T;
    }
    if (res.status === 401 && !opts.quiet401) this.onUnauthorized?.();
    throw toApiError(res.status, payload);
  }

  // --- auth ---

  async login(token: string): Promise<Session> {
    return this.remember(await this.request<Session>('POST', '/api/auth/login', { body: { token } }));
  }

  /** The current session, or null when not logged in. */
  async me(): Promise<Session | null> {
    try {
      return this.remember(await this.request<Session>('GET', '/api/auth/me', { quiet401: true }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }

  async logout(): Promise<void> {
    try {
      await this.request('POST', '/api/auth/logout', { quiet401: true });
    } finally {
      this.csrfToken = undefined;
    }
  }

  // --- settings ---

  getSettings(): Promise<{ settings: Settings }> {
    return this.request('GET', '/api/settings');
  }

  getSettingsSchema(): Promise<Record<string, unknown>> {
    return this.request('GET', '/api/settings/schema');
  }

  patchSettings(patch: SettingsPatch): Promise<SettingsChangeResult> {
    return this.request('PATCH', '/api/settings', { body: patch });
  }

  /** Resets the named settings, or every setting when `keys` is omitted. */
  resetSettings(keys?: SettingKey[]): Promise<SettingsChangeResult> {
    return this.request('POST', '/api/settings/reset', { body: keys ? { keys } : {} });
  }

  // --- health ---

  getReadiness(): Promise<Readiness> {
    return this.request('GET', '/api/health/ready', { acceptStatus: [503] });
  }

  // --- tasks ---

  listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    return this.request('GET', `/api/tasks${taskQueryString(query)}`);
  }

  /** A repeated `idempotencyKey` answers with the task the first call created. */
  createTask(task: NewTask, idempotencyKey?: string): Promise<{ task: Task; created: boolean }> {
    return this.request('POST', '/api/tasks', {
      body: task,
      ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
    });
  }

  getTaskGraph(): Promise<TaskGraph> {
    return this.request('GET', '/api/tasks/graph');
  }

  getProgress(): Promise<Progress> {
    return this.request('GET', '/api/tasks/progress');
  }

  getTask(id: string): Promise<TaskDetail> {
    return this.request('GET', `/api/tasks/${encodeURIComponent(id)}`);
  }

  patchTask(id: string, patch: TaskPatch): Promise<Task> {
    return this.request('PATCH', `/api/tasks/${encodeURIComponent(id)}`, { body: patch });
  }

  cancelTask(id: string, reason?: string): Promise<CanceledTask> {
    return this.request('POST', `/api/tasks/${encodeURIComponent(id)}/cancel`, {
      body: reason ? { reason } : {},
    });
  }

  retryTask(id: string): Promise<Task> {
    return this.request('POST', `/api/tasks/${encodeURIComponent(id)}/retry`);
  }

  /** Makes `id` wait for `depId`. */
  addDep(id: string, depId: string): Promise<Task> {
    return this.request('POST', `/api/tasks/${encodeURIComponent(id)}/deps`, { body: { depId } });
  }

  removeDep(id: string, depId: string): Promise<Task> {
    return this.request('DELETE', `/api/tasks/${encodeURIComponent(id)}/deps/${encodeURIComponent(depId)}`);
  }

  // --- dead letters ---

  listDeadLetters(query: DeadLetterQuery): Promise<DeadLetterPage> {
    return this.request('GET', `/api/dead-letters${deadLetterQueryString(query)}`);
  }

  retryDeadLetter(id: string, body: RetryBody): Promise<Task> {
    return this.request('POST', `/api/dead-letters/${encodeURIComponent(id)}/retry`, { body });
  }

  dismissDeadLetter(id: string, reason: string): Promise<DeadLetter> {
    return this.request('POST', `/api/dead-letters/${encodeURIComponent(id)}/dismiss`, { body: { reason } });
  }

  // --- workers ---

  listWorkers(): Promise<{ items: WorkerInfo[] }> {
    return this.request('GET', '/api/workers');
  }

  private remember(session: Session): Session {
    this.csrfToken = session.csrfToken;
    return session;
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => '');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Turns a gateway error answer (`{error:{code,message,details}}`) into an ApiError. */
export function toApiError(status: number, payload: unknown): ApiError {
  const body = isRecord(payload) && isRecord(payload.error) ? payload.error : undefined;
  if (!body || typeof body.message !== 'string') {
    return new ApiError(status, 'bad_response', `The gateway answered ${status}`);
  }
  const code = (typeof body.code === 'string' ? body.code : 'internal') as ErrorBody['code'];
  const details = isRecord(body.details) ? body.details : {};
  const fields = Array.isArray(details.fields) ? details.fields.filter(isFieldIssue) : [];
  return new ApiError(status, code, body.message, fields, details);
}

/** `?status=a,b&label=…` for the non-empty parts of `query`, or ''. */
export function taskQueryString(query: TaskQuery): string {
  const params = new URLSearchParams();
  if (query.status && query.status.length > 0) params.set('status', query.status.join(','));
  for (const key of ['label', 'kind', 'q'] as const) {
    const value = query[key]?.trim();
    if (value) params.set(key, value);
  }
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.offset !== undefined && query.offset > 0) params.set('offset', String(query.offset));
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isFieldIssue(value: unknown): value is FieldIssue {
  return isRecord(value) && typeof value.field === 'string' && typeof value.message === 'string';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
