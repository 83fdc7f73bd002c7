import type { Command } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { ADD_OPTIONS, buildNewTask, buildTaskQuery, LIST_OPTIONS } from '../task-input.js';
import { formatTaskDetail, formatTaskPage } from '../task-output.js';

/** Exactly `count` positional arguments, else a usage error naming them. */
export function expectArgs(args: string[], names: string[], command: string): string[] {
  if (args.length !== names.length) {
    const wanted = names.map((n) => `<${n}>`).join(' ');
    throw new UsageError(
      args.length < names.length
        ? `missing ${wanted}`
        : `expected only ${wanted}, got ${args.length} arguments`,
      command,
    );
  }
  return args;
}

const listCommand: Command = {
  path: ['tasks', 'ls'],
  summary: 'List tasks, newest first, filtered by status, label, kind or text',
  usage:
    'jousting tasks ls [--status a,b] [--label L] [--kind K] [-q TEXT] [--limit N] [--offset N] [--json]',
  details: [
    'Prints ID, STATUS, PRIORITY, KIND, TITLE, DEPS (how many) and WORKER, and the next --offset',
    'when there are more.',
    '',
    'options:',
    '  --status a,b    only these statuses: pending, queued, assigned, running, complete, failed,',
    '                  canceled, blocked',
    '  --label L       only tasks with this label',
    '  --kind K        only tasks of this kind',
    '  -q TEXT         text found in the id, title or description',
    '  --limit N       at most N tasks (1-100, default 50)',
    '  --offset N      skip the first N',
    '',
    '--json prints {"items", "total", "limit", "offset", "hasMore"}.',
  ].join('\n'),
  options: LIST_OPTIONS,
  async run(ctx, args, options) {
    expectArgs(args, [], 'tasks ls');
    const page = await ctx.client.tasks(buildTaskQuery(options));
    ctx.out.data(page);
    ctx.out.text(formatTaskPage(page));
    return EXIT.ok;
  },
};

const addCommand: Command = {
  path: ['tasks', 'add'],
  summary: 'Create a task',
  usage: 'jousting tasks add <title> [--cmd "command" [--arg A]... | --payload JSON] [options] [--json]',
  details: [
    'Creates one task and prints its id and status. The task waits for its --dep tasks to complete.',
    '',
    'options:',
    '  --kind K               what runs it (default exec)',
    '  --cmd "command"        exec: the command to run; with',
    '    --arg A              an argument (repeat for more; use --arg=-v for one starting with "-")',
    '    --env KEY=VALUE      an environment variable (repeat for more)',
    '    --cwd DIR            the working directory',
    '    --timeout S          give up after S seconds',
    '  --payload JSON         the whole payload as a JSON object, for any kind',
    '  --priority N           higher runs first (-1000 to 1000, default 0; negative as --priority=-5)',
    '  --label L              a label (repeat for more), e.g. gpu or region=eu; only a worker',
    '                         with every label of the task runs it',
    '  --dep ID               a task this one waits for (repeat for more)',
    '  --id ID                your own id (default: a sortable one made by the server)',
    '  --description TEXT     longer text',
    '  --idempotency-key KEY  a repeat with the same key creates nothing and prints the first task',
    '',
    'Values are checked before anything is sent; a refused value is printed by field, as the',
    'server names it (title, payload.timeoutSeconds, deps.0), and exits 1.',
    '--json prints {"task": {...}, "created": true|false}.',
    '',
    'Example: jousting tasks add "nightly build" --cmd make --arg all --label linux --dep fetch',
  ].join('\n'),
  options: ADD_OPTIONS,
  async run(ctx, args, options) {
    const [title] = expectArgs(args, ['title'], 'tasks add');
    const built = buildNewTask(title!, options);
    if (!built.ok) throw new CliError('invalid task', { fields: built.issues });
    const key = options['idempotency-key'];
    const result = await ctx.client.createTask(built.task, typeof key === 'string' ? key : undefined);
    ctx.out.data(result);
    ctx.out.text(
      result.created
        ? `created ${result.task.id} (${result.task.status})`
        : `${result.task.id} was already created with this idempotency key (${result.task.status}); nothing new`,
    );
    return EXIT.ok;
  },
};

