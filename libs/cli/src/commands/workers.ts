import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { formatWorkers } from '../task-output.js';

export const workersListCommand: Command = {
  path: ['workers', 'ls'],
  summary: 'List known workers: status, kinds, labels, capacity, what they run',
  usage: 'jousting workers ls [--json]',
  details: [
    'Prints ID, STATUS (online or offline), KINDS and LABELS it takes, CAPACITY, RUNNING (tasks',
    'assigned to or running on it) and LAST SEEN. --json prints {"items": [...]}.',
  ].join('\n'),
  async run(ctx, args) {
    if (args.length > 0) throw new UsageError('workers ls takes no arguments', 'workers ls');
    const workers = await ctx.client.workers();
    ctx.out.data({ items: workers });
    ctx.out.text(formatWorkers(workers));
    return EXIT.ok;
  },
};
