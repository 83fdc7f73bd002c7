import {
  type CloudEvent,
  COORD_EVENT_DATA,
  EVENT_DATA,
  type NotificationKind,
  type NotificationSeverity,
} from '@jousting/contracts';
import { z } from 'zod';

export interface NotificationDraft {
  kind: NotificationKind;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link?: string;
}

// Loose shapes for event types whose schema may not be in this build's contracts yet: a missing
// field degrades the text, never the notification.
const BudgetData = z.looseObject({
  scope: z.string().optional(),
  workerId: z.string().optional(),
  spentUsd: z.number().optional(),
  budgetUsd: z.number().optional(),
  percent: z.number().optional(),
});
const CircuitData = z.looseObject({
  workerId: z.string().optional(),
  consecutiveFailures: z.number().optional(),
  retryAt: z.string().optional(),
});
const BackupData = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  path: z.string().optional(),
  reason: z.string().optional(),
  error: z.unknown().optional(),
  message: z.string().optional(),
});

const usd = (n: number | undefined) => (n === undefined ? '?' : `$${n.toFixed(2)}`);

function parse<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> | undefined {
  const parsed = schema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

function budget(event: CloudEvent, exceeded: boolean): NotificationDraft {
  const d = parse(BudgetData, event.data) ?? {};
  const who = d.scope === 'worker' ? `Worker ${d.workerId ?? '?'}` : 'Global';
  return {
    kind: exceeded ? 'budget-exceeded' : 'budget-warning',
    severity: exceeded ? 'error' : 'warning',
    title: exceeded ? `${who} budget exceeded` : `${who} budget at ${Math.round(d.percent ?? 80)} %`,
    body: `${usd(d.spentUsd)} spent of ${usd(d.budgetUsd)}.${
      exceeded
        ? d.scope === 'worker'
          ? ' The worker gets no more tasks.'
          : ' The coordinator stops dispatching.'
        : ''
    }`,
    link: d.scope === 'worker' ? '/workers' : '/',
  };
}

function backup(event: CloudEvent): NotificationDraft | undefined {
  const name = event.type.slice('backup.'.length);
  const d = parse(BackupData, event.data) ?? {};
  const what = d.name ?? d.id ?? event.subject ?? '';
  if (/fail|error/.test(name)) {
    const why =
      d.reason ??
      d.message ??
      (typeof d.error === 'string' ? d.error : (d.error as { message?: string } | undefined)?.message);
    return {
      kind: 'backup-failed',
      severity: 'error',
      title: `Backup failed${what ? `: ${what}` : ''}`,
      body: why ?? 'The backup did not complete.',
    };
  }
  if (/done|complete|completed|created|finished|succeeded/.test(name)) {
    return {
      kind: 'backup-done',
      severity: 'info',
      title: `Backup done${what ? `: ${what}` : ''}`,
      body: d.path ? `Written to ${d.path}.` : 'The backup completed.',
    };
  }
  return undefined;
}

const INBOX_TYPES = new Set([
  'coord.dead-lettered',
  'coord.budget-warning',
  'coord.budget-exceeded',
  'coord.circuit-opened',
  'notify.webhook-disabled',
  'settings.rejected',
]);
/** Whatever the spacing of the JSON, a task update to failed holds this token. */
const FAILED_MARK = Buffer.from('"failed"');

/**
 * A cheap look at the raw event before parsing it: false means notificationFor would surely
 * return undefined. Task updates are most of the traffic and only those to `failed` matter.
 */
export function mayNeedNotification(type: string, raw: Uint8Array): boolean {
  if (type === 'coord.task-updated') {
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).includes(FAILED_MARK);
  }
  return INBOX_TYPES.has(type) || type.startsWith('backup.');
}

/**
 * The notification an event calls for, or undefined when an operator need not see it. Data is
 * read with safeParse: an event that does not match its schema makes no notification.
 */
export function notificationFor(event: CloudEvent): NotificationDraft | undefined {
  switch (event.type) {
    case 'coord.task-updated': {
      const d = parse(COORD_EVENT_DATA['coord.task-updated'], event.data);
      if (d?.to !== 'failed' || d.from === 'failed') return undefined;
      return {
        kind: 'task-failed',
        severity: 'error',
        title: `Task ${d.id} failed`,
        body: d.reason ?? `Attempt ${d.attempt ?? '?'} failed.`,
        link: `/tasks/${encodeURIComponent(d.id)}`,
      };
    }
    case 'coord.dead-lettered': {
      const d = parse(COORD_EVENT_DATA['coord.dead-lettered'], event.data);
      if (!d) return undefined;
      const dl = d.deadLetter;
      return {
        kind: 'dead-lettered',
        severity: 'error',
        title: `Task ${dl.taskId} dead-lettered`,
        body: `${dl.title}: ${dl.lastError.message} (${dl.attempts} attempt${dl.attempts === 1 ? '' : 's'})`,
        link: '/dead-letters',
      };
    }
    case 'coord.budget-warning':
      return budget(event, false);
    case 'coord.budget-exceeded':
      return budget(event, true);
    case 'coord.circuit-opened': {
      const d = parse(CircuitData, event.data) ?? {};
      return {
        kind: 'circuit-opened',
        severity: 'warning',
        title: `Worker ${d.workerId ?? '?'} taken out of rotation`,
        body: `${d.consecutiveFailures ?? 'Several'} failures in a row${d.retryAt ? `; one trial task after ${d.retryAt}` : ''}.`,
        link: '/workers',
      };
    }
    case 'notify.webhook-disabled': {
      const d = parse(EVENT_DATA['notify.webhook-disabled'], event.data);
      if (!d) return undefined;
      return {
        kind: 'webhook-disabled',
        severity: 'warning',
        title: `Webhook "${d.label}" disabled`,
        body: d.reason,
        link: `/webhooks/${d.webhookId}`,
      };
    }
    case 'settings.rejected': {
      const d = parse(EVENT_DATA['settings.rejected'], event.data);
      if (!d) return undefined;
      return {
        kind: 'settings-rejected',
        severity: 'warning',
        title: `Setting ${d.field} refused`,
        body: `${d.reason}; the last valid value was restored.`,
        link: '/settings',
      };
    }
    default:
      return event.type.startsWith('backup.') ? backup(event) : undefined;
  }
}
