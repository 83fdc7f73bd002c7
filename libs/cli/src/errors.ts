import type { FieldIssue } from '@jousting/contracts';

/** Exit codes of every `jousting` command; the README lists them. */
export const EXIT = {
  ok: 0,
  /** The command ran and failed: refused by the server, not ready, a crash loop in `up`. */
  failure: 1,
  /** The gateway could not be reached at all. */
  unreachable: 2,
  /** The command line itself is wrong (sysexits EX_USAGE). */
  usage: 64,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one message (plus field issues) and an exit code, never a stack. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly fields: FieldIssue[];

  constructor(message: string, opts: { exitCode?: ExitCode; fields?: FieldIssue[] } = {}) {
    super(message);
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? EXIT.failure;
    this.fields = opts.fields ?? [];
  }
}

/** A wrong command line: unknown flag, missing argument. Printed with a pointer to --help. */
export class UsageError extends CliError {
  readonly command: string;

  constructor(message: string, command = '') {
    super(message, { exitCode: EXIT.usage });
    this.name = 'UsageError';
    this.command = command;
  }
}
