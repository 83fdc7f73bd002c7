import {
  type CreatedWebhook,
  type Delivery,
  DeliveryId,
  DeliveryStatus,
  EventPattern,
  MAX_DELIVERIES_PER_WEBHOOK,
  type NewWebhook,
  type Webhook,
  WebhookFormat,
  WebhookId,
  type WebhookPatch,
  type WebhookTestResult,
  WebhookUrl,
} from '@jousting/contracts';
import type { Command } from '../command.js';
import type { CommandContext } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { type DeliveryPage, NotifyApi } from '../notify-api.js';
import { formatTable } from '../output.js';
import { integerIn } from '../task-input.js';
import { formatAge } from '../task-output.js';
import { expectArgs } from './tasks.js';

const str = (options: Record<string, unknown>, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;

const SECRET_WARNING =
  'This secret is shown once: store it now (e.g. in the receiver\u2019s config). It cannot be read back; `jousting webhooks rotate-secret` makes a new one.';

function webhookId(raw: string, command: string): string {
  if (!WebhookId.safeParse(raw).success) {
    throw new UsageError(
      `"${raw}" is not a webhook id (26-character ULID, see \`jousting webhooks ls\`)`,
      command,
    );
  }
  return raw;
}

function url(raw: string, command: string): string {
  if (!WebhookUrl.safeParse(raw).success) {
    throw new UsageError(`"${raw}" is not an http or https URL`, command);
  }
  return raw;
}

/** `coord.*,settings.changed` (commas or spaces) as checked NATS subject patterns. */
export function parseEventPatterns(raw: string, command: string): string[] {
  const patterns = raw
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (patterns.length === 0) throw new UsageError('--events needs at least one event pattern', command);
  if (patterns.length > 50)
    throw new UsageError(`--events takes at most 50 patterns, got ${patterns.length}`, command);
  for (const pattern of patterns) {
    if (!EventPattern.safeParse(pattern).success) {
      throw new UsageError(
        `--events: "${pattern}" is not an event pattern like "coord.*", "settings.changed" or ">"`,
        command,
      );
    }
  }
  return patterns;
}

function format(raw: string, command: string): WebhookFormat {
  const parsed = WebhookFormat.safeParse(raw);
  if (!parsed.success)
    throw new UsageError(`--format must be generic, slack or discord, got "${raw}"`, command);
  return parsed.data;
}

function bool(raw: string, flag: string, command: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new UsageError(`${flag} must be true or false, got "${raw}"`, command);
}

/** "active", or "disabled: <reason>" / "paused" (switched off by a person). */
export function webhookState(w: Webhook): string {
  if (w.active) return w.state.failingSince ? 'active, failing' : 'active';
  return w.disabledReason ? `disabled: ${w.disabledReason}` : 'paused';
}

/** The last attempt: `200 3m ago`, `timeout 1h ago`, or `-`. */
function lastAttempt(w: Webhook, now: number): string {
  const { lastAttemptAt, lastResponseStatus, lastError } = w.state;
  if (!lastAttemptAt) return '-';
  const what = lastResponseStatus !== undefined ? String(lastResponseStatus) : (lastError ?? 'failed');
  return `${what} ${formatAge(lastAttemptAt, now)}`;
}

export function formatWebhookList(items: Webhook[], now = Date.now()): string {
  if (items.length === 0) return 'no webhooks (register one with `jousting webhooks add <url> --events …`)';
  const rows = [['ID', 'LABEL', 'STATE', 'FORMAT', 'EVENTS', 'LAST', 'URL']];
  for (const w of items) {
    rows.push([w.id, w.label, webhookState(w), w.format, w.events.join(','), lastAttempt(w, now), w.url]);
  }
  return formatTable(rows);
}

export function formatWebhook(w: Webhook, now = Date.now()): string {
  const rows: string[][] = [
    ['id', w.id],
    ['label', w.label],
    ['url', w.url],
    ['events', w.events.join(', ')],
    ['format', w.format],
    ['state', webhookState(w)],
  ];
  if (w.description) rows.push(['description', w.description]);
  if (w.disabledAt) rows.push(['disabled', `${w.disabledAt} (${formatAge(w.disabledAt, now)})`]);
  if (w.state.failingSince) {
    rows.push([
      'failing since',
      `${w.state.failingSince} (${w.state.consecutiveFailures} failed attempt${w.state.consecutiveFailures === 1 ? '' : 's'})`,
    ]);
  }
  rows.push(['last attempt', lastAttempt(w, now)]);
  if (w.state.lastError) rows.push(['last error', w.state.lastError]);
  if (w.state.lastSuccessAt) rows.push(['last success', formatAge(w.state.lastSuccessAt, now)]);
  rows.push(['secret', w.hasSecret ? 'set (never shown again)' : 'none']);
  if (w.previousSecretValidUntil)
    rows.push(['previous secret', `also signs until ${w.previousSecretValidUntil}`]);
  rows.push(['created', `${w.createdAt} (${formatAge(w.createdAt, now)})`]);
  return formatTable(rows.map(([k, v]) => [`${k}:`, v ?? '']));
}

export function formatTestResult(r: WebhookTestResult): string {
  const head = r.delivered
    ? `delivered: HTTP ${r.responseStatus} in ${r.durationMs} ms`
    : `NOT delivered: ${r.error ?? (r.responseStatus !== undefined ? `HTTP ${r.responseStatus}` : 'no response')} after ${r.durationMs} ms`;
  const lines = [head];
  if (!r.delivered && r.responseStatus !== undefined && r.error)
    lines.push(`status: HTTP ${r.responseStatus}`);
  if (r.responseBody) lines.push('response body (first 1,000 characters):', r.responseBody);
  return lines.join('\n');
}

function lastOf(d: Delivery): string {
  const a = d.attempts.at(-1);
  if (!a) return '-';
  return a.responseStatus !== undefined ? `${a.responseStatus} (${a.durationMs} ms)` : (a.error ?? 'failed');
}

export function formatDeliveryPage(page: DeliveryPage, now = Date.now()): string {
  if (page.items.length === 0) {
    return page.total > 0
      ? `no deliveries from offset ${page.offset} (${page.total} in all)`
      : 'no deliveries';
  }
  const rows = [['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'NEXT', 'CREATED']];
  for (const d of page.items) {
    rows.push([
      d.id,
      d.eventType,
      d.status,
      String(d.attemptCount),
      lastOf(d),
      d.nextAttemptAt ? `in ${Math.max(0, Math.round((Date.parse(d.nextAttemptAt) - now) / 1000))}s` : '-',
      formatAge(d.createdAt, now),
    ]);
  }
  const lines = [formatTable(rows)];
  if (page.hasMore) lines.push(`… more: --offset ${page.offset + page.items.length} (${page.total} in all)`);
  return lines.join('\n');
}

function printSecret(ctx: CommandContext, secret: string, extra: string[] = []): void {
  ctx.out.text(`signing secret: ${secret}`);
  for (const line of extra) ctx.out.text(line);
  ctx.out.text(`warning: ${SECRET_WARNING}`);
  // With --json the secret is in the JSON; the warning still goes where a person sees it.
  if (ctx.flags.json) ctx.out.error(`warning: ${SECRET_WARNING}`);
}

const listCommand: Command = {
  path: ['webhooks', 'ls'],
  summary: 'List webhooks with their state (never their secrets)',
  usage: 'jousting webhooks ls [--json]',
  details: [
    'Prints ID, LABEL, STATE (active, active failing, paused, or disabled with the reason), FORMAT,',
    'EVENTS, LAST (the last response status or error, and when) and URL. Needs an operator token.',
    '',
    '--json prints {"items": [webhook]}.',
  ].join('\n'),
  async run(ctx, args) {
    expectArgs(args, [], 'webhooks ls');
    const items = await new NotifyApi(ctx).webhooks();
    ctx.out.data({ items });
    ctx.out.text(formatWebhookList(items));
    return EXIT.ok;
  },
};

const addCommand: Command = {
  path: ['webhooks', 'add'],
  summary: 'Register a webhook; prints its signing secret once',
  usage:
    'jousting webhooks add <url> --events PATTERNS [--format generic|slack|discord] [--label L] [--description D] [--json]',
  details: [
    'Events matching the patterns are POSTed to <url>, signed the Standard Webhooks way',
    '(webhook-id, webhook-timestamp, webhook-signature). The signing secret (whsec_…) is printed',
    'once and cannot be read back. URLs on loopback or private networks are refused unless the',
    'setting webhookAllowPrivateUrls is on. Needs an admin token.',
    '',
    'examples:',
    "  jousting webhooks add https://ci.example.com/hook --events 'coord.*,settings.changed'",
    '  jousting webhooks add https://hooks.slack.com/services/… --events coord.dead-lettered --format slack --label alerts',
    '',
    'options:',
    '  --events P,P      event types as NATS patterns, comma-separated (coord.*, notify.>, >)',
    '  --format F        generic (the CloudEvent, default), slack or discord',
    '  --label L         a name for it (default: the URL host)',
    '  --description D   what it is for',
    '  --inactive        register it switched off',
    '',
    '--json prints the webhook with "secret".',
  ].join('\n'),
  options: {
    events: { type: 'string' },
    format: { type: 'string' },
    label: { type: 'string' },
    description: { type: 'string' },
    inactive: { type: 'boolean' },
  },
  async run(ctx, args, options) {
    const command = 'webhooks add';
    const [raw] = expectArgs(args, ['url'], command);
    const target = url(raw!, command);
    const events = str(options, 'events');
    if (events === undefined) throw new UsageError("missing --events (e.g. --events 'coord.*')", command);
    const webhook: NewWebhook = {
      url: target,
      events: parseEventPatterns(events, command),
      label: str(options, 'label') ?? new URL(target).host,
    };
    const f = str(options, 'format');
    if (f !== undefined) webhook.format = format(f, command);
    const description = str(options, 'description');
    if (description) webhook.description = description;
    if (options.inactive === true) webhook.active = false;
    const created: CreatedWebhook = await new NotifyApi(ctx).createWebhook(webhook);
    ctx.out.data(created);
    ctx.out.text(`created webhook ${created.id} (${created.label})`);
    printSecret(ctx, created.secret);
    return EXIT.ok;
  },
};

const showCommand: Command = {
  path: ['webhooks', 'show'],
  summary: 'Show one webhook with its health',
  usage: 'jousting webhooks show <id> [--json]',
  details: 'Needs an operator token. --json prints the webhook (without its secret).',
  async run(ctx, args) {
    const command = 'webhooks show';
    const [raw] = expectArgs(args, ['id'], command);
    const webhook = await new NotifyApi(ctx).webhook(webhookId(raw!, command));
    ctx.out.data(webhook);
    ctx.out.text(formatWebhook(webhook));
    return EXIT.ok;
  },
};

const updateCommand: Command = {
  path: ['webhooks', 'update'],
  summary: 'Change a webhook; --active true re-enables a disabled one',
  usage:
    'jousting webhooks update <id> [--url U] [--events P,P] [--format F] [--label L] [--description D] [--active true|false] [--json]',
  details: [
    'Only the options given change. --description "" removes the description. --active true',
    'switches a paused or disabled endpoint back on and clears its failure streak. Needs an admin token.',
    '',
    '--json prints the webhook.',
  ].join('\n'),
  options: {
    url: { type: 'string' },
    events: { type: 'string' },
    format: { type: 'string' },
    label: { type: 'string' },
    description: { type: 'string' },
    active: { type: 'string' },
  },
  async run(ctx, args, options) {
    const command = 'webhooks update';
    const [raw] = expectArgs(args, ['id'], command);
    const id = webhookId(raw!, command);
    const patch: Partial<WebhookPatch> = {};
    const u = str(options, 'url');
    if (u !== undefined) patch.url = url(u, command);
    const events = str(options, 'events');
    if (events !== undefined) patch.events = parseEventPatterns(events, command);
    const f = str(options, 'format');
    if (f !== undefined) patch.format = format(f, command);
    const label = str(options, 'label');
    if (label !== undefined) {
      if (!label.trim()) throw new UsageError('--label must not be empty', command);
      patch.label = label;
    }
    const description = str(options, 'description');
    if (description !== undefined) patch.description = description === '' ? null : description;
    const active = str(options, 'active');
    if (active !== undefined) patch.active = bool(active, '--active', command);
    if (Object.keys(patch).length === 0) {
      throw new UsageError(
        'nothing to change: give --url, --events, --format, --label, --description or --active',
        command,
      );
    }
    const webhook = await new NotifyApi(ctx).updateWebhook(id, patch);
    ctx.out.data(webhook);
    ctx.out.text(`updated webhook ${webhook.id} (${webhook.label}): ${webhookState(webhook)}`);
    return EXIT.ok;
  },
};

const removeCommand: Command = {
  path: ['webhooks', 'rm'],
  summary: 'Delete a webhook, its delivery log and its secret',
  usage: 'jousting webhooks rm <id> [--json]',
  details: 'Pending deliveries are dropped. Needs an admin token. --json prints {"id", "deleted": true}.',
  async run(ctx, args) {
    const command = 'webhooks rm';
    const [raw] = expectArgs(args, ['id'], command);
    const id = webhookId(raw!, command);
    await new NotifyApi(ctx).deleteWebhook(id);
    ctx.out.data({ id, deleted: true });
    ctx.out.text(`deleted webhook ${id}`);
    return EXIT.ok;
  },
};

const testCommand: Command = {
  path: ['webhooks', 'test'],
  summary: 'Send a signed webhook.test event now and show the response',
  usage: 'jousting webhooks test <id> [--json]',
  details: [
    'One attempt, no retries, waiting up to 15 s. Prints the response status, time and the start',
    'of the body. Exit status 1 when the endpoint did not answer 2xx. Needs an admin token.',
    '',
    '--json prints {"eventId", "delivered", "responseStatus", "responseBody", "durationMs", "error"}.',
  ].join('\n'),
  async run(ctx, args) {
    const command = 'webhooks test';
    const [raw] = expectArgs(args, ['id'], command);
    const result = await new NotifyApi(ctx).testWebhook(webhookId(raw!, command));
    ctx.out.data(result);
    ctx.out.text(formatTestResult(result));
    return result.delivered ? EXIT.ok : EXIT.failure;
  },
};

const deliveriesCommand: Command = {
  path: ['webhooks', 'deliveries'],
  summary: 'The delivery log of a webhook, newest first',
  usage:
    'jousting webhooks deliveries <id> [--status pending|delivered|failed] [--limit N] [--offset N] [--json]',
  details: [
    `Prints ID, EVENT, STATUS, ATTEMPTS, LAST (status and time, or the error), NEXT (when a pending`,
    `one is tried again) and CREATED. The log keeps the last ${MAX_DELIVERIES_PER_WEBHOOK} per webhook. Needs an`,
    'operator token.',
    '',
    '--json prints {"items", "total", "limit", "offset", "hasMore"}.',
  ].join('\n'),
  options: { status: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'webhooks deliveries';
    const [raw] = expectArgs(args, ['id'], command);
    const id = webhookId(raw!, command);
    const query: { status?: DeliveryStatus; limit?: number; offset?: number } = {};
    const status = str(options, 'status');
    if (status !== undefined) {
      const parsed = DeliveryStatus.safeParse(status);
      if (!parsed.success) {
        throw new UsageError(`unknown status "${status}"; use pending, delivered or failed`, command);
      }
      query.status = parsed.data;
    }
    const limit = str(options, 'limit');
    if (limit !== undefined)
      query.limit = integerIn(limit, 1, MAX_DELIVERIES_PER_WEBHOOK, '--limit', command);
    const offset = str(options, 'offset');
    if (offset !== undefined)
      query.offset = integerIn(offset, 0, Number.MAX_SAFE_INTEGER, '--offset', command);
    const page = await new NotifyApi(ctx).deliveries(id, query);
    ctx.out.data(page);
    ctx.out.text(formatDeliveryPage(page));
    return EXIT.ok;
  },
};

const redeliverCommand: Command = {
  path: ['webhooks', 'redeliver'],
  summary: 'Send a logged delivery again now, with a fresh retry schedule',
  usage: 'jousting webhooks redeliver <id> <deliveryId> [--json]',
  details: 'The same webhook-id header is sent, so receivers can drop duplicates. Needs an admin token.',
  async run(ctx, args) {
    const command = 'webhooks redeliver';
    const [raw, rawDelivery] = expectArgs(args, ['id', 'deliveryId'], command);
    const id = webhookId(raw!, command);
    if (!DeliveryId.safeParse(rawDelivery).success) {
      throw new UsageError(
        `"${rawDelivery}" is not a delivery id (see \`jousting webhooks deliveries ${id}\`)`,
        command,
      );
    }
    const delivery = await new NotifyApi(ctx).redeliver(id, rawDelivery!);
    ctx.out.data(delivery);
    ctx.out.text(`redelivering ${delivery.id} (${delivery.eventType}): ${delivery.status}`);
    return EXIT.ok;
  },
};

const rotateCommand: Command = {
  path: ['webhooks', 'rotate-secret'],
  summary: 'Make a new signing secret (printed once); the old one signs for 24 h more',
  usage: 'jousting webhooks rotate-secret <id> [--json]',
  details: [
    'Until the printed time both secrets sign each delivery (two v1 signatures), so a receiver can',
    'switch over without losing a message. Needs an admin token.',
    '',
    '--json prints {"webhook", "secret", "previousSecretValidUntil"}.',
  ].join('\n'),
  async run(ctx, args) {
    const command = 'webhooks rotate-secret';
    const [raw] = expectArgs(args, ['id'], command);
    const rotated = await new NotifyApi(ctx).rotateSecret(webhookId(raw!, command));
    ctx.out.data(rotated);
    ctx.out.text(`new signing secret for ${rotated.webhook.id} (${rotated.webhook.label})`);
    printSecret(ctx, rotated.secret, [
      `the previous secret keeps signing until ${rotated.previousSecretValidUntil}`,
    ]);
    return EXIT.ok;
  },
};

export const webhookCommands: Command[] = [
  listCommand,
  addCommand,
  showCommand,
  updateCommand,
  removeCommand,
  testCommand,
  deliveriesCommand,
  redeliverCommand,
  rotateCommand,
];
