import type { Command } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { formatChanges, formatSettingsTable, formatValue } from '../output.js';
import { buildPatch, parseAssignments, settingSpecs } from '../settings-values.js';

const getCommand: Command = {
  path: ['settings', 'get'],
  summary: 'Show every setting, or the value of one',
  usage: 'jousting settings get [key] [--json]',
  details: [
    'Without a key: a table of every setting and its value; "(default)" marks values equal to',
    'the default. With a key: just that value. --json prints {"<key>": <value>, ...}.',
  ].join('\n'),
  async run(ctx, args) {
    if (args.length > 1) throw new UsageError('give at most one key', 'settings get');
    const [settings, schema] = await Promise.all([ctx.client.settings(), ctx.client.settingsSchema()]);
    const specs = settingSpecs(schema);
    const key = args[0];
    if (key === undefined) {
      ctx.out.data(settings);
      ctx.out.text(formatSettingsTable(settings, specs));
      return EXIT.ok;
    }
    if (!(key in settings)) {
      throw new CliError(`unknown setting "${key}"; known: ${Object.keys(settings).join(', ')}`);
    }
    ctx.out.data({ [key]: settings[key] });
    ctx.out.text(formatValue(settings[key]));
    return EXIT.ok;
  },
};

const setCommand: Command = {
  path: ['settings', 'set'],
  summary: 'Change settings in one request',
  usage: 'jousting settings set <key=value> [key=value...] [--json]',
  details: [
    'Values are read as the type the settings schema gives: integer and number as numbers,',
    'boolean as true or false, enum and string as text. All changes go in one PATCH; the server',
    'validates them together and writes none if one is refused.',
    'Prints each change ("maxTurns: 30 \u2192 40") or "nothing changed"; --json prints',
    '{"changes": {...}, "settings": {...}}.',
    '',
    'Example: jousting settings set maxTurns=40 model=opus autoPush=true',
  ].join('\n'),
  async run(ctx, args) {
    const assignments = parseAssignments(args);
    const specs = settingSpecs(await ctx.client.settingsSchema());
    const built = buildPatch(assignments, specs);
    if (!built.ok) throw new CliError('invalid value', { fields: built.issues });
    const result = await ctx.client.patchSettings(built.patch);
    ctx.out.data(result);
    ctx.out.text(formatChanges(result.changes));
    return EXIT.ok;
  },
};

const resetCommand: Command = {
  path: ['settings', 'reset'],
  summary: 'Reset the named settings, or all of them, to their defaults',
  usage: 'jousting settings reset [key...] [--json]',
  details: 'Prints each change or "nothing changed"; --json prints {"changes": {...}, "settings": {...}}.',
  async run(ctx, args) {
    const result = await ctx.client.resetSettings(args.length > 0 ? args : undefined);
    ctx.out.data(result);
    ctx.out.text(formatChanges(result.changes));
    return EXIT.ok;
  },
};

export const settingsCommands: Command[] = [getCommand, setCommand, resetCommand];
