import { DeadLetterStatus, Label } from '@jousting/contracts';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import type { DeadLetterQuery } from '../http-client.js';
import { integerIn } from '../task-input.js';
import { formatDeadLetterPage } from '../task-output.js';
import { expectArgs } from './tasks.js';

const str = (options: Record<string, unknown>, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;

const listCommand: Command = {
  path: ['dlq', 'ls'],
  summary: 'List dead letters: tasks that failed for good, newest first',
  usage: 'jousting dlq ls [--status open|dismissed] [--kind K] [--limit N] [--offset N] [--json]',
  details: [
    'A task is dead-lettered when it fails fatally, or after maxTaskRetries retries of transient',
    'or limit failures. Prints ID, STATUS, KIND, ATTEMPTS, the last ERROR, AGE and TITLE, and the',
    'next --offset when there are more.',
    '',
    'options:',
    '  --status S      only open or only dismissed dead letters',
    '  --kind K        only tasks of this kind',
    '  --limit N       at most N (1-100, default 50)',
    '  --offset N      skip the first N',
    '',
    '--json prints {"items", "total", "limit", "offset", "hasMore"}.',
  ].join('\n'),
  options: {
    status: { type: 'string' },
    kind: { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
  },
  async run(ctx, args, options) {
    const command = 'dlq ls';
    expectArgs(args, [], command);
    const query: DeadLetterQuery = {};
    const status = str(options, 'status');
    if (status !== undefined) {
      const parsed = DeadLetterStatus.safeParse(status);
      if (!parsed.success) {
        throw new UsageError(`unknown status "${status}"; use open or dismissed`, command);
      }
      query.status = parsed.data;
    }
    const kind = str(options, 'kind');
    if (kind !== undefined) query.kind = kind;
    const limit = str(options, 'limit');
    if (limit !== undefined) query.limit = integerIn(limit, 1, 100, '--limit', command);
    const offset = str(options, 'offset');
    if (offset !== undefined)
      query.offset = integerIn(offset, 0, Number.MAX_SAFE_INTEGER, '--offset', command);
    const page = await ctx.client.deadLetters(query);
    ctx.out.data(page);
    ctx.out.text(formatDeadLetterPage(page));
    return EXIT.ok;
  },
};

const retryCommand: Command = {
  path: ['dlq', 'retry'],
  summary: 'Give a dead-lettered task a new attempt',
  usage: 'jousting dlq retry <id> [--priority N] [--label L]... [--json]',
  details: [
    'The task is queued again (pending while a dependency is not complete) with a fresh retry',
    'count, and its dead letter is removed.',
    '',
    'options:',
    '  --priority N    a new priority (-1000 to 1000; negative as --priority=-5)',
    '  --label L       new labels, replacing the old ones (repeat for more)',
    '',
    '--json prints the task.',
  ].join('\n'),
  options: { priority: { type: 'string' }, label: { type: 'string', multiple: true } },
  async run(ctx, args, options) {
    const command = 'dlq retry';
    const [id] = expectArgs(args, ['id'], command);
    const changes: { priority?: number; labels?: string[] } = {};
    const priority = str(options, 'priority');
    if (priority !== undefined) changes.priority = integerIn(priority, -1000, 1000, '--priority', command);
    const labels = Array.isArray(options.label) ? (options.label as string[]) : [];
    for (const label of labels) {
      if (!Label.safeParse(label).success) {
        throw new UsageError(`--label "${label}" is not a label like "gpu" or "region=eu"`, command);
      }
    }
    if (labels.length > 0) changes.labels = labels;
    const task = await ctx.client.retryDeadLetter(id!, changes);
    ctx.out.data(task);
    ctx.out.text(`retried ${task.id}: ${task.status}`);
    return EXIT.ok;
  },
};

const dismissCommand: Command = {
  path: ['dlq', 'dismiss'],
  summary: 'Mark a dead letter as looked at; the task stays failed',
  usage: 'jousting dlq dismiss <id> --reason TEXT [--json]',
  details: [
    'Dismissed dead letters are kept (list them with --status dismissed) and are the first to go',
    'when the list is full. --json prints the dead letter.',
  ].join('\n'),
  options: { reason: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'dlq dismiss';
    const [id] = expectArgs(args, ['id'], command);
    const reason = str(options, 'reason');
    if (!reason) throw new UsageError('missing --reason TEXT', command);
    const letter = await ctx.client.dismissDeadLetter(id!, reason);
    ctx.out.data(letter);
    ctx.out.text(`dismissed ${letter.id}`);
    return EXIT.ok;
  },
};

export const dlqCommands: Command[] = [listCommand, retryCommand, dismissCommand];
