import { leadingWords, parseCommandLine } from './args.js';
import type { Command } from './command.js';
import { coordCommands } from './commands/coord.js';
import { dlqCommands } from './commands/dlq.js';
import { notificationCommands } from './commands/notifications.js';
import { secretsCommands } from './commands/secrets.js';
import { settingsCommands } from './commands/settings.js';
import { statusCommand } from './commands/status.js';
import { taskCommands } from './commands/tasks.js';
import { taskBulkCommands } from './commands/tasks-bulk.js';
import { templateCommands } from './commands/templates.js';
import { upCommand } from './commands/up.js';
import { webhookCommands } from './commands/webhooks.js';
import { workersListCommand } from './commands/workers.js';
import { type CliIo, CommandContext } from './context.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { HttpError } from './http-client.js';
import { formatError, formatTable } from './output.js';

export const COMMANDS: Command[] = [
  upCommand,
  statusCommand,
  ...settingsCommands,
  ...taskCommands,
  ...taskBulkCommands,
  ...dlqCommands,
  workersListCommand,
  ...secretsCommands,
  ...webhookCommands,
  ...notificationCommands,
  ...coordCommands,
  ...templateCommands,
];

const GLOBAL_FLAGS_HELP = formatTable([
  ['  --json', 'machine-readable output only (JSON on stdout)'],
  ['  --url <url>', 'gateway URL (default $JOUSTING_URL, else http://127.0.0.1:$GATEWAY_PORT, port 8080)'],
  ['  --token <token>', 'API token (default $JOUSTING_TOKEN, else the file $JOUSTING_DATA_DIR/admin-token)'],
  ['  -h, --help', 'show help'],
]);

function mainHelp(): string {
  return [
    'jousting: run and operate a Jousting Operator stack',
    '',
    'usage: jousting <command> [options]',
    '',
    'commands:',
    formatTable(COMMANDS.map((c) => [`  ${c.path.join(' ')}`, c.summary])),
    '',
    'options (every command):',
    GLOBAL_FLAGS_HELP,
    '',
    'exit status: 0 ok, 1 failed or refused, 2 gateway unreachable, 64 bad command line',
    'Run `jousting <command> --help` for more.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [
    `usage: ${command.usage}`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'options:',
    GLOBAL_FLAGS_HELP,
  ].join('\n');
}

function groupHelp(group: string, commands: Command[]): string {
  return [
    `usage: jousting ${group} <command> [options]`,
    '',
    'commands:',
    formatTable(commands.map((c) => [`  ${c.path.join(' ')}`, c.summary])),
    '',
    'options:',
    GLOBAL_FLAGS_HELP,
  ].join('\n');
}

interface Found {
  command?: Command;
  /** The longest run of words that starts several commands (`tasks`, `tasks deps`), and those commands. */
  group?: { name: string; commands: Command[] };
}

/** The command selected by the leading words, the longest match first; else the group they name. */
function findCommand(words: string[]): Found {
  const matches = COMMANDS.filter((c) => c.path.every((w, i) => words[i] === w));
  const command = matches.sort((a, b) => b.path.length - a.path.length)[0];
  if (command) return { command };
  for (let length = words.length; length > 0; length--) {
    const prefix = words.slice(0, length);
    const commands = COMMANDS.filter(
      (c) => c.path.length > length && prefix.every((w, i) => c.path[i] === w),
    );
    if (commands.length > 0) return { group: { name: prefix.join(' '), commands } };
  }
  return {};
}

/** Runs one command line and returns its exit status; never throws. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let json = false;
  let ctx: CommandContext | undefined;
  try {
    const words = leadingWords(argv);
    if (words[0] === 'help') {
      const target = findCommand(words.slice(1));
      io.stdout.write(
        `${target.command ? commandHelp(target.command) : target.group ? groupHelp(target.group.name, target.group.commands) : mainHelp()}\n`,
      );
      return EXIT.ok;
    }
    const { command, group } = findCommand(words);
    const parsed = parseCommandLine(argv, command?.options, command?.path.join(' '));
    json = parsed.flags.json;
    if (!command) {
      const help = group ? groupHelp(group.name, group.commands) : mainHelp();
      if (parsed.flags.help) {
        io.stdout.write(`${help}\n`);
        return EXIT.ok;
      }
      const groupWords = group ? group.name.split(' ').length : 0;
      if (words.length === groupWords) {
        io.stderr.write(`${help}\n`);
        return EXIT.usage;
      }
      if (group) {
        throw new UsageError(`unknown command "${words.slice(0, groupWords + 1).join(' ')}"`, group.name);
      }
      throw new UsageError(`unknown command "${words[0]}"`);
    }
    if (parsed.flags.help) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    ctx = new CommandContext(io, parsed.flags);
    return await command.run(ctx, parsed.positionals.slice(command.path.length), parsed.options);
  } catch (err) {
    return report(err, io, json, ctx);
  }
}

function report(err: unknown, io: CliIo, json: boolean, ctx: CommandContext | undefined): number {
  if (!(err instanceof CliError)) {
    // A bug, not a user error: still one line, with a way to get the detail.
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${formatError(`unexpected failure: ${message}`)}\n`);
    if (io.env.JOUSTING_DEBUG) io.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return EXIT.failure;
  }
  const lines = [formatError(err.message, err.fields)];
  // A refused dependency names the cycle it would close; show it unless the message already does.
  const cycle = err instanceof HttpError ? err.cycle : undefined;
  if (cycle && !err.message.includes(cycle.join(' \u2192 ')))
    lines.push(`  cycle: ${cycle.join(' \u2192 ')}`);
  if (err instanceof UsageError) {
    lines.push(`Run \`jousting ${err.command ? `${err.command} ` : ''}--help\` for usage.`);
  }
  if (err instanceof HttpError && err.status === 401 && ctx?.tokenSource === 'none') {
    lines.push(`No token was found: pass --token, set JOUSTING_TOKEN, or create ${ctx.tokenFile}.`);
  }
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ error: { message: err.message, exitCode: err.exitCode, ...(err.fields.length ? { fields: err.fields } : {}), ...(err instanceof HttpError ? { status: err.status, code: err.body?.code } : {}), ...(cycle ? { cycle } : {}) } }, null, 2)}\n`,
    );
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  return err.exitCode;
}
