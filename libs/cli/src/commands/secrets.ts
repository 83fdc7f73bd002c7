import { readFile } from 'node:fs/promises';
import { DeletedSecret, ErrorBody, RevealedSecret, SecretMeta, SecretName } from '@jousting/contracts';
import { z } from 'zod';
import type { Command } from '../command.js';
import type { CliIo, CommandContext } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { formatTable } from '../output.js';
import { formatAge } from '../task-output.js';
import { expectArgs } from './tasks.js';

/** Standard input of a CLI run; bin.ts runs with the process's, tests pass their own. */
export interface StdinSource extends AsyncIterable<string | Uint8Array> {
  isTTY?: boolean;
}
export type SecretsIo = CliIo & { stdin?: StdinSource };

const SecretList = z.object({ items: z.array(SecretMeta) });
const _ErrorResponse = z.object({ error: ErrorBody });
const _TIMEOUT_MS = 30_000;

/**
 * The four /api/secrets calls, with the same conventions and errors as GatewayClient (Bearer
 * token, JSON, HttpError with the server's message and fields, ConnectionError when unreachable).
 */
class SecretsApi {
  constructor(private readonly ctx: CommandContext) {}

  async list(): Promise<SecretMeta[]> {
    return (await this.call('GET', '/api/secrets', SecretList)).items;
  }

  put(name: string, value: string, description: string | undefined): Promise<SecretMeta> {
    return this.call('PUT', pathOf(name), SecretMeta, {
      value,
      ...(description === undefined ? {} : { description }),
    });
  }

  reveal(name: string): Promise<RevealedSecret> {
    return this.call('POST', pathOf(name, '/reveal'), RevealedSecret);
  }

  delete(name: string): Promise<z.infer<typeof DeletedSecret>> {
    return this.call('DELETE', pathOf(name), DeletedSecret);
  }

  private call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    return this.ctx.client.call(method, path, schema, body);
  }
}

const pathOf = (name: string, rest = '') => `/api/secrets/${encodeURIComponent(name)}${rest}`;

/** A name checked before anything is sent, with the rule in the message. */
function secretName(name: string, command: string): string {
  if (!SecretName.safeParse(name).success) {
    throw new UsageError(
      `invalid secret name "${name}": letters, digits and "_" only, 1 to 64 characters`,
      command,
    );
  }
  return name;
}