const showCommand: Command = {
  path: ['tasks', 'show'],
  summary: 'Show one task: fields, deps, dependents, attempts and recent output',
  usage: 'jousting tasks show <id> [--lines N] [--json]',
  details: [
    'Prints the task, what it waits for (deps) and what waits for it (dependents), a table of its',
    'attempts, and the last --lines lines of its output (default 20).',
    '--json prints the task as GET /api/tasks/{id} returns it, with all of its output.',
  ].join('\n'),
  options: { lines: { type: 'string' } },
  async run(ctx, args, options) {
    const [id] = expectArgs(args, ['id'], 'tasks show');
    const rawLines = typeof options.lines === 'string' ? options.lines : '20';
    const lines = Number(rawLines);
    if (!/^\d+$/.test(rawLines) || lines < 0) {
      throw new UsageError(`--lines must be a whole number, got "${rawLines}"`, 'tasks show');
    }
    const task = await ctx.client.task(id!);
    ctx.out.data(task);
    ctx.out.text(formatTaskDetail(task, lines));
    return EXIT.ok;
  },
};

const cancelCommand: Command = {
  path: ['tasks', 'cancel'],
  summary: 'Cancel a task and the dependents that can no longer run',
  usage: 'jousting tasks cancel <id> [--reason TEXT] [--json]',
  details: [
    'A running task is aborted on its worker. Prints the task and every dependent canceled with it.',
    'A task that already ended cannot be canceled (exit 1).',
    '--json prints {"task": {...}, "cascaded": [{"id", "reason"}] (at most 1000), "cascadedTotal": n}.',
  ].join('\n'),
  options: { reason: { type: 'string' } },
  async run(ctx, args, options) {
    const [id] = expectArgs(args, ['id'], 'tasks cancel');
    const result = await ctx.client.cancelTask(
      id!,
      typeof options.reason === 'string' ? options.reason : undefined,
    );
    ctx.out.data(result);
    ctx.out.text(`canceled ${result.task.id}`);
    const total = result.cascadedTotal;
    if (total > 0) {
      const listed = total > result.cascaded.length ? ` (the first ${result.cascaded.length} listed)` : '';
      ctx.out.text(`also canceled ${total} dependent${total === 1 ? '' : 's'}${listed}:`);
      for (const { id: dependent, reason } of result.cascaded) ctx.out.text(`  ${dependent}  ${reason}`);
    }
    return EXIT.ok;
  },
};

const retryCommand: Command = {
  path: ['tasks', 'retry'],
  summary: 'Start a new attempt of a failed or canceled task',
  usage: 'jousting tasks retry <id> [--json]',
  details: 'Prints the task\u2019s new status. Any other status is refused (exit 1). --json prints the task.',
  async run(ctx, args) {
    const [id] = expectArgs(args, ['id'], 'tasks retry');
    const task = await ctx.client.retryTask(id!);
    ctx.out.data(task);
    ctx.out.text(`retried ${task.id}: ${task.status}`);
    return EXIT.ok;
  },
};

const depsAddCommand: Command = {
  path: ['tasks', 'deps', 'add'],
  summary: 'Make a task wait for another',
  usage: 'jousting tasks deps add <id> <depId> [--json]',
  details: [
    'Only a task that has not started can get a dependency. One that would close a cycle is',
    'refused, and the cycle is printed (a \u2192 b \u2192 c \u2192 a). --json prints the task.',
  ].join('\n'),
  async run(ctx, args) {
    const [id, depId] = expectArgs(args, ['id', 'depId'], 'tasks deps add');
    const task = await ctx.client.addTaskDep(id!, depId!);
    ctx.out.data(task);
    ctx.out.text(`${task.id} now waits for ${depId} (deps: ${task.deps.join(', ')}; ${task.status})`);
    return EXIT.ok;
  },
};

const depsRemoveCommand: Command = {
  path: ['tasks', 'deps', 'rm'],
  summary: 'Stop a task waiting for another',
  usage: 'jousting tasks deps rm <id> <depId> [--json]',
  details: 'Removing a dependency the task does not have changes nothing. --json prints the task.',
  async run(ctx, args) {
    const [id, depId] = expectArgs(args, ['id', 'depId'], 'tasks deps rm');
    const task = await ctx.client.removeTaskDep(id!, depId!);
    ctx.out.data(task);
    const deps = task.deps.length > 0 ? task.deps.join(', ') : 'none';
    ctx.out.text(`${task.id} does not wait for ${depId} (deps: ${deps}; ${task.status})`);
    return EXIT.ok;
  },
};

export const taskCommands: Command[] = [
  listCommand,
  addCommand,
  showCommand,
  cancelCommand,
  retryCommand,
  depsAddCommand,
  depsRemoveCommand,
];
