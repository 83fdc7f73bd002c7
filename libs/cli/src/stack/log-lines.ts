/** How `up` shows log lines: raw JSON with a name prefix, pretty for a terminal, or JSON only. */
export type LogMode = 'raw' | 'pretty' | 'json';

export interface LogLineOptions {
  mode: LogMode;
  /** Width the service name is padded to. */
  width: number;
  color: boolean;
  /** Every name that will appear, so each gets its own colour; others get one by hash. */
  names?: string[];
}

const NAME_COLORS = [36, 35, 33, 32, 34, 96, 95, 93, 92, 94];
const LEVEL_COLORS: Record<string, number> = {
  trace: 90,
  debug: 90,
  info: 32,
  warn: 33,
  error: 31,
  fatal: 31,
};
// Fields every pino line carries; the pretty form shows them elsewhere or not at all.
const HIDDEN_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'service',
  'name',
  'pid',
  'hostname',
  'instance',
  'v',
]);

const paint = (on: boolean, code: number, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

function nameColor(name: string, names: string[] = []): number {
  const index = names.indexOf(name);
  if (index >= 0) return NAME_COLORS[index % NAME_COLORS.length] ?? 36;
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return NAME_COLORS[hash % NAME_COLORS.length] ?? 36;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** One line of a child's output as `up` prints it. */
export function formatLogLine(name: string, line: string, opts: LogLineOptions): string {
  if (opts.mode === 'json') {
    // Service lines are already JSON with their service name; anything else is wrapped.
    return parseJsonObject(line) ? line : JSON.stringify({ service: name, msg: line });
  }
  const prefix = `${paint(opts.color, nameColor(name, opts.names), name.padEnd(opts.width))} | `;
  const entry = opts.mode === 'pretty' ? parseJsonObject(line) : undefined;
  if (!entry) return prefix + line;
  const level = String(entry.level ?? 'info');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const extras = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatField(value)}`);
  const text = [
    time,
    paint(opts.color, LEVEL_COLORS[level] ?? 37, level.toUpperCase().padEnd(5)),
    entry.msg ?? '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  const stack =
    entry.err && typeof entry.err === 'object' ? (entry.err as { stack?: unknown }).stack : undefined;
  const stackLines =
    typeof stack === 'string'
      ? stack
          .split('\n')
          .slice(1)
          .map((l) => `\n${prefix}  ${l.trim()}`)
      : [];
  return `${prefix}${[text, ...extras].join(' ')}${stackLines.join('')}`;
}

function formatField(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value)
    return JSON.stringify((value as Error).message);
  return JSON.stringify(value);
}

/** A message of `up` itself, in the same form as the services' lines. */
export function formatNotice(
  name: string,
  message: string,
  opts: LogLineOptions,
  level: 'info' | 'warn' | 'error' = 'info',
  fields: Record<string, unknown> = {},
): string {
  if (opts.mode === 'json') {
    return JSON.stringify({ level, time: new Date().toISOString(), service: name, msg: message, ...fields });
  }
  const prefix = `${paint(opts.color, 1, name.padEnd(opts.width))} | `;
  const text = level === 'info' ? message : paint(opts.color, LEVEL_COLORS[level] ?? 37, message);
  return prefix + text;
}
