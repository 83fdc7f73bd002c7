import type { FieldIssue, Readiness } from '@jousting/contracts';
import type { SettingSpec } from './settings-values.js';

/** Where a command writes; tests pass strings collectors instead of the process streams. */
export interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Human text on stdout, or with --json only JSON; diagnostics always on stderr. */
export class Output {
  constructor(
    readonly stdout: Writable,
    readonly stderr: Writable,
    readonly json: boolean,
  ) {}

  /** A line for people; dropped in --json mode so stdout stays machine-readable. */
  text(line = ''): void {
    if (!this.json) this.stdout.write(`${line}\n`);
  }

  /** The command's result as JSON; only written in --json mode. */
  data(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  error(line: string): void {
    this.stderr.write(`${line}\n`);
  }
}

/** A value as a person types it: strings bare, everything else as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '(unset)';
  return JSON.stringify(value);
}

/** Rows as left-aligned columns two spaces apart, trailing blanks trimmed. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The `settings get` table: key, value, and a marker where the value is the default. */
export function formatSettingsTable(
  settings: Record<string, unknown>,
  specs: Map<string, SettingSpec>,
): string {
  const keys = [...specs.keys(), ...Object.keys(settings).filter((k) => !specs.has(k))];
  const rows = [['KEY', 'VALUE', '']];
  for (const key of keys) {
    if (!(key in settings)) continue;
    const spec = specs.get(key);
    const isDefault = spec !== undefined && 'default' in spec && sameValue(settings[key], spec.default);
    rows.push([key, formatValue(settings[key]), isDefault ? '(default)' : '']);
  }
  return formatTable(rows);
}

/** `maxTurns: 30 → 40` per change, or "nothing changed". */
export function formatChanges(changes: Record<string, { from?: unknown; to?: unknown } | undefined>): string {
  const lines = Object.entries(changes)
    .filter((entry): entry is [string, { from?: unknown; to?: unknown }] => entry[1] !== undefined)
    .map(([key, { from, to }]) => `${key}: ${formatValue(from)} \u2192 ${formatValue(to)}`);
  return lines.length > 0 ? lines.join('\n') : 'nothing changed';
}

/** `jousting status`: the overall verdict, NATS, then one line per service. */
export function formatReadiness(r: Readiness): string {
  const rows: string[][] = [];
  const nats = r.nats.connected
    ? ['connected', r.nats.server, r.nats.rttMs === undefined ? undefined : `rtt ${r.nats.rttMs} ms`]
    : ['not connected'];
  rows.push(['nats', nats.filter(Boolean).join(', ')]);
  for (const [name, s] of Object.entries(r.services).sort(([a], [b]) => a.localeCompare(b))) {
    const instances = `${s.instances} instance${s.instances === 1 ? '' : 's'}`;
    rows.push([
      name,
      s.ok ? `ok (${instances})` : `DOWN (${[instances, s.error].filter(Boolean).join(', ')})`,
    ]);
  }
  const lines = [r.ready ? 'ready' : 'NOT ready', formatTable(rows)];
  if (!r.ready && r.missing.length > 0) lines.push(`missing: ${r.missing.join(', ')}`);
  return lines.join('\n');
}

/** An error for stderr: the message, then each field issue indented. */
export function formatError(message: string, fields: FieldIssue[] = []): string {
  return [`error: ${message}`, ...fields.map((f) => `  ${f.field}: ${f.message}`)].join('\n');
}
