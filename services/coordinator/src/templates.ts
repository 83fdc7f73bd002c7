import { decodeJson, type KV } from '@jousting/bus';
import {
  type FieldIssue,
  JoustingError,
  NewTask,
  type ParsedNewTask,
  Template,
  type TemplateInput,
  type TemplateTask,
} from '@jousting/contracts';
import type { z } from 'zod';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Every `{{name}}` used in the strings of a value (keys and values, at any depth). */
export function placeholdersIn(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(PLACEHOLDER)) found.add(m[1]!);
  } else if (Array.isArray(value)) {
    for (const item of value) placeholdersIn(item, found);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      placeholdersIn(k, found);
      placeholdersIn(v, found);
    }
  }
  return found;
}

/** Replaces every `{{name}}` in the strings of a value. */
export function substitute<T>(value: T, values: Record<string, string>): T {
  if (typeof value === 'string')
    return value.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '') as T;
  if (Array.isArray(value)) return value.map((v) => substitute(v, values)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, values), substitute(v, values)]),
    ) as T;
  }
  return value;
}

/**
 * Checks a template's shape beyond its schema: unique local ids, deps that name members (or look
 * like task ids outside it), no cycle among members, no undeclared variable.
 */
export function checkTemplate(input: {
  variables: Array<{ name: string }>;
  tasks: TemplateTask[];
}): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const declared = new Set<string>();
  input.variables.forEach((v, i) => {
    if (declared.has(v.name))
      issues.push({ field: `variables.${i}.name`, message: `"${v.name}" is declared twice` });
    declared.add(v.name);
  });
  const ids = new Set<string>();
  input.tasks.forEach((t, i) => {
    if (ids.has(t.id)) issues.push({ field: `tasks.${i}.id`, message: `"${t.id}" is used twice` });
    ids.add(t.id);
    for (const name of placeholdersIn(t)) {
      if (!declared.has(name)) {
        issues.push({ field: `tasks.${i}`, message: `uses {{${name}}}, which is not a declared variable` });
      }
    }
    t.deps.forEach((d, j) => {
      if (d === t.id)
        issues.push({ field: `tasks.${i}.deps.${j}`, message: 'a task cannot depend on itself' });
    });
  });
  const cycle = findCycle(input.tasks, ids);
  if (cycle) issues.push({ field: 'tasks', message: `dependency cycle: ${cycle.join(' → ')}` });
  return issues;
}

function findCycle(tasks: TemplateTask[], ids: Set<string>): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.id, t.deps.filter((d) => ids.has(d) && d !== t.id)]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 2) return undefined;
    if (state.get(id) === 1) return [...path.slice(path.indexOf(id)), id];
    state.set(id, 1);
    path.push(id);
    for (const d of deps.get(id) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    path.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const t of tasks) {
    const found = visit(t.id);
    if (found) return found;
  }
  return undefined;
}

/**
 * The tasks of one instance: values filled in (defaults for missing ones, an error naming each
 * missing required one), fresh ids, member deps rewritten to them; validated as NewTasks.
 */
export function instantiate(
  template: Template,
  request: { values: Record<string, string>; priority?: number; labels?: string[] },
  newId: () => string,
  fieldPrefix = '',
): ParsedNewTask[] {
  const issues: FieldIssue[] = [];
  const values: Record<string, string> = {};
  for (const v of template.variables) {
    const given = request.values[v.name];
    if (given !== undefined) values[v.name] = given;
    else if (v.default !== undefined) values[v.name] = v.default;
    else issues.push({ field: `values.${v.name}`, message: 'required: this variable has no default' });
  }
  for (const name of Object.keys(request.values)) {
    if (!template.variables.some((v) => v.name === name)) {
      issues.push({
        field: `values.${name}`,
        message: `template ${template.name} has no variable "${name}"`,
      });
    }
  }
  if (issues.length) throw JoustingError.validation(prefixed(issues, fieldPrefix));
  const ids = new Map(template.tasks.map((t) => [t.id, newId()]));
  const parsed: ParsedNewTask[] = [];
  template.tasks.forEach((t, i) => {
    const filled = substitute(t, values);
    const candidate = {
      id: ids.get(t.id),
      title: filled.title,
      description: filled.description,
      kind: filled.kind,
      payload: filled.payload,
      priority: request.priority ?? filled.priority,
      labels: [...new Set([...filled.labels, ...(request.labels ?? [])])],
      deps: t.deps.map((d) => ids.get(d) ?? d),
      source: `template:${template.name}`,
    };
    const result = NewTask.safeParse(candidate);
    if (!result.success) {
      for (const issue of result.error.issues) {
        issues.push({ field: [`tasks.${i}`, ...issue.path.map(String)].join('.'), message: issue.message });
      }
    } else parsed.push(result.data);
  });
  if (issues.length) throw JoustingError.validation(prefixed(issues, fieldPrefix));
  return parsed;
}

const prefixed = (issues: FieldIssue[], prefix: string) =>
  issues.map((i) => ({ ...i, field: `${prefix}${i.field}` }));

/** Templates in the coordinator's KV bucket `coord-templates`, one key per name. */
export class TemplateStore {
  constructor(private readonly kv: KV) {}

  async list(): Promise<Template[]> {
    const items: Template[] = [];
    const keys = await this.kv.keys();
    for await (const key of keys) {
      const t = await this.read(key);
      if (t) items.push(t);
    }
    return items.sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<Template> {
    const t = await this.read(name);
    if (!t) throw new JoustingError('not_found', `template ${name} not found`, { name });
    return t;
  }

  async save(
    input: Omit<z.output<typeof TemplateInput>, 'tasks' | 'fromTasks'> & { tasks: TemplateTask[] },
    actor: string,
  ): Promise<Template> {
    const issues = checkTemplate(input);
    if (issues.length) throw JoustingError.validation(issues);
    const existing = await this.read(input.name);
    const now = new Date().toISOString();
    const template: Template = {
      name: input.name,
      description: input.description,
      variables: input.variables,
      tasks: input.tasks,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      updatedBy: actor,
    };
    await this.kv.put(input.name, JSON.stringify(template));
    return template;
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    await this.kv.delete(name);
  }

  private async read(name: string): Promise<Template | undefined> {
    const parsed = Template.safeParse(decodeJson(await this.kv.get(name)));
    return parsed.success ? parsed.data : undefined;
  }
}
