import type { FieldIssue, NewTask, Task, TaskPatch } from '@jousting/contracts';
import { isRecord } from './api';

/**
 * The create / edit form of a task, without React: the draft the inputs edit, its validation (the
 * contract's rules, repeated here because the bundle has no zod), the NewTask or TaskPatch built
 * from it, and server field errors placed next to the input they name.
 *
 * Errors are keyed by the field path the server uses (`title`, `payload.command`, `payload.args.2`,
 * `deps.0`), so client and server errors land in the same place.
 */

export type KindChoice = 'exec' | 'agent' | 'custom';
export const AGENT_MODELS = ['haiku', 'sonnet', 'opus'] as const;
export type AgentModel = (typeof AGENT_MODELS)[number];

export interface EnvPair {
  key: string;
  value: string;
}

export interface TaskDraft {
  title: string;
  description: string;
  kind: KindChoice;
  /** The kind's name when `kind` is custom. */
  customKind: string;
  // exec
  command: string;
  args: string[];
  env: EnvPair[];
  cwd: string;
  timeout: string;
  // agent
  prompt: string;
  model: AgentModel | '';
  maxTurns: string;
  repo: string;
  // custom: any JSON object
  payloadJson: string;
  priority: string;
  labels: string[];
  deps: string[];
}

export type FieldErrors = Record<string, string>;

export const TASK_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const KIND_RE = /^[a-z][a-z0-9-]{0,63}$/;
export const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$/;
export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
const MAX_PAYLOAD_BYTES = 64 * 1024;

export function emptyDraft(): TaskDraft {
  return {
    title: '',
    description: '',
    kind: 'exec',
    customKind: '',
    command: '',
    args: [],
    env: [],
    cwd: '',
    timeout: '',
    prompt: '',
    model: '',
    maxTurns: '',
    repo: '',
    payloadJson: '{\n  \n}',
    priority: '0',
    labels: [],
    deps: [],
  };
}

/** A draft showing an existing task, for editing it. */
export function draftFromTask(
  task: Pick<Task, 'title' | 'description' | 'kind' | 'payload' | 'priority' | 'labels' | 'deps'>,
): TaskDraft {
  const draft: TaskDraft = {
    ...emptyDraft(),
    title: task.title,
    description: task.description,
    priority: String(task.priority),
    labels: [...task.labels],
    deps: [...task.deps],
    payloadJson: JSON.stringify(task.payload, null, 2),
  };
  const p = task.payload;
  if (task.kind === 'exec' && fitsExec(p)) {
    return {
      ...draft,
      kind: 'exec',
      command: String(p.command ?? ''),
      args: Array.isArray(p.args) ? p.args.map(String) : [],
      env: isRecord(p.env)
        ? Object.entries(p.env).map(([key, value]) => ({ key, value: String(value) }))
        : [],
      cwd: typeof p.cwd === 'string' ? p.cwd : '',
      timeout: typeof p.timeoutSeconds === 'number' ? String(p.timeoutSeconds) : '',
    };
  }
  if (task.kind === 'agent' && fitsAgent(p)) {
    return {
      ...draft,
      kind: 'agent',
      prompt: String(p.prompt ?? ''),
      model: AGENT_MODELS.includes(p.model as AgentModel) ? (p.model as AgentModel) : '',
      maxTurns: typeof p.maxTurns === 'number' ? String(p.maxTurns) : '',
      repo: typeof p.repo === 'string' ? p.repo : '',
    };
  }
  return { ...draft, kind: 'custom', customKind: task.kind };
}

const fitsExec = (p: Record<string, unknown>) =>
  Object.keys(p).every((k) => ['command', 'args', 'env', 'cwd', 'timeoutSeconds'].includes(k));
const fitsAgent = (p: Record<string, unknown>) =>
  Object.keys(p).every((k) => ['prompt', 'repo', 'model', 'maxTurns'].includes(k));

/** The kind name the draft stands for. */
export function kindOf(draft: TaskDraft): string {
  return draft.kind === 'custom' ? draft.customKind.trim() : draft.kind;
}

/** `{"a": 1}` → the object; anything else (an array, a number, bad syntax) is an error to show. */
export function parseJsonObject(
  text: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isRecord(value)) return { ok: false, error: 'Must be a JSON object, like {"key": "value"}' };
  return { ok: true, value };
}