const str = (options: Record<string, unknown>, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;

/** One trailing line break is what `echo` and editors add, not part of the secret. */
const withoutFinalNewline = (text: string) => text.replace(/\r?\n$/, '');

async function readStdin(stdin: StdinSource): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The value from exactly one of --value, --from-file or piped stdin. */
async function readSecretValue(
  ctx: CommandContext,
  options: Record<string, unknown>,
  command: string,
): Promise<string> {
  const flag = str(options, 'value');
  const file = str(options, 'from-file');
  if (flag !== undefined && file !== undefined) {
    throw new UsageError('give the value one way: --value or --from-file, not both', command);
  }
  let value: string;
  if (flag !== undefined) value = flag;
  else if (file !== undefined) {
    try {
      value = withoutFinalNewline(await readFile(file, 'utf8'));
    } catch (err) {
      throw new CliError(
        `cannot read --from-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  } else {
    const stdin = (ctx.io as SecretsIo).stdin ?? process.stdin;
    if (stdin.isTTY) {
      throw new UsageError('no value: pass --value, --from-file FILE, or pipe it on standard input', command);
    }
    value = withoutFinalNewline(await readStdin(stdin));
  }
  if (value === '') throw new UsageError('the value is empty', command);
  return value;
}

export function formatSecretList(items: SecretMeta[], now = Date.now()): string {
  if (items.length === 0) return 'no secrets (store one with `jousting secrets put NAME`)';
  const rows = [['NAME', 'VERSION', 'UPDATED', 'BY', 'DESCRIPTION']];
  for (const s of items) {
    rows.push([s.name, String(s.version), formatAge(s.updatedAt, now), s.updatedBy, s.description ?? '']);
  }
  return formatTable(rows);
}

const listCommand: Command = {
  path: ['secrets', 'ls'],
  summary: 'List secrets: names and metadata, never the values',
  usage: 'jousting secrets ls [--json]',
  details: [
    'Prints NAME, VERSION, UPDATED, BY and DESCRIPTION. Needs an operator token.',
    '',
    '--json prints {"items": [{name, description?, version, createdAt, updatedAt, createdBy, updatedBy}]}.',
  ].join('\n'),
  async run(ctx, args) {
    expectArgs(args, [], 'secrets ls');
    const items = await new SecretsApi(ctx).list();
    ctx.out.data({ items });
    ctx.out.text(formatSecretList(items));
    return EXIT.ok;
  },
};

const putCommand: Command = {
  path: ['secrets', 'put'],
  summary: 'Store a secret (encrypted); replaces the value of an existing one',
  usage: 'jousting secrets put <name> [--value V | --from-file FILE | < stdin] [--description TEXT] [--json]',
  details: [
    'The value comes from --value, --from-file or standard input, in that order; one final line',
    'break of a file or of stdin is dropped. Prefer a file or stdin: a --value stays in the shell',
    'history and is visible to other users in the process list. Needs an admin token.',
    '',
    'examples:',
    '  jousting secrets put GITHUB_TOKEN --from-file ~/.github-token --description "CI pushes"',
    '  printf %s "$TOKEN" | jousting secrets put SLACK_TOKEN',
    '',
    'options:',
    '  --value V            the value itself',
    '  --from-file FILE     read the value from FILE',
    '  --description TEXT   what it is for (omitted: the current description is kept)',
    '',
    '--json prints the metadata (never the value).',
  ].join('\n'),
  options: { value: { type: 'string' }, 'from-file': { type: 'string' }, description: { type: 'string' } },
  async run(ctx, args, options) {
    const command = 'secrets put';
    const [raw] = expectArgs(args, ['name'], command);
    const name = secretName(raw!, command);
    const value = await readSecretValue(ctx, options, command);
    const meta = await new SecretsApi(ctx).put(name, value, str(options, 'description'));
    ctx.out.data(meta);
    ctx.out.text(`stored ${meta.name} (version ${meta.version})`);
    return EXIT.ok;
  },
};

const revealCommand: Command = {
  path: ['secrets', 'reveal'],
  summary: 'Print the value of a secret (audited)',
  usage: 'jousting secrets reveal <name> [--json]',
  details: [
    'Prints the value alone, so `$(jousting secrets reveal NAME)` works. Every reveal is written to',
    'the audit log with the token that asked. Needs an admin token.',
    '',
    '--json prints {"name", "value", "version"}.',
  ].join('\n'),
  async run(ctx, args) {
    const command = 'secrets reveal';
    const [raw] = expectArgs(args, ['name'], command);
    const revealed = await new SecretsApi(ctx).reveal(secretName(raw!, command));
    ctx.out.data(revealed);
    ctx.out.text(revealed.value);
    return EXIT.ok;
  },
};

const removeCommand: Command = {
  path: ['secrets', 'rm'],
  summary: 'Delete a secret',
  usage: 'jousting secrets rm <name> [--json]',
  details: 'Needs an admin token. --json prints {"name", "deleted": true}.',
  async run(ctx, args) {
    const command = 'secrets rm';
    const [raw] = expectArgs(args, ['name'], command);
    const deleted = await new SecretsApi(ctx).delete(secretName(raw!, command));
    ctx.out.data(deleted);
    ctx.out.text(`deleted ${deleted.name}`);
    return EXIT.ok;
  },
};

export const secretsCommands: Command[] = [listCommand, putCommand, revealCommand, removeCommand];
