import type { FieldIssue, Template, TemplateInput } from '@jousting/contracts';
import { isRecord } from './api';
import { buildRetryBody, type FormResult } from './dead-letters';

/**
 * The templates page without React: the editor draft (name and description as fields, variables
 * and tasks as JSON) checked by hand the way the server checks it (the bundle has no zod), errors
 * placed next to the field they name, and the run form built from a template's variables.
 */

export type { Template, TemplateInput };

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const LOCAL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const KIND = /^[a-z][a-z0-9-]{0,63}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$/;
const VARIABLE_REF = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export const MAX_VARIABLES = 50;
export const MAX_TEMPLATE_TASKS = 100;
const TASK_KEYS = ['id', 'title', 'description', 'kind', 'payload', 'priority', 'labels', 'deps'];
const VARIABLE_KEYS = ['name', 'description', 'default'];

export interface TemplateDraft {
  name: string;
  description: string;
  /** JSON array of {name, description?, default?}. */
  variables: string;
  /** JSON array of template tasks. */
  tasks: string;
}

/** The editor's fields; every error is shown next to one of them. */
export type TemplateSlot = 'name' | 'description' | 'variables' | 'tasks';

export const EMPTY_TEMPLATE_DRAFT: TemplateDraft = {
  name: '',
  description: '',
  variables: JSON.stringify([{ name: 'branch', default: 'main', description: 'what to build' }], null, 2),
  tasks: JSON.stringify(
    [
      {
        id: 'build',
        title: 'Build {{branch}}',
        kind: 'exec',
        payload: { command: 'make', args: ['{{branch}}'] },
      },
      {
        id: 'test',
        title: 'Test {{branch}}',
        kind: 'exec',
        payload: { command: 'make', args: ['test'] },
        deps: ['build'],
      },
    ],
    null,
    2,
  ),
};

/** A saved template as an editor draft. */
export function draftOfTemplate(t: Template): TemplateDraft {
  return {
    name: t.name,
    description: t.description,
    variables: JSON.stringify(t.variables, null, 2),
    tasks: JSON.stringify(
      t.tasks.map(({ id, title, description, kind, payload, priority, labels, deps }) => ({
        id,
        title,
        ...(description ? { description } : {}),
        kind,
        payload,
        ...(priority !== 0 ? { priority } : {}),
        ...(labels.length > 0 ? { labels } : {}),
        ...(deps.length > 0 ? { deps } : {}),
      })),
      null,
      2,
    ),
  };
}

/** The slot an error path (`tasks.0.title`, `name`) belongs to. */
export function slotOfField(field: string): TemplateSlot | undefined {
  const head = field.split('.')[0];
  if (head === 'fromTasks') return 'tasks';
  return head === 'name' || head === 'description' || head === 'variables' || head === 'tasks'
    ? head
    : undefined;
}

/** Errors grouped by slot, each as "path: message" (the path inside the JSON), the rest apart. */
export function errorsBySlot(errors: Record<string, string>): {
  bySlot: Partial<Record<TemplateSlot, string[]>>;
  other: string[];
} {
  const bySlot: Partial<Record<TemplateSlot, string[]>> = {};
  const other: string[] = [];
  for (const [field, message] of Object.entries(errors)) {
    const slot = slotOfField(field);
    if (!slot) {
      other.push(`${field}: ${message}`);
      continue;
    }
    const text = field === slot ? message : `${field}: ${message}`;
    bySlot[slot] = [...(bySlot[slot] ?? []), text];
  }
  return { bySlot, other };
}

/** Server field issues (`details.fields`) as the editor's errors. */
export const errorsOfIssues = (fields: readonly FieldIssue[]): Record<string, string> =>
  Object.fromEntries(fields.map((f) => [f.field, f.message]));

