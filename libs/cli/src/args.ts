import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

export interface GlobalFlags {
  json: boolean;
  url: string | undefined;
  token: string | undefined;
  help: boolean;
}

export interface ParsedCommandLine {
  flags: GlobalFlags;
  /** Command words and their arguments, e.g. ['settings', 'set', 'maxTurns=40']. */
  positionals: string[];
  /** Values of command-specific options. */
  options: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/**
 * Parses argv (without node and the script) strictly: global flags anywhere on the line plus the
 * options of the command, if it has any. An unknown flag or a missing value is a UsageError.
 */
export function parseCommandLine(
  argv: string[],
  commandOptions: OptionsConfig = {},
  command = '',
): ParsedCommandLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...commandOptions },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(cleanParseError((err as Error).message), command);
  }
  const { json, url, token, help, ...options } = parsed.values;
  return {
    flags: {
      json: json === true,
      url: typeof url === 'string' ? url : undefined,
      token: typeof token === 'string' ? token : undefined,
      help: help === true,
    },
    positionals: parsed.positionals,
    options,
  };
}

/** The command words before any flag parsing is strict, so the command's own options are known. */
export function leadingWords(argv: string[]): string[] {
  const { positionals } = parseArgs({
    args: argv,
    options: GLOBAL_OPTIONS,
    allowPositionals: true,
    strict: false,
  });
  return positionals;
}

// node's messages end with advice about "--" meant for script authors, not for CLI users.
function cleanParseError(message: string): string {
  return message
    .replace(/\. To specify a positional argument.*$/s, '')
    .replace(/^Unknown option/, 'unknown option');
}
