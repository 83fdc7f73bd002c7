import {
  BulkResult,
  type BulkSelection,
  CanceledTask,
  CoordState,
  CreatedTask,
  DeadLetter,
  type DeadLetterStatus,
  ErrorBody,
  Instantiated,
  type NewTask,
  Page,
  Readiness,
  SettingsChanges,
  Task,
  TaskDetail,
  type TaskStatus,
  TaskSummary,
  Template,
  WorkerInfo,
} from '@jousting/contracts';
import { z } from 'zod';
import { CliError, EXIT } from './errors.js';

/** The gateway could not be reached (refused, DNS, reset) or did not answer in time. */
export class ConnectionError extends CliError {
  readonly url: string;

  constructor(url: string, reason?: string) {
    super(
      reason
        ? `cannot connect to ${url}: ${reason}`
        : `cannot connect to ${url}: is it running? (start it with \`npm start\` or \`jousting up\`)`,
      { exitCode: EXIT.unreachable },
    );
    this.name = 'ConnectionError';
    this.url = url;
  }
}

/** The gateway answered with an error status; carries its `error.message` and field issues. */
export class HttpError extends CliError {
  readonly status: number;
  readonly body: ErrorBody | undefined;

  constructor(status: number, statusText: string, body: ErrorBody | undefined) {
    super(body?.message ?? `HTTP ${status} ${statusText}`.trim(), { fields: body?.details?.fields ?? [] });
    this.name = 'HttpError';
    this.status = status;
    this.body = body;
  }

  /** The task ids of a dependency cycle the server refused (`details.cycle`), first = last. */
  get cycle(): string[] | undefined {
    const cycle = this.body?.details?.cycle;
    return Array.isArray(cycle) && cycle.every((id) => typeof id === 'string') ? cycle : undefined;
  }
}

// Settings are read as a plain record so a CLI older than the server still lists new keys.
const SettingsValues = z.record(z.string(), z.unknown());
export type SettingsValues = z.infer<typeof SettingsValues>;
const SettingsResponse = z.object({ settings: SettingsValues });
const ChangeResult = z.object({ changes: SettingsChanges, settings: SettingsValues });
export type ChangeResult = z.infer<typeof ChangeResult>;
const JsonObject = z.record(z.string(), z.unknown());
const TaskPage = Page(TaskSummary);
export type TaskPage = z.infer<typeof TaskPage>;
const Workers = z.object({ items: z.array(WorkerInfo) });
const DeadLetterPage = Page(DeadLetter);
export type DeadLetterPage = z.infer<typeof DeadLetterPage>;

/** The query of `GET /api/dead-letters`. */
export interface DeadLetterQuery {
  status?: DeadLetterStatus;
  kind?: string;
  limit?: number;
  offset?: number;
}

const deadLetterPath = (id: string, rest: string) => `/api/dead-letters/${encodeURIComponent(id)}${rest}`;

/** The query of `GET /api/tasks`. */
export interface TaskQuery {
  status?: TaskStatus[];
  label?: string;
  kind?: string;
  q?: string;
  limit?: number;
  offset?: number;
}

const taskPath = (id: string, rest = '') => `/api/tasks/${encodeURIComponent(id)}${rest}`;
const templatePath = (name: string, rest = '') => `/api/templates/${encodeURIComponent(name)}${rest}`;
const Templates = z.object({ items: z.array(Template) });
const DeletedTemplate = z.object({ name: z.string(), deleted: z.literal(true) });
export type InstantiatedTasks = z.infer<typeof Instantiated>;
const ErrorResponse = z.object({ error: ErrorBody });

export interface GatewayClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The CLI's one way to talk to the gateway: JSON over fetch with a Bearer token. */
export class GatewayClient {
  readonly baseUrl: string;
  readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: GatewayClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** GET /api/health/ready: 200 when ready, 503 (with the same body) when something is missing. */
  async readiness(): Promise<{ status: number; readiness: Readiness }> {
    const { status, body } = await this.request('GET', '/api/health/ready', { accept: [200, 503] });
    const error = ErrorResponse.safeParse(body);
    if (status === 503 && error.success) throw new HttpError(status, 'Service Unavailable', error.data.error);
    return { status, readiness: parseBody(Readiness, body, 'GET /api/health/ready') };
  }

