import type {
  CreatedWebhook,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  FieldIssue,
  NewWebhook,
  RotatedWebhookSecret,
  Webhook,
  WebhookFormat,
  WebhookPatch,
  WebhookTestResult,
} from '@jousting/contracts';
import { SUBJECT_PATTERN_RE } from '@jousting/contracts/subjects';
import { formatDuration, formatTime, relativeTime } from './task-detail';

export type {
  CreatedWebhook,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  RotatedWebhookSecret,
  Webhook,
  WebhookFormat,
  WebhookTestResult,
};

/** The contract's limits (NewWebhook); the server checks again. */
export const MAX_PATTERNS = 50;
export const MAX_PATTERN_LENGTH = 200;
export const MAX_LABEL = 100;
export const MAX_DESCRIPTION = 1000;
export const MAX_URL = 2048;
export const FORMATS: ReadonlyArray<{ value: WebhookFormat; title: string }> = [
  { value: 'generic', title: 'Generic (the CloudEvent as JSON)' },
  { value: 'slack', title: 'Slack (text and blocks)' },
  { value: 'discord', title: 'Discord (content and embeds)' },
];
/** Patterns offered as one-click additions in the form. */
export const SUGGESTED_PATTERNS = [
  'coord.*',
  'coord.dead-lettered',
  'coord.task-failed',
  'settings.changed',
  'notify.webhook-disabled',
  '>',
];

export interface WebhookDraft {
  url: string;
  /** Patterns separated by commas, spaces or line breaks. */
  events: string;
  format: WebhookFormat;
  label: string;
  description: string;
  active: boolean;
}

export type DraftField = keyof WebhookDraft;
export type DraftErrors = Partial<Record<DraftField, string>>;
export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: DraftErrors };

export const emptyDraft = (): WebhookDraft => ({
  url: '',
  events: '',
  format: 'generic',
  label: '',
  description: '',
  active: true,
});

export function draftOf(w: Webhook): WebhookDraft {
  return {
    url: w.url,
    events: w.events.join(', '),
    format: w.format,
    label: w.label,
    description: w.description ?? '',
    active: w.active,
  };
}