/** The payload the draft describes, with errors keyed `payload…`. */
export function buildPayload(draft: TaskDraft): { payload: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (draft.kind === 'exec') {
    const payload: Record<string, unknown> = {};
    const command = draft.command.trim();
    if (command === '') errors['payload.command'] = 'Required: the program to run, e.g. echo';
    else if (command.length > 4096) errors['payload.command'] = 'At most 4096 characters';
    payload.command = command;
    const args = draft.args.filter((a) => a !== '');
    if (args.length > 256) errors['payload.args'] = 'At most 256 arguments';
    args.forEach((arg, i) => {
      if (arg.length > 4096) errors[`payload.args.${i}`] = 'At most 4096 characters';
    });
    if (args.length > 0) payload.args = args;
    const env: Record<string, string> = {};
    for (const { key, value } of draft.env) {
      const k = key.trim();
      if (k === '' && value === '') continue;
      if (k === '') errors['payload.env'] = 'Every value needs a variable name';
      else if (!ENV_KEY_RE.test(k))
        errors[`payload.env.${k}`] = 'Letters, digits and "_", not starting with a digit';
      else if (k in env) errors[`payload.env.${k}`] = 'Set twice';
      else if (value.length > 32_768) errors[`payload.env.${k}`] = 'At most 32768 characters';
      env[k] = value;
    }
    if (Object.keys(env).length > 0) payload.env = env;
    const cwd = draft.cwd.trim();
    if (cwd.length > 4096) errors['payload.cwd'] = 'At most 4096 characters';
    if (cwd) payload.cwd = cwd;
    const timeout = draft.timeout.trim();
    if (timeout) {
      const n = Number(timeout);
      if (!Number.isInteger(n) || n < 1 || n > MAX_TIMEOUT_SECONDS)
        errors['payload.timeoutSeconds'] = `A whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`;
      else payload.timeoutSeconds = n;
    }
    return { payload, errors };
  }
  if (draft.kind === 'agent') {
    const payload: Record<string, unknown> = { prompt: draft.prompt };
    if (draft.prompt.trim() === '') errors['payload.prompt'] = 'Required: what the agent should do';
    else if (draft.prompt.length > 100_000) errors['payload.prompt'] = 'At most 100,000 characters';
    if (draft.model) payload.model = draft.model;
    const turns = draft.maxTurns.trim();
    if (turns) {
      const n = Number(turns);
      if (!Number.isInteger(n) || n < 1 || n > 200)
        errors['payload.maxTurns'] = 'A whole number from 1 to 200';
      else payload.maxTurns = n;
    }
    const repo = draft.repo.trim();
    if (repo.length > 2048) errors['payload.repo'] = 'At most 2048 characters';
    if (repo) payload.repo = repo;
    return { payload, errors };
  }
  const parsed = parseJsonObject(draft.payloadJson.trim() === '' ? '{}' : draft.payloadJson);
  if (!parsed.ok) return { payload: {}, errors: { payload: parsed.error } };
  return { payload: parsed.value, errors };
}

function commonErrors(draft: TaskDraft, payload: Record<string, unknown>): FieldErrors {
  const errors: FieldErrors = {};
  const title = draft.title.trim();
  if (title === '') errors.title = 'Required';
  else if (title.length > 200) errors.title = 'At most 200 characters';
  if (draft.description.length > 10_000) errors.description = 'At most 10,000 characters';
  const priority = draft.priority.trim();
  if (priority !== '') {
    const n = Number(priority);
    if (!Number.isInteger(n) || n < -1000 || n > 1000) errors.priority = 'A whole number from -1000 to 1000';
  }
  if (draft.labels.length > 32) errors.labels = 'At most 32 labels';
  draft.labels.forEach((label, i) => {
    if (!LABEL_RE.test(label)) errors[`labels.${i}`] = `"${label}" is not a label like "gpu" or "region=eu"`;
  });
  if (JSON.stringify(payload).length > MAX_PAYLOAD_BYTES) errors.payload = 'At most 64 KiB as JSON';
  return errors;
}

export type Built<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** The body of POST /api/tasks, or the errors that keep the draft from being one. */
export function buildNewTask(draft: TaskDraft): Built<NewTask> {
  const { payload, errors: payloadErrors } = buildPayload(draft);
  const errors = { ...payloadErrors, ...commonErrors(draft, payload) };
  const kind = kindOf(draft);
  if (draft.kind === 'custom') {
    if (kind === '') errors.kind = 'Name the kind, e.g. "render"';
    else if (!KIND_RE.test(kind)) errors.kind = 'Lowercase letters, digits and "-", starting with a letter';
  }
  if (draft.deps.length > 1000) errors.deps = 'At most 1000 dependencies';
  draft.deps.forEach((dep, i) => {
    if (!TASK_ID_RE.test(dep)) errors[`deps.${i}`] = `"${dep}" is not a task id`;
  });
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const task: NewTask = {
    title: draft.title.trim(),
    description: draft.description,
    kind,
    payload,
    priority: draft.priority.trim() === '' ? 0 : Number(draft.priority),
    labels: unique(draft.labels),
    deps: unique(draft.deps),
  };
  return { ok: true, value: task };
}