  async settings(): Promise<SettingsValues> {
    const { body } = await this.request('GET', '/api/settings');
    return parseBody(SettingsResponse, body, 'GET /api/settings').settings;
  }

  async settingsSchema(): Promise<Record<string, unknown>> {
    const { body } = await this.request('GET', '/api/settings/schema');
    return parseBody(JsonObject, body, 'GET /api/settings/schema');
  }

  async patchSettings(patch: Record<string, unknown>): Promise<ChangeResult> {
    const { body } = await this.request('PATCH', '/api/settings', { body: patch });
    return parseBody(ChangeResult, body, 'PATCH /api/settings');
  }

  async resetSettings(keys?: string[]): Promise<ChangeResult> {
    const { body } = await this.request('POST', '/api/settings/reset', { body: keys ? { keys } : {} });
    return parseBody(ChangeResult, body, 'POST /api/settings/reset');
  }

  async tasks(query: TaskQuery = {}): Promise<TaskPage> {
    const params = new URLSearchParams();
    if (query.status?.length) params.set('status', query.status.join(','));
    for (const key of ['label', 'kind', 'q', 'limit', 'offset'] as const) {
      if (query[key] !== undefined) params.set(key, String(query[key]));
    }
    const search = params.toString();
    const { body } = await this.request('GET', `/api/tasks${search ? `?${search}` : ''}`);
    return parseBody(TaskPage, body, 'GET /api/tasks');
  }

  /** POST /api/tasks; `created` is false when the idempotency key was seen before (HTTP 200). */
  async createTask(task: NewTask, idempotencyKey?: string): Promise<z.infer<typeof CreatedTask>> {
    const { body } = await this.request('POST', '/api/tasks', {
      body: task,
      headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
    });
    return parseBody(CreatedTask, body, 'POST /api/tasks');
  }

  async task(id: string): Promise<TaskDetail> {
    const { body } = await this.request('GET', taskPath(id));
    return parseBody(TaskDetail, body, `GET ${taskPath(id)}`);
  }

  async cancelTask(id: string, reason?: string): Promise<z.infer<typeof CanceledTask>> {
    const path = taskPath(id, '/cancel');
    const { body } = await this.request('POST', path, { body: reason === undefined ? {} : { reason } });
    return parseBody(CanceledTask, body, `POST ${path}`);
  }

  async retryTask(id: string): Promise<Task> {
    const path = taskPath(id, '/retry');
    const { body } = await this.request('POST', path);
    return parseBody(Task, body, `POST ${path}`);
  }

  async addTaskDep(id: string, depId: string): Promise<Task> {
    const path = taskPath(id, '/deps');
    const { body } = await this.request('POST', path, { body: { depId } });
    return parseBody(Task, body, `POST ${path}`);
  }

  async removeTaskDep(id: string, depId: string): Promise<Task> {
    const path = taskPath(id, `/deps/${encodeURIComponent(depId)}`);
    const { body } = await this.request('DELETE', path);
    return parseBody(Task, body, `DELETE ${path}`);
  }