export function splitPatterns(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Adds `pattern` to the draft's list unless it is there already. */
export function withPattern(events: string, pattern: string): string {
  const patterns = splitPatterns(events);
  return patterns.includes(pattern) ? events : [...patterns, pattern].join(', ');
}

/** The reason a pattern is refused, or undefined when it is a valid NATS subject pattern. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH)
    return `"${pattern.slice(0, 20)}…" is longer than ${MAX_PATTERN_LENGTH}`;
  if (!SUBJECT_PATTERN_RE.test(pattern)) {
    return `"${pattern}" is not a pattern: dot-separated words, "*" for one word, ">" at the end for the rest (e.g. coord.*, settings.changed, notify.>)`;
  }
  return undefined;
}

function urlProblem(url: string): string | undefined {
  if (url === '') return 'Enter the URL to POST events to.';
  if (url.length > MAX_URL) return `At most ${MAX_URL} characters.`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'Not a URL: it starts with http:// or https://.';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'Only http:// and https:// URLs.';
  return undefined;
}

/** Checks every field; each error names what is wrong with that field. */
export function checkDraft(draft: WebhookDraft): DraftErrors {
  const errors: DraftErrors = {};
  const url = urlProblem(draft.url.trim());
  if (url) errors.url = url;
  const patterns = splitPatterns(draft.events);
  if (patterns.length === 0) errors.events = 'Enter at least one event pattern, e.g. coord.*';
  else if (patterns.length > MAX_PATTERNS) errors.events = `At most ${MAX_PATTERNS} patterns.`;
  else {
    const problem = patterns.map(patternProblem).find(Boolean);
    if (problem) errors.events = problem;
  }
  const label = draft.label.trim();
  if (label === '') errors.label = 'Give it a name, e.g. "CI" or "#alerts".';
  else if (label.length > MAX_LABEL) errors.label = `At most ${MAX_LABEL} characters.`;
  if (draft.description.length > MAX_DESCRIPTION)
    errors.description = `At most ${MAX_DESCRIPTION} characters.`;
  return errors;
}

export function buildNewWebhook(draft: WebhookDraft): FormResult<NewWebhook> {
  const errors = checkDraft(draft);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const description = draft.description.trim();
  return {
    ok: true,
    value: {
      url: draft.url.trim(),
      events: splitPatterns(draft.events),
      format: draft.format,
      label: draft.label.trim(),
      active: draft.active,
      ...(description ? { description } : {}),
    },
  };
}

/** Only what changed; an emptied description is `null` (removes it). */
export function buildPatch(draft: WebhookDraft, original: Webhook): FormResult<Partial<WebhookPatch>> {
  const errors = checkDraft(draft);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const patch: Partial<WebhookPatch> = {};
  const url = draft.url.trim();
  if (url !== original.url) patch.url = url;
  const events = splitPatterns(draft.events);
  if (events.join('\n') !== original.events.join('\n')) patch.events = events;
  if (draft.format !== original.format) patch.format = draft.format;
  const label = draft.label.trim();
  if (label !== original.label) patch.label = label;
  const description = draft.description.trim();
  if (description !== (original.description ?? ''))
    patch.description = description === '' ? null : description;
  if (draft.active !== original.active) patch.active = draft.active;
  return { ok: true, value: patch };
}

/** Server field issues (`events.2`, `url`) by the form field they belong to. */
export function serverErrors(fields: readonly FieldIssue[]): DraftErrors {
  const errors: DraftErrors = {};
  const known: DraftField[] = ['url', 'events', 'format', 'label', 'description', 'active'];
  for (const f of fields) {
    const head = f.field.split('.')[0] as DraftField;
    if (known.includes(head) && !errors[head]) errors[head] = f.message;
  }
  return errors;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'off';

export interface WebhookStatus {
  tone: Tone;
  /** One or two words for the pill. */
  title: string;
  /** What the operator should know, e.g. why it was disabled or since when it fails. */
  detail?: string;
}

/** Active, failing (since when), disabled by the notifier (why), or paused by a person. */
export function webhookStatus(w: Webhook, now = Date.now()): WebhookStatus {
  if (!w.active) {
    if (w.disabledReason) {
      return {
        tone: 'bad',
        title: 'Disabled',
        detail: `${w.disabledReason}${w.disabledAt ? ` (${relativeTime(w.disabledAt, now)})` : ''}`,
      };
    }
    return { tone: 'off', title: 'Paused', detail: 'Switched off; events are not sent.' };
  }
  if (w.state.failingSince) {
    const n = w.state.consecutiveFailures;
    return {
      tone: 'warn',
      title: 'Failing',
      detail: `since ${formatTime(w.state.failingSince, now)}, ${n} failed attempt${n === 1 ? '' : 's'}`,
    };
  }
  return { tone: 'ok', title: 'Active' };
}

/** The last attempt as "200 · 3 min ago" or "timeout · 1 h ago". */
export function lastAttemptText(w: Webhook, now = Date.now()): string {
  const { lastAttemptAt, lastResponseStatus, lastError } = w.state;
  if (!lastAttemptAt) return 'never sent';
  const what = lastResponseStatus !== undefined ? String(lastResponseStatus) : (lastError ?? 'failed');
  return `${what} · ${relativeTime(lastAttemptAt, now)}`;
}

export function attemptTone(a: DeliveryAttempt): Tone {
  if (a.responseStatus !== undefined && a.responseStatus >= 200 && a.responseStatus < 300) return 'ok';
  return 'bad';
}

/** "HTTP 200 in 12 ms" or "timeout after 15.0 s". */
export function attemptText(a: DeliveryAttempt): string {
  const time = formatDuration(a.durationMs);
  if (a.responseStatus !== undefined) {
    return `HTTP ${a.responseStatus} in ${time}${a.error && !a.error.startsWith('HTTP') ? ` (${a.error})` : ''}`;
  }
  return `${a.error ?? 'no response'} after ${time}`;
}

export const deliveryTone = (status: DeliveryStatus): Tone =>
  status === 'delivered' ? 'ok' : status === 'failed' ? 'bad' : 'warn';

/** When a pending delivery is tried next: "in 4 s", "now", or a time. */
export function nextAttemptText(d: Delivery, now = Date.now()): string | undefined {
  if (d.status !== 'pending' || !d.nextAttemptAt) return undefined;
  const at = Date.parse(d.nextAttemptAt);
  if (!Number.isFinite(at)) return undefined;
  const ms = at - now;
  if (ms <= 1000) return 'now';
  if (ms < 3_600_000) return `in ${formatDuration(ms).replace(/ \d+ s$/, '')}`;
  return `at ${formatTime(d.nextAttemptAt, now)}`;
}

export function testResultText(r: WebhookTestResult): string {
  const time = formatDuration(r.durationMs);
  if (r.delivered) return `Delivered: HTTP ${r.responseStatus} in ${time}`;
  if (r.responseStatus !== undefined) return `Not delivered: HTTP ${r.responseStatus} in ${time}`;
  return `Not delivered: ${r.error ?? 'no response'} after ${time}`;
}

/** Events that change what the webhooks page shows. */
export const isWebhookEvent = (type: string) => type.startsWith('notify.webhook-');

export const webhookPath = (id: string, rest = '') => `/api/webhooks/${encodeURIComponent(id)}${rest}`;

export function deliveriesQuery(status: DeliveryStatus | 'all', limit = 25): string {
  const params = new URLSearchParams({ limit: String(limit) });
  if (status !== 'all') params.set('status', status);
  return `?${params.toString()}`;
}