/** The body of PATCH /api/tasks/:id: only what differs from `original`. */
export function buildTaskPatch(
  draft: TaskDraft,
  original: Pick<Task, 'title' | 'description' | 'payload' | 'priority' | 'labels'>,
): Built<TaskPatch> {
  const { payload, errors: payloadErrors } = buildPayload(draft);
  const errors = { ...payloadErrors, ...commonErrors(draft, payload) };
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const patch: TaskPatch = {};
  const title = draft.title.trim();
  if (title !== original.title) patch.title = title;
  if (draft.description !== original.description) patch.description = draft.description;
  const priority = draft.priority.trim() === '' ? 0 : Number(draft.priority);
  if (priority !== original.priority) patch.priority = priority;
  const labels = unique(draft.labels);
  if (stableJson(labels) !== stableJson(original.labels)) patch.labels = labels;
  if (stableJson(payload) !== stableJson(original.payload)) patch.payload = payload;
  return { ok: true, value: patch };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** JSON with object keys sorted, so two equal payloads compare equal. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** Labels typed into the chip input: split on commas and spaces, trimmed, no repeats. */
export function addChips(current: readonly string[], typed: string): string[] {
  const next = [...current];
  for (const part of typed.split(/[\s,]+/)) {
    const value = part.trim();
    if (value && !next.includes(value)) next.push(value);
  }
  return next;
}

// --- where errors are shown ---

/** Places on the form an error can be shown; anything deeper shows at its nearest place. */
export const FORM_SLOTS = [
  'title',
  'description',
  'kind',
  'payload.command',
  'payload.args',
  'payload.env',
  'payload.cwd',
  'payload.timeoutSeconds',
  'payload.prompt',
  'payload.model',
  'payload.maxTurns',
  'payload.repo',
  'payload',
  'priority',
  'labels',
  'deps',
] as const;
export type FormSlot = (typeof FORM_SLOTS)[number];

/**
 * The slot a field path belongs to: `payload.args.2` → `payload.args`, `deps.0` → `deps`; undefined
 * for a path the form has no place for. A leading `task.` or `body.` (how a service or the gateway
 * may name the request) is ignored.
 */
export function slotFor(field: string): FormSlot | undefined {
  const path = field.replace(/^(?:body|task|patch)\./, '');
  let best: FormSlot | undefined;
  for (const slot of FORM_SLOTS) {
    if ((path === slot || path.startsWith(`${slot}.`)) && (!best || slot.length > best.length)) best = slot;
  }
  return best;
}

/** The places a draft of this kind shows on the form. */
export function visibleSlots(kind: KindChoice, mode: 'create' | 'edit' = 'create'): FormSlot[] {
  const payload: FormSlot[] =
    kind === 'exec'
      ? ['payload.command', 'payload.args', 'payload.env', 'payload.cwd', 'payload.timeoutSeconds']
      : kind === 'agent'
        ? ['payload.prompt', 'payload.model', 'payload.maxTurns', 'payload.repo']
        : [];
  const common: FormSlot[] = ['title', 'description', 'kind', 'payload', 'priority', 'labels'];
  return [...common, ...payload, ...(mode === 'create' ? (['deps'] as FormSlot[]) : [])];
}

/**
 * Errors grouped by slot, one line each; an item's error says which item (`#3`, `FOO`). A field
 * whose place is not on the form shown (e.g. `payload.command` of a custom kind edited as JSON)
 * shows at `payload`, or among the other errors.
 */
export function errorsBySlot(
  errors: FieldErrors,
  visible: readonly FormSlot[] = FORM_SLOTS,
): { bySlot: Partial<Record<FormSlot, string>>; other: string[] } {
  const bySlot: Partial<Record<FormSlot, string>> = {};
  const other: string[] = [];
  for (const [field, message] of Object.entries(errors)) {
    const path = field.replace(/^(?:body|task|patch)\./, '');
    let slot = slotFor(path);
    if (slot && !visible.includes(slot))
      slot = slot.startsWith('payload.') && visible.includes('payload') ? 'payload' : undefined;
    if (!slot) {
      other.push(`${field}: ${message}`);
      continue;
    }
    const rest = path.slice(slot.length + 1);
    const item = rest === '' ? '' : /^\d+$/.test(rest) ? `#${Number(rest) + 1}: ` : `${rest}: `;
    const line = `${item}${message}`;
    bySlot[slot] = bySlot[slot] ? `${bySlot[slot]} · ${line}` : line;
  }
  return { bySlot, other };
}

/** A server's field issues as FieldErrors keyed by field path. */
export function serverFieldErrors(issues: readonly FieldIssue[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const { field, message } of issues) {
    const key = field.replace(/^(?:body|task|patch)\./, '');
    errors[key] = errors[key] ? `${errors[key]}; ${message}` : message;
  }
  return errors;
}

/** Indexes of chips (labels or deps) that an error names, to mark them. */
export function badItems(errors: FieldErrors, slot: 'labels' | 'deps'): Set<number> {
  const bad = new Set<number>();
  for (const field of Object.keys(errors)) {
    const match = new RegExp(`^(?:body\\.|task\\.)?${slot}\\.(\\d+)$`).exec(field);
    if (match) bad.add(Number(match[1]));
  }
  return bad;
}

/** How a shell would need the word written: bare when safe, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line an exec payload runs, for a preview: `echo 'hello world'`. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command.trim(), ...args.filter((a) => a !== '')].map(shellQuote).join(' ');
}
