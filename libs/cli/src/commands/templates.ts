import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { issuesFromZod, Label, TemplateInput, TemplateName, VariableName } from '@jousting/contracts';
import type { Command } from '../command.js';
import { formatInstantiated, formatTemplate, formatTemplateList } from '../coord-output.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { integerIn } from '../task-input.js';
import { expectArgs } from './tasks.js';

type Options = Record<string, unknown>;

const str = (options: Options, name: string) =>
  typeof options[name] === 'string' ? (options[name] as string) : undefined;
const list = (options: Options, name: string): string[] =>
  Array.isArray(options[name]) ? (options[name] as unknown[]).map(String) : [];

function checkName(name: string, command: string): string {
  if (!TemplateName.safeParse(name).success) {
    throw new UsageError(
      `"${name}" is not a template name: lowercase letters, digits, "_" or "-", at most 64`,
      command,
    );
  }
  return name;
}

/** `--set a=1 --set b=two` as values; the value may hold "=", the name may not be empty. */
export function parseSetValues(pairs: string[], command: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects name=value, got "${pair}"`, command);
    const name = pair.slice(0, eq);
    if (!VariableName.safeParse(name).success) {
      throw new UsageError(`--set "${name}" is not a variable name like "repo" or "branch_name"`, command);
    }
    if (name in values) throw new UsageError(`--set gives "${name}" twice`, command);
    values[name] = pair.slice(eq + 1);
  }
  return values;
}

/** The JSON file of `templates save`, checked against TemplateInput: field issues as the server names them. */
export function readTemplateFile(path: string, command: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${path}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`,
      command,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const checked = TemplateInput.safeParse(parsed);
  if (!checked.success)
    throw new CliError(`invalid template in ${path}`, { fields: issuesFromZod(checked.error) });
  return parsed;
}

const listCommand: Command = {
  path: ['templates', 'ls'],
  summary: 'List task templates',
  usage: 'jousting templates ls [--json]',
  details: 'Prints NAME, TASKS, VARIABLES, UPDATED and DESCRIPTION. --json prints {"items": [...]}.',
  async run(ctx, args) {
    expectArgs(args, [], 'templates ls');
    const items = await ctx.client.templates();
    ctx.out.data({ items });
    ctx.out.text(formatTemplateList(items));
    return EXIT.ok;
  },
};

const showCommand: Command = {
  path: ['templates', 'show'],
  summary: 'Show a template: its variables (required ones marked) and tasks',
  usage: 'jousting templates show <name> [--json]',
  details: '--json prints the template as GET /api/templates/{name} returns it.',
  async run(ctx, args) {
    const command = 'templates show';
    const [name] = expectArgs(args, ['name'], command);
    const template = await ctx.client.template(checkName(name!, command));
    ctx.out.data(template);
    ctx.out.text(formatTemplate(template));
    return EXIT.ok;
  },
};

const saveCommand: Command = {
  path: ['templates', 'save'],
  summary: 'Create or replace a template from a JSON file',
  usage: 'jousting templates save <file.json> [--json]',
  details: [
    'The file holds {"name", "description"?, "variables"?: [{"name", "default"?, "description"?}],',
    '"tasks": [{"id", "title", "kind"?, "payload"?, "priority"?, "labels"?, "deps"?: [local ids]}]}',
    '(or "fromTasks": [task ids] to copy existing tasks). Strings may hold {{variable}}; a variable',
    'without a default is required when the template is run.',
    '',
    'The file is checked before it is sent; what is wrong is printed by field (tasks.0.title), exit 1.',
    '--json prints the saved template.',
    '',
    'Example file:',
    '  {"name": "nightly", "variables": [{"name": "branch", "default": "main"}],',
    '   "tasks": [{"id": "build", "title": "build {{branch}}", "payload": {"command": "make"}}]}',
  ].join('\n'),
  async run(ctx, args) {
    const command = 'templates save';
    const [file] = expectArgs(args, ['file.json'], command);
    const body = readTemplateFile(resolve(ctx.io.cwd, file!), command);
    const template = await ctx.client.saveTemplate(body);
    ctx.out.data(template);
    ctx.out.text(
      `saved template ${template.name} (${template.tasks.length} task${template.tasks.length === 1 ? '' : 's'})`,
    );
    return EXIT.ok;
  },
};

const removeCommand: Command = {
  path: ['templates', 'rm'],
  summary: 'Delete a template',
  usage: 'jousting templates rm <name> [--json]',
  details: 'Tasks made from it stay. An unknown name exits 1. --json prints {"name", "deleted": true}.',
  async run(ctx, args) {
    const command = 'templates rm';
    const [name] = expectArgs(args, ['name'], command);
    const result = await ctx.client.deleteTemplate(checkName(name!, command));
    ctx.out.data(result);
    ctx.out.text(`deleted template ${result.name}`);
    return EXIT.ok;
  },
};

const runCommand: Command = {
  path: ['templates', 'run'],
  summary: 'Create the tasks of a template with values for its variables',
  usage: 'jousting templates run <name> [--set var=value]... [--priority N] [--label L]... [--json]',
  details: [
    'All the tasks are created, or none (a missing required variable names it, exit 1).',
    '',
    'options:',
    '  --set var=value   a variable value (repeat for more); unset ones take their default',
    '  --priority N      the priority of every task (-1000 to 1000; negative as --priority=-5)',
    '  --label L         a label added to every task (repeat for more)',
    '',
    '--json prints {"template", "tasks": [...]}.',
  ].join('\n'),
  options: {
    set: { type: 'string', multiple: true },
    priority: { type: 'string' },
    label: { type: 'string', multiple: true },
  },
  async run(ctx, args, options) {
    const command = 'templates run';
    const [name] = expectArgs(args, ['name'], command);
    const request: { values: Record<string, string>; priority?: number; labels?: string[] } = {
      values: parseSetValues(list(options, 'set'), command),
    };
    const priority = str(options, 'priority');
    if (priority !== undefined) request.priority = integerIn(priority, -1000, 1000, '--priority', command);
    const labels = list(options, 'label');
    for (const label of labels) {
      if (!Label.safeParse(label).success) {
        throw new UsageError(`--label "${label}" is not a label like "gpu" or "region=eu"`, command);
      }
    }
    if (labels.length > 0) request.labels = labels;
    const result = await ctx.client.instantiateTemplate(checkName(name!, command), request);
    ctx.out.data(result);
    ctx.out.text(formatInstantiated(result.template, result.tasks));
    return EXIT.ok;
  },
};

export const templateCommands: Command[] = [listCommand, showCommand, saveCommand, removeCommand, runCommand];
