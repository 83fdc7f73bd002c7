import { MAX_NOTIFICATIONS, NotificationId, type NotificationPage } from '@jousting/contracts';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { NotifyApi, type PageQuery } from '../notify-api.js';
import { formatTable } from '../output.js';
import { integerIn } from '../task-input.js';
import { formatAge } from '../task-output.js';
import { expectArgs } from './tasks.js';

const str = (options: Record<string, unknown>, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;

export function formatNotificationPage(page: NotificationPage, now = Date.now()): string {
  const summary = `${page.unread} unread`;
  if (page.items.length === 0) {
    return page.total > 0
      ? `no notifications from offset ${page.offset} (${summary})`
      : `no notifications (${summary})`;
  }
  const rows = [['', 'ID', 'SEVERITY', 'KIND', 'WHEN', 'TITLE', 'LINK']];
  for (const n of page.items) {
    rows.push([
      n.read ? ' ' : '*',
      n.id,
      n.severity,
      n.kind,
      formatAge(n.createdAt, now),
      n.title,
      n.link ?? '',
    ]);
  }
  const lines = [formatTable(rows), `${summary} (* = unread)`];
  if (page.hasMore) lines.push(`… more: --offset ${page.offset + page.items.length} (${page.total} in all)`);
  return lines.join('\n');
}

const listCommand: Command = {
  path: ['notifications', 'ls'],
  summary: 'List notifications, newest first, with the unread count',
  usage: 'jousting notifications ls [--unread] [--limit N] [--offset N] [--json]',
  details: [
    'Notifications are what an operator must see: a task failed or was dead-lettered, a budget',
    'warning, a circuit opened, a webhook disabled, a settings change refused, a backup. Unread',
    `ones are marked *. The inbox keeps the last ${MAX_NOTIFICATIONS}.`,
    '',
    'options:',
    '  --unread     only unread ones',
    `  --limit N    at most N (1-${MAX_NOTIFICATIONS}, default 50)`,
    '  --offset N   skip the first N',
    '',
    '--json prints {"items", "total", "limit", "offset", "hasMore", "unread"}.',
  ].join('\n'),
  options: { unread: { type: 'boolean' }, limit: { type: 'string' }, offset: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'notifications ls';
    expectArgs(args, [], command);
    const query: PageQuery & { unread?: boolean } = {};
    if (options.unread === true) query.unread = true;
    const limit = str(options, 'limit');
    if (limit !== undefined) query.limit = integerIn(limit, 1, MAX_NOTIFICATIONS, '--limit', command);
    const offset = str(options, 'offset');
    if (offset !== undefined)
      query.offset = integerIn(offset, 0, Number.MAX_SAFE_INTEGER, '--offset', command);
    const page = await new NotifyApi(ctx).notifications(query);
    ctx.out.data(page);
    ctx.out.text(formatNotificationPage(page));
    return EXIT.ok;
  },
};

const readCommand: Command = {
  path: ['notifications', 'read'],
  summary: 'Mark one notification as read',
  usage: 'jousting notifications read <id> [--json]',
  details: 'Needs an operator token. --json prints the notification.',
  async run(ctx, args) {
    const command = 'notifications read';
    const [id] = expectArgs(args, ['id'], command);
    if (!NotificationId.safeParse(id).success) {
      throw new UsageError(`"${id}" is not a notification id (see \`jousting notifications ls\`)`, command);
    }
    const notification = await new NotifyApi(ctx).readNotification(id!);
    ctx.out.data(notification);
    ctx.out.text(`read ${notification.id}: ${notification.title}`);
    return EXIT.ok;
  },
};

const readAllCommand: Command = {
  path: ['notifications', 'read-all'],
  summary: 'Mark every notification as read',
  usage: 'jousting notifications read-all [--json]',
  details: 'Needs an operator token. --json prints {"marked", "unread"}.',
  async run(ctx, args) {
    expectArgs(args, [], 'notifications read-all');
    const result = await new NotifyApi(ctx).readAllNotifications();
    ctx.out.data(result);
    ctx.out.text(`marked ${result.marked} notification${result.marked === 1 ? '' : 's'} as read`);
    return EXIT.ok;
  },
};

export const notificationCommands: Command[] = [listCommand, readCommand, readAllCommand];
