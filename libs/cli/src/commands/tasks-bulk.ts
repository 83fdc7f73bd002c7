import { type BulkSelection, TaskStatus } from '@jousting/contracts';
import type { Command } from '../command.js';
import { formatBulkResult } from '../coord-output.js';
import { EXIT, UsageError } from '../errors.js';
import { integerIn } from '../task-input.js';
import { expectArgs } from './tasks.js';

type Options = Record<string, unknown>;
type BulkAction = 'cancel' | 'retry' | 'reprioritize';

const str = (options: Options, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;
const splitList = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const MAX_IDS = 10_000;
const MAX_REASON = 500;

const SELECTION_OPTIONS = {
  ids: { type: 'string' },
  status: { type: 'string' },
  label: { type: 'string' },
  kind: { type: 'string' },
  q: { type: 'string', short: 'q' },
} as const;

/**
 * The selection of a bulk command: `--ids a,b,c`, or a filter of at least one of --status,
 * --label, --kind, -q. Selecting every task needs a filter on purpose: an empty one would.
 */
export function buildBulkSelection(options: Options, command: string): BulkSelection {
  const ids = str(options, 'ids');
  const filterFlags = (['status', 'label', 'kind', 'q'] as const).filter(
    (f) => str(options, f) !== undefined,
  );
  if (ids !== undefined && filterFlags.length > 0) {
    throw new UsageError(`give either --ids or a filter (--${filterFlags[0]}), not both`, command);
  }
  if (ids !== undefined) {
    const list = [...new Set(splitList(ids))];
    if (list.length === 0) throw new UsageError('--ids needs at least one task id', command);
    if (list.length > MAX_IDS) throw new UsageError(`--ids takes at most ${MAX_IDS} ids`, command);
    return { ids: list };
  }
  if (filterFlags.length === 0) {
    throw new UsageError('select tasks with --ids a,b,c or a filter: --status, --label, --kind, -q', command);
  }
  const filter: NonNullable<BulkSelection['filter']> = {};
  const status = str(options, 'status');
  if (status !== undefined) {
    const statuses = splitList(status);
    const unknown = statuses.filter((s) => !TaskStatus.safeParse(s).success);
    if (statuses.length === 0) throw new UsageError('--status needs at least one status', command);
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown status ${unknown.map((s) => `"${s}"`).join(', ')}; use any of ${TaskStatus.options.join(', ')}`,
        command,
      );
    }
    filter.status = statuses as TaskStatus[];
  }
  for (const name of ['label', 'kind', 'q'] as const) {
    const value = str(options, name);
    if (value !== undefined) filter[name] = value;
  }
  return { filter };
}

function bulkCommand(action: BulkAction, summary: string, details: string[]): Command {
  const command = `tasks bulk ${action}`;
  const extra = action === 'cancel' ? ' [--reason TEXT]' : action === 'reprioritize' ? ' --priority N' : '';
  return {
    path: ['tasks', 'bulk', action],
    summary,
    usage: `jousting ${command} (--ids a,b,c | [--status a,b] [--label L] [--kind K] [-q TEXT])${extra} [--json]`,
    details: [
      ...details,
      '',
      'selection (either):',
      '  --ids a,b,c     these tasks',
      '  --status a,b    tasks with any of these statuses, and/or',
      '  --label L       with this label, and/or',
      '  --kind K        of this kind, and/or',
      '  -q TEXT         with this text in the id, title or description',
      ...(action === 'cancel' ? ['', '  --reason TEXT   why, recorded on each task'] : []),
      ...(action === 'reprioritize'
        ? ['', '  --priority N    the new priority (-1000 to 1000; negative as --priority=-5)']
        : []),
      '',
      'Prints how many were done and each refused task with the reason. Exit 0 when none was',
      'refused, 1 when some were. --json prints {"done", "refused", "matched"}.',
    ].join('\n'),
    options: {
      ...SELECTION_OPTIONS,
      ...(action === 'cancel' ? { reason: { type: 'string' } } : {}),
      ...(action === 'reprioritize' ? { priority: { type: 'string' } } : {}),
    },
    async run(ctx, args, options) {
      expectArgs(args, [], command);
      const selection = buildBulkSelection(options, command);
      const extraBody: { reason?: string; priority?: number } = {};
      if (action === 'reprioritize') {
        const priority = str(options, 'priority');
        if (priority === undefined) throw new UsageError('missing --priority N', command);
        extraBody.priority = integerIn(priority, -1000, 1000, '--priority', command);
      }
      const reason = str(options, 'reason');
      if (reason !== undefined) {
        if (reason.length > MAX_REASON)
          throw new UsageError(`--reason is at most ${MAX_REASON} characters`, command);
        extraBody.reason = reason;
      }
      const result = await ctx.client.bulk(action, selection, extraBody);
      ctx.out.data(result);
      ctx.out.text(formatBulkResult(action, result));
      return result.refused.length > 0 ? EXIT.failure : EXIT.ok;
    },
  };
}

const requeueCommand: Command = {
  path: ['tasks', 'requeue'],
  summary: 'Put a blocked task back in the queue (a new attempt)',
  usage: 'jousting tasks requeue <id> [--json]',
  details: [
    'A running task that stopped making progress (no heartbeat or output for staleTaskMinutes) is',
    'blocked; requeue gives it a new attempt, or cancel it with `jousting tasks cancel`. Any other',
    'status is refused (exit 1). --json prints the task.',
  ].join('\n'),
  async run(ctx, args) {
    const [id] = expectArgs(args, ['id'], 'tasks requeue');
    const task = await ctx.client.requeueTask(id!);
    ctx.out.data(task);
    ctx.out.text(`requeued ${task.id}: ${task.status}`);
    return EXIT.ok;
  },
};

export const taskBulkCommands: Command[] = [
  bulkCommand('cancel', 'Cancel many tasks by ids or filter; lists what was refused and why', [
    'Cancels each selected task that has not ended (and, like `tasks cancel`, its dependents).',
  ]),
  bulkCommand('retry', 'Retry many failed or canceled tasks by ids or filter', [
    'Gives each selected failed or canceled task a new attempt; other statuses are refused.',
  ]),
  bulkCommand('reprioritize', 'Give many not-yet-started tasks a new priority', [
    'Only tasks that have not started (pending, queued) take a new priority; others are refused.',
  ]),
  requeueCommand,
];
