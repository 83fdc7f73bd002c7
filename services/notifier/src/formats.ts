import type { CloudEvent, WebhookFormat } from '@jousting/contracts';

/** A one-line, human summary of an event for chat formats. */
export function summarize(event: CloudEvent): string {
  const d = (event.data ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  switch (event.type) {
    case 'coord.task-updated':
      return `Task ${str(d.id) ?? '?'}: ${str(d.from) ?? '?'} → ${str(d.to) ?? '?'}${d.reason ? ` (${str(d.reason)})` : ''}`;
    case 'coord.task-created': {
      const task = (d.task ?? {}) as Record<string, unknown>;
      return `Task ${str(task.id) ?? '?'} created: ${str(task.title) ?? ''}`.trim();
    }
    case 'coord.dead-lettered': {
      const dl = (d.deadLetter ?? {}) as Record<string, unknown>;
      const error = (dl.lastError ?? {}) as Record<string, unknown>;
      return `Task ${str(dl.taskId) ?? '?'} failed for good: ${str(error.message) ?? 'no message'}`;
    }
    case 'settings.changed':
      return `Settings changed by ${str(d.actor) ?? 'someone'}: ${Object.keys((d.changes ?? {}) as object).join(', ')}`;
    case 'settings.rejected':
      return `Setting ${str(d.field) ?? '?'} refused: ${str(d.reason) ?? ''}`;
    case 'notify.webhook-disabled':
      return `Webhook "${str(d.label) ?? '?'}" disabled: ${str(d.reason) ?? ''}`;
    case 'webhook.test':
      return 'Test delivery from Jousting Operator';
    default:
      return `${event.type}${event.subject ? ` (${event.subject})` : ''}`;
  }
}

const MAX_DETAIL = 1500;

function detail(event: CloudEvent): string {
  const json = JSON.stringify(event.data ?? null, null, 2);
  return json.length > MAX_DETAIL ? `${json.slice(0, MAX_DETAIL)}\n…` : json;
}

/**
 * The request body for a format. generic: the CloudEvent exactly as stored (`raw`); slack and
 * discord: a readable message in their incoming-webhook shapes.
 */
export function renderBody(format: WebhookFormat, event: CloudEvent, raw: string): string {
  if (format === 'generic') return raw;
  const summary = summarize(event);
  const context = `${event.type} · ${event.id} · ${event.time}`;
  if (format === 'slack') {
    return JSON.stringify({
      text: summary,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(summary)}*` } },
        { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${escapeSlack(detail(event))}\`\`\`` } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(context) }] },
      ],
    });
  }
  return JSON.stringify({
    content: summary.slice(0, 2000),
    embeds: [
      {
        title: event.type,
        description: `\`\`\`json\n${detail(event)}\n\`\`\``,
        timestamp: event.time,
        footer: { text: `${event.id} · ${event.source}` },
      },
    ],
    allowed_mentions: { parse: [] },
  });
}

/** Slack's three control characters in mrkdwn. */
const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
