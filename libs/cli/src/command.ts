import type { ParseArgsConfig } from 'node:util';
import type { CommandContext } from './context.js';

/** One `jousting` command: the words that select it, its help, and what it does. */
export interface Command {
  /** e.g. ['settings', 'set'] */
  path: string[];
  summary: string;
  /** Synopsis after "usage:", e.g. "jousting settings set <key=value>..." */
  usage: string;
  /** Further help text: arguments, examples, exit codes. */
  details?: string;
  /** Options of this command on top of the global ones. */
  options?: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number>;
}
