import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { formatReadiness } from '../output.js';

export const statusCommand: Command = {
  path: ['status'],
  summary: 'Show whether NATS and every service answer (GET /api/health/ready)',
  usage: 'jousting status [--json]',
  details: [
    'Prints "ready" or "NOT ready", the NATS connection, and each service with its instance count.',
    'With --json, prints the readiness body as the gateway sent it.',
    '',
    'Exit status: 0 when ready, 1 when something is missing, 2 when the gateway cannot be reached.',
  ].join('\n'),
  async run(ctx, args) {
    if (args.length > 0) throw new UsageError('status takes no arguments', 'status');
    const { readiness } = await ctx.client.readiness();
    ctx.out.data(readiness);
    ctx.out.text(formatReadiness(readiness));
    return readiness.ready ? EXIT.ok : EXIT.failure;
  },
};