/** The body of `POST /api/templates`, or the errors by field path (`tasks.1.deps.0`). */
export function buildTemplateInput(draft: TemplateDraft): FormResult<TemplateInput> {
  const errors: Record<string, string> = {};
  const name = draft.name.trim();
  if (name === '') errors.name = 'Required';
  else if (!TEMPLATE_NAME.test(name)) errors.name = 'Lowercase letters, digits, "_" or "-", at most 64';
  const description = draft.description.trim();
  if (description.length > 2000) errors.description = 'At most 2000 characters';

  const variables = parseJsonArray(draft.variables, 'variables', errors, true);
  const names = new Set<string>();
  variables?.forEach((v, i) => {
    const at = `variables.${i}`;
    if (!isRecord(v)) {
      errors[at] = 'Expected an object like {"name": "branch", "default": "main"}';
      return;
    }
    unknownKeys(v, VARIABLE_KEYS, at, errors);
    if (typeof v.name !== 'string' || !VARIABLE_NAME.test(v.name)) {
      errors[`${at}.name`] = 'A name like "repo" or "branch_name"';
    } else if (names.has(v.name)) {
      errors[`${at}.name`] = `"${v.name}" is declared twice`;
    } else {
      names.add(v.name);
    }
    if (v.default !== undefined && (typeof v.default !== 'string' || v.default.length > 10_000)) {
      errors[`${at}.default`] = 'A string of at most 10000 characters';
    }
    if (v.description !== undefined && (typeof v.description !== 'string' || v.description.length > 500)) {
      errors[`${at}.description`] = 'A string of at most 500 characters';
    }
  });
  if (variables && variables.length > MAX_VARIABLES) errors.variables = `At most ${MAX_VARIABLES} variables`;

  const tasks = parseJsonArray(draft.tasks, 'tasks', errors, false);
  if (tasks && tasks.length === 0) errors.tasks = 'At least one task';
  if (tasks && tasks.length > MAX_TEMPLATE_TASKS) errors.tasks = `At most ${MAX_TEMPLATE_TASKS} tasks`;
  const ids = new Set((tasks ?? []).flatMap((t) => (isRecord(t) && typeof t.id === 'string' ? [t.id] : [])));
  const seen = new Set<string>();
  for (const [i, t] of (tasks ?? []).entries()) checkTask(t, `tasks.${i}`, ids, seen, errors);

  if (!errors.variables && !errors.tasks && variables && tasks) {
    for (const used of variablesUsed(tasks)) {
      if (!names.has(used)) {
        errors.variables = `{{${used}}} is used in the tasks but not declared here`;
        break;
      }
    }
  }

  if (Object.keys(errors).length > 0 || !variables || !tasks) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name,
      description,
      variables: variables as TemplateInput['variables'],
      tasks: tasks as TemplateInput['tasks'],
    },
  };
}

