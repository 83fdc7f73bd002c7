import type { Command } from '../command.js';
import { formatCoordState, formatLifecycleChange } from '../coord-output.js';
import { EXIT, UsageError } from '../errors.js';
import { integerIn } from '../task-input.js';
import { expectArgs } from './tasks.js';

const str = (options: Record<string, unknown>, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;

const MAX_REASON = 500;
const MAX_DRAIN_SECONDS = 7 * 24 * 3600;

function reasonOf(options: Record<string, unknown>, command: string): string | undefined {
  const reason = str(options, 'reason');
  if (reason !== undefined && reason.length > MAX_REASON) {
    throw new UsageError(`--reason is at most ${MAX_REASON} characters`, command);
  }
  return reason;
}

const statusCommand: Command = {
  path: ['coord', 'status'],
  summary: 'Show the coordinator: running/draining/paused, rate limits, budgets, circuits',
  usage: 'jousting coord status [--json]',
  details: [
    'Prints the lifecycle state (and why it is draining or paused), how many tasks are queued,',
    'running and blocked, the rate limits (configured, effective at the current level, available),',
    'the budgets (global and per worker; WARNING from 80 %, EXCEEDED at 100 %) and each worker’s',
    'circuit (OPEN workers get no tasks until RETRY AT).',
    '',
    '--json prints GET /api/coord as it is.',
  ].join('\n'),
  async run(ctx, args) {
    expectArgs(args, [], 'coord status');
    const state = await ctx.client.coordState();
    ctx.out.data(state);
    ctx.out.text(formatCoordState(state));
    return EXIT.ok;
  },
};

const drainCommand: Command = {
  path: ['coord', 'drain'],
  summary: 'Stop dispatching, let running tasks finish, then pause',
  usage: 'jousting coord drain [--timeout S] [--reason TEXT] [--json]',
  details: [
    'Nothing new is dispatched; when no task runs any more the coordinator is paused.',
    '',
    'options:',
    '  --timeout S     after S seconds, abort and requeue what still runs (1 to 604800)',
    '  --reason TEXT   why, shown in `coord status` and the UI',
    '',
    '--json prints the coordinator state.',
  ].join('\n'),
  options: { timeout: { type: 'string' }, reason: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'coord drain';
    expectArgs(args, [], command);
    const body: { timeoutSeconds?: number; reason?: string } = {};
    const timeout = str(options, 'timeout');
    if (timeout !== undefined)
      body.timeoutSeconds = integerIn(timeout, 1, MAX_DRAIN_SECONDS, '--timeout', command);
    const reason = reasonOf(options, command);
    if (reason !== undefined) body.reason = reason;
    const state = await ctx.client.coordLifecycle('drain', body);
    ctx.out.data(state);
    ctx.out.text(formatLifecycleChange(state));
    return EXIT.ok;
  },
};

const pauseCommand: Command = {
  path: ['coord', 'pause'],
  summary: 'Stop dispatching at once; running tasks go on',
  usage: 'jousting coord pause [--reason TEXT] [--json]',
  details: 'New tasks stay queued until `jousting coord resume`. --json prints the coordinator state.',
  options: { reason: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'coord pause';
    expectArgs(args, [], command);
    const reason = reasonOf(options, command);
    const state = await ctx.client.coordLifecycle('pause', reason === undefined ? {} : { reason });
    ctx.out.data(state);
    ctx.out.text(formatLifecycleChange(state));
    return EXIT.ok;
  },
};

const resumeCommand: Command = {
  path: ['coord', 'resume'],
  summary: 'Dispatch again after a pause or drain',
  usage: 'jousting coord resume [--json]',
  details: [
    'Refused (exit 1) while the global budget is exceeded: raise coordGlobalBudgetUsd first.',
    '--json prints the coordinator state.',
  ].join('\n'),
  async run(ctx, args) {
    expectArgs(args, [], 'coord resume');
    const state = await ctx.client.coordLifecycle('resume');
    ctx.out.data(state);
    ctx.out.text(formatLifecycleChange(state));
    return EXIT.ok;
  },
};

export const coordCommands: Command[] = [statusCommand, drainCommand, pauseCommand, resumeCommand];
