import type { DeadLetter, DeadLetterStatus, ErrorClass } from '@jousting/contracts';

/**
 * Dead letters without React: the list query, the retry and dismiss forms (checked like the server
 * does), which live events concern the list, and a task's "waiting to retry" state.
 */

export type { DeadLetter, DeadLetterStatus };

/** The status filter of the page: the server's two statuses, or both. */
export type DeadLetterStatusFilter = DeadLetterStatus | 'all';

export interface DeadLetterQuery {
  status: DeadLetterStatusFilter;
  kind?: string;
  limit?: number;
  offset?: number;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
}

/** `?status=open&kind=exec&limit=50` for the non-empty parts of `query` ('all' sends no status), or ''. */
export function deadLetterQueryString(query: DeadLetterQuery): string {
  const params = new URLSearchParams();
  if (query.status !== 'all') params.set('status', query.status);
  const kind = query.kind?.trim();
  if (kind) params.set('kind', kind);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.offset !== undefined && query.offset > 0) params.set('offset', String(query.offset));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The events after which the dead-letter list may have changed. */
export const DEAD_LETTER_EVENTS: readonly string[] = [
  'coord.dead-lettered',
  'coord.dead-letter-retried',
  'coord.dead-letter-dismissed',
];

export const isDeadLetterEvent = (type: string) => DEAD_LETTER_EVENTS.includes(type);

// --- forms ---

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$/;
export const MAX_LABELS = 32;
export const MAX_REASON = 500;

export interface RetryDraft {
  /** As typed; empty keeps the task's priority. */
  priority: string;
  /** Comma or space separated; empty keeps the task's labels. */
  labels: string;
}

export type RetryBody = { priority?: number; labels?: string[] };

export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: Record<string, string> };

/** The body of `POST /api/dead-letters/{id}/retry`, or what is wrong with the draft, by field. */
export function buildRetryBody(draft: RetryDraft): FormResult<RetryBody> {
  const errors: Record<string, string> = {};
  const body: RetryBody = {};
  const priority = draft.priority.trim();
  if (priority !== '') {
    const n = Number(priority);
    if (!/^-?\d+$/.test(priority) || !Number.isSafeInteger(n)) errors.priority = 'A whole number';
    else if (n < -1000 || n > 1000) errors.priority = 'Between -1000 and 1000';
    else body.priority = n;
  }
  const labels = [...new Set(draft.labels.split(/[\s,]+/).filter((l) => l !== ''))];
  if (labels.length > 0) {
    const bad = labels.find((l) => !LABEL.test(l));
    if (bad !== undefined) errors.labels = `"${bad}" is not a label like "gpu" or "region=eu"`;
    else if (labels.length > MAX_LABELS) errors.labels = `At most ${MAX_LABELS} labels`;
    else body.labels = labels;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value: body };
}

/** The trimmed dismiss reason, or why it cannot be sent. */
export function checkDismissReason(reason: string): FormResult<string> {
  const value = reason.trim();
  if (value === '') return { ok: false, errors: { reason: 'Say why it needs no more attention' } };
  if (value.length > MAX_REASON) return { ok: false, errors: { reason: `At most ${MAX_REASON} characters` } };
  return { ok: true, value };
}

// --- retrying tasks ---

export const RETRY_REASON_PREFIX = 'retrying after:';

/** The error a queued task is waiting to retry after, or undefined when it is not waiting to retry. */
export function retryingAfter(task: {
  status: string;
  statusReason?: string | undefined;
}): string | undefined {
  if (task.status !== 'queued' || !task.statusReason?.startsWith(RETRY_REASON_PREFIX)) return undefined;
  return task.statusReason.slice(RETRY_REASON_PREFIX.length).trim();
}

export interface TaskRetrying {
  id: string;
  attempt: number;
  errorClass: ErrorClass;
  message: string;
  retryAt: string;
  retriesLeft: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const ERROR_CLASSES: readonly string[] = ['transient', 'fatal', 'limit'];

/** A `coord.task-retrying` event's data, checked by hand; undefined when it is anything else. */
export function parseTaskRetrying(event: { type: string; data: unknown }): TaskRetrying | undefined {
  const d = event.data;
  if (event.type !== 'coord.task-retrying' || !isRecord(d)) return undefined;
  if (typeof d.id !== 'string' || typeof d.retryAt !== 'string') return undefined;
  return {
    id: d.id,
    attempt: Number.isInteger(d.attempt) ? (d.attempt as number) : 0,
    errorClass: (typeof d.errorClass === 'string' && ERROR_CLASSES.includes(d.errorClass)
      ? d.errorClass
      : 'transient') as ErrorClass,
    message: typeof d.message === 'string' ? d.message : '',
    retryAt: d.retryAt,
    retriesLeft: Number.isInteger(d.retriesLeft) ? (d.retriesLeft as number) : 0,
  };
}

/** "in 12 s", "in 3 min", "now" for a time ahead of `now`. */
export function untilTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const s = Math.round((t - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.ceil(s / 60)} min`;
  return `in ${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The page's address, pointing at one task's dead letter when `taskId` is given. */
export const deadLettersPath = (taskId?: string) =>
  taskId ? `/dead-letters?task=${encodeURIComponent(taskId)}` : '/dead-letters';

/** How many pages of 100 `findOpenDeadLetter` reads at most before it gives up. */
export const FIND_PAGES = 5;

/**
 * The open dead letter of task `id` (of kind `kind`), read page by page through `list` (the API
 * has no read by id); undefined when there is none in the first FIND_PAGES pages.
 */
export async function findOpenDeadLetter(
  list: (query: DeadLetterQuery) => Promise<DeadLetterPage>,
  id: string,
  kind: string,
): Promise<DeadLetter | undefined> {
  let offset = 0;
  for (let i = 0; i < FIND_PAGES; i++) {
    const page = await list({ status: 'open', kind, limit: 100, offset });
    const found = page.items.find((d) => d.taskId === id || d.id === id);
    if (found) return found;
    if (!page.hasMore) return undefined;
    offset += page.items.length;
  }
  return undefined;
}

/** Whether a live event may change whether task `id` has an open dead letter. */
export function concernsDeadLetterOf(event: { type: string; data: unknown }, id: string): boolean {
  if (!isDeadLetterEvent(event.type) || !isRecord(event.data)) return false;
  const d = event.data;
  if (event.type === 'coord.dead-lettered') {
    return isRecord(d.deadLetter) && (d.deadLetter.taskId === id || d.deadLetter.id === id);
  }
  return d.id === id;
}