function checkTask(
  t: unknown,
  at: string,
  ids: Set<string>,
  seen: Set<string>,
  errors: Record<string, string>,
) {
  if (!isRecord(t)) {
    errors[at] = 'Expected an object like {"id": "build", "title": "Build"}';
    return;
  }
  unknownKeys(t, TASK_KEYS, at, errors);
  if (typeof t.id !== 'string' || !LOCAL_ID.test(t.id)) {
    errors[`${at}.id`] = 'A short local id like "build"';
  } else if (seen.has(t.id)) {
    errors[`${at}.id`] = `"${t.id}" is used twice`;
  } else {
    seen.add(t.id);
  }
  if (typeof t.title !== 'string' || t.title.trim() === '') errors[`${at}.title`] = 'Must not be empty';
  else if (t.title.length > 200) errors[`${at}.title`] = 'At most 200 characters';
  if (t.description !== undefined && typeof t.description !== 'string') {
    errors[`${at}.description`] = 'A string';
  }
  if (t.kind !== undefined && (typeof t.kind !== 'string' || !KIND.test(t.kind))) {
    errors[`${at}.kind`] = 'Lowercase letters, digits and "-", e.g. "exec"';
  }
  if (t.payload !== undefined && !isRecord(t.payload)) errors[`${at}.payload`] = 'A JSON object';
  if (
    t.priority !== undefined &&
    (typeof t.priority !== 'number' ||
      !Number.isInteger(t.priority) ||
      t.priority < -1000 ||
      t.priority > 1000)
  ) {
    errors[`${at}.priority`] = 'A whole number from -1000 to 1000';
  }
  if (t.labels !== undefined) {
    if (!Array.isArray(t.labels) || t.labels.length > 32)
      errors[`${at}.labels`] = 'A list of at most 32 labels';
    else {
      const bad = t.labels.findIndex(
        (l) => typeof l !== 'string' || (!LABEL.test(l) && !l.includes('{{')) || l.length > 200,
      );
      if (bad >= 0)
        errors[`${at}.labels.${bad}`] = 'A label like "gpu" or "region=eu" (or one with {{variables}})';
    }
  }
  if (t.deps !== undefined) {
    if (!Array.isArray(t.deps)) errors[`${at}.deps`] = 'A list of local task ids';
    else {
      t.deps.forEach((d, j) => {
        if (typeof d !== 'string' || !ids.has(d)) {
          errors[`${at}.deps.${j}`] = `No task with the local id ${JSON.stringify(d)} in this template`;
        } else if (d === t.id) {
          errors[`${at}.deps.${j}`] = 'A task cannot wait for itself';
        }
      });
    }
  }
}

function parseJsonArray(
  text: string,
  field: TemplateSlot,
  errors: Record<string, string>,
  emptyIsNone: boolean,
): unknown[] | undefined {
  if (text.trim() === '') {
    if (emptyIsNone) return [];
    errors[field] = 'Required: a JSON list';
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    errors[field] = `Not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    return undefined;
  }
  if (!Array.isArray(value)) {
    errors[field] = 'Expected a JSON list [ … ]';
    return undefined;
  }
  return value;
}

function unknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  at: string,
  errors: Record<string, string>,
) {
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length > 0) errors[`${at}.${extra[0]}`] = `Unknown field (known: ${known.join(', ')})`;
}

/** Every `{{variable}}` named anywhere in `value` (strings inside objects and lists too). */
export function variablesUsed(value: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(VARIABLE_REF)) if (m[1]) found.add(m[1]);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (isRecord(v)) {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return found;
}

// --- run ---

export interface RunField {
  name: string;
  description?: string;
  required: boolean;
  /** Prefilled with the default. */
  initial: string;
}

export function runFields(t: Template): RunField[] {
  return t.variables.map((v) => ({
    name: v.name,
    ...(v.description ? { description: v.description } : {}),
    required: v.default === undefined,
    initial: v.default ?? '',
  }));
}

export interface RunDraft {
  values: Record<string, string>;
  priority: string;
  /** Comma or space separated. */
  labels: string;
}

export interface RunBody {
  values: Record<string, string>;
  priority?: number;
  labels?: string[];
}

/**
 * The body of `POST /api/templates/{name}/instantiate`: a value equal to its default is left to
 * the server; an empty required one is an error named `values.<name>`, like the server names it.
 */
export function buildRunBody(t: Template, draft: RunDraft): FormResult<RunBody> {
  const errors: Record<string, string> = {};
  const values: Record<string, string> = {};
  for (const v of t.variables) {
    const typed = draft.values[v.name] ?? v.default ?? '';
    if (v.default === undefined && typed.trim() === '') errors[`values.${v.name}`] = 'Required';
    else if (typed.length > 10_000) errors[`values.${v.name}`] = 'At most 10000 characters';
    else if (typed !== v.default) values[v.name] = typed;
  }
  // Priority and labels for every task it makes follow the same rules as a retry's.
  const overrides = buildRetryBody(draft);
  if (!overrides.ok) Object.assign(errors, overrides.errors);
  const body: RunBody = { values, ...(overrides.ok ? overrides.value : {}) };
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value: body };
}