  async deadLetters(query: DeadLetterQuery = {}): Promise<DeadLetterPage> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) search.set(key, String(value));
    }
    const text = search.toString();
    const { body } = await this.request('GET', `/api/dead-letters${text ? `?${text}` : ''}`);
    return parseBody(DeadLetterPage, body, 'GET /api/dead-letters');
  }

  async retryDeadLetter(id: string, changes: { priority?: number; labels?: string[] } = {}): Promise<Task> {
    const path = deadLetterPath(id, '/retry');
    const { body } = await this.request('POST', path, { body: changes });
    return parseBody(Task, body, `POST ${path}`);
  }

  async dismissDeadLetter(id: string, reason: string): Promise<DeadLetter> {
    const path = deadLetterPath(id, '/dismiss');
    const { body } = await this.request('POST', path, { body: { reason } });
    return parseBody(DeadLetter, body, `POST ${path}`);
  }

  async workers(): Promise<WorkerInfo[]> {
    const { body } = await this.request('GET', '/api/workers');
    return parseBody(Workers, body, 'GET /api/workers').items;
  }

  // --- coordinator lifecycle, bulk actions, templates ---

  async coordState(): Promise<CoordState> {
    const { body } = await this.request('GET', '/api/coord');
    return parseBody(CoordState, body, 'GET /api/coord');
  }

  /** POST /api/coord/drain|pause|resume. */
  async coordLifecycle(
    action: 'drain' | 'pause' | 'resume',
    options: { timeoutSeconds?: number; reason?: string } = {},
  ): Promise<CoordState> {
    const path = `/api/coord/${action}`;
    const { body } = await this.request('POST', path, action === 'resume' ? {} : { body: options });
    return parseBody(CoordState, body, `POST ${path}`);
  }

  async requeueTask(id: string): Promise<Task> {
    const path = taskPath(id, '/requeue');
    const { body } = await this.request('POST', path);
    return parseBody(Task, body, `POST ${path}`);
  }

  /** POST /api/tasks/bulk/{action}; `extra` is the reason (cancel) or the priority (reprioritize). */
  async bulk(
    action: 'cancel' | 'retry' | 'reprioritize',
    selection: BulkSelection,
    extra: { reason?: string; priority?: number } = {},
  ): Promise<BulkResult> {
    const path = `/api/tasks/bulk/${action}`;
    const { body } = await this.request('POST', path, { body: { selection, ...extra } });
    return parseBody(BulkResult, body, `POST ${path}`);
  }

  async templates(): Promise<Template[]> {
    const { body } = await this.request('GET', '/api/templates');
    return parseBody(Templates, body, 'GET /api/templates').items;
  }

  async template(name: string): Promise<Template> {
    const path = templatePath(name);
    const { body } = await this.request('GET', path);
    return parseBody(Template, body, `GET ${path}`);
  }

  async saveTemplate(template: unknown): Promise<Template> {
    const { body } = await this.request('POST', '/api/templates', { body: template });
    return parseBody(Template, body, 'POST /api/templates');
  }

  async deleteTemplate(name: string): Promise<{ name: string; deleted: true }> {
    const path = templatePath(name);
    const { body } = await this.request('DELETE', path);
    return parseBody(DeletedTemplate, body, `DELETE ${path}`);
  }

  async instantiateTemplate(
    name: string,
    request: { values: Record<string, string>; priority?: number; labels?: string[] },
  ): Promise<InstantiatedTasks> {
    const path = templatePath(name, '/instantiate');
    const { body } = await this.request('POST', path, { body: request });
    return parseBody(Instantiated, body, `POST ${path}`);
  }

  /**
   * One JSON call whose answer is checked against `schema`: for command modules with routes of
   * their own (secrets, webhooks). The body is never quoted in the error (a reveal holds a secret).
   */
  async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const answer = await this.request(method, path, body === undefined ? {} : { body });
    const result = schema.safeParse(answer.body);
    if (!result.success) throw new CliError(`unexpected answer to ${method} ${path}`);
    return result.data as z.infer<S>;
  }

  private async request(
    method: string,
    path: string,
    opts: { body?: unknown; accept?: number[]; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new ConnectionError(this.baseUrl, `no answer within ${Math.round(this.timeoutMs / 1000)} s`);
      }
      throw new ConnectionError(this.baseUrl);
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok || opts.accept?.includes(res.status)) {
      if (body === undefined) {
        throw new CliError(`unexpected answer to ${method} ${path}: HTTP ${res.status} without a JSON body`);
      }
      return { status: res.status, body };
    }
    const error = ErrorResponse.safeParse(body);
    throw new HttpError(res.status, res.statusText, error.success ? error.data.error : undefined);
  }
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CliError(
    `unexpected answer to ${what}: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'bad shape'}`,
  );
}
