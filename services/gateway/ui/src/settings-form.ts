import type { FieldIssue } from '@jousting/contracts';

/**
 * The settings form without React: the JSON Schema turned into field descriptors, the user's
 * edits kept apart from the server's values, and remote changes merged without losing an edit.
 */

export type SettingValue = number | string | boolean;
export type FieldKind = 'integer' | 'number' | 'boolean' | 'enum' | 'string';

export interface FieldDescriptor {
  key: string;
  kind: FieldKind;
  title: string;
  description: string | undefined;
  group: string;
  default: SettingValue | undefined;
  minimum: number | undefined;
  maximum: number | undefined;
  /** For number inputs: 1 for integers, 'any' otherwise. */
  step: number | 'any' | undefined;
  options: string[] | undefined;
}

export interface FieldGroup {
  group: string;
  title: string;
  fields: FieldDescriptor[];
}

const GROUP_ORDER = ['coordinator', 'agent'];
const GROUP_TITLES: Record<string, string> = { coordinator: 'Coordinator', agent: 'Agent', other: 'Other' };

/** Field descriptors from the settings JSON Schema (2020-12; a top-level `$ref` into `$defs` is followed). */
export function fieldsFromSchema(schema: unknown): FieldDescriptor[] {
  const root = resolveRoot(schema);
  const properties = isRecord(root?.properties) ? root.properties : {};
  const fields: FieldDescriptor[] = [];
  for (const [key, raw] of Object.entries(properties)) {
    if (!isRecord(raw)) continue;
    const kind = fieldKind(raw);
    if (!kind) continue;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    fields.push({
      key,
      kind,
      title: typeof raw.title === 'string' ? raw.title : key,
      description: typeof raw.description === 'string' ? raw.description : undefined,
      group: typeof raw.group === 'string' ? raw.group : 'other',
      default: isSettingValue(raw.default) ? raw.default : undefined,
      minimum: num(raw.minimum),
      maximum: num(raw.maximum),
      step: kind === 'integer' ? 1 : kind === 'number' ? 'any' : undefined,
      options: kind === 'enum' ? (raw.enum as unknown[]).map(String) : undefined,
    });
  }
  return fields;
}

function resolveRoot(schema: unknown): Record<string, unknown> | undefined {
  if (!isRecord(schema)) return undefined;
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let node: unknown = schema;
    for (const part of ref.slice(2).split('/')) node = isRecord(node) ? node[part] : undefined;
    return isRecord(node) ? node : undefined;
  }
  return schema;
}

function fieldKind(prop: Record<string, unknown>): FieldKind | undefined {
  if (Array.isArray(prop.enum) && prop.enum.length > 0) return 'enum';
  switch (prop.type) {
    case 'integer':
    case 'number':
    case 'boolean':
    case 'string':
      return prop.type;
    default:
      return undefined;
  }
}

/** Fields grouped by their schema `group`: coordinator first, agent next, anything else after. */
export function groupFields(fields: FieldDescriptor[]): FieldGroup[] {
  const groups = new Map<string, FieldDescriptor[]>();
  for (const field of fields) groups.set(field.group, [...(groups.get(field.group) ?? []), field]);
  const rank = (g: string) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.length);
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([group, list]) => ({ group, title: GROUP_TITLES[group] ?? capitalize(group), fields: list }));
}

// --- values ---

/** What an input holds: numbers stay the typed text, so a half-typed value survives re-renders. */
export type DraftValue = string | boolean;

export function toDraft(field: FieldDescriptor, value: unknown): DraftValue {
  if (field.kind === 'boolean') return value === true;
  return value === undefined || value === null ? '' : String(value);
}

export type Parsed = { ok: true; value: SettingValue } | { ok: false; error: string };

/** Parses and checks what the user typed against the schema's type, range and options. */
export function parseDraft(field: FieldDescriptor, draft: DraftValue): Parsed {
  if (field.kind === 'boolean') return { ok: true, value: draft === true };
  const text = String(draft).trim();
  if (field.kind === 'enum' || field.kind === 'string') {
    const error = validateValue(field, text);
    return error ? { ok: false, error } : { ok: true, value: text };
  }
  if (text === '') return { ok: false, error: 'Required' };
  const value = Number(text);
  const error = validateValue(field, value);
  return error ? { ok: false, error } : { ok: true, value };
}

/** The client-side check of one value; undefined when it is valid. */
export function validateValue(field: FieldDescriptor, value: unknown): string | undefined {
  switch (field.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'Must be on or off';
    case 'enum':
      return field.options?.includes(String(value))
        ? undefined
        : `Must be one of: ${field.options?.join(', ')}`;
    case 'string':
      return typeof value === 'string' ? undefined : 'Must be text';
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'Must be a number';
      if (field.kind === 'integer' && !Number.isInteger(value)) return 'Must be a whole number';
      if (field.minimum !== undefined && value < field.minimum) return `Must be at least ${field.minimum}`;
      if (field.maximum !== undefined && value > field.maximum) return `Must be at most ${field.maximum}`;
      return undefined;
    }
  }
}

// --- form state ---

export interface RemoteChange {
  to: unknown;
  actor: string;
}

export interface FormState {
  /** The last values the server told us. */
  server: Record<string, unknown>;
  /** What the user typed, only for fields they touched. */
  edits: Record<string, DraftValue>;
  /** Fields someone else changed while the user was editing them. */
  remote: Record<string, RemoteChange>;
}

export function initialForm(settings: Record<string, unknown>): FormState {
  return { server: { ...settings }, edits: {}, remote: {} };
}

export function displayValue(state: FormState, field: FieldDescriptor): DraftValue {
  return state.edits[field.key] ?? toDraft(field, state.server[field.key]);
}

/** True when the field holds an edit that differs from the server value (an invalid edit counts). */
export function isDirty(state: FormState, field: FieldDescriptor): boolean {
  const edit = state.edits[field.key];
  if (edit === undefined) return false;
  const parsed = parseDraft(field, edit);
  return !parsed.ok || !sameValue(parsed.value, state.server[field.key]);
}

export function dirtyKeys(fields: FieldDescriptor[], state: FormState): string[] {
  return fields.filter((f) => isDirty(state, f)).map((f) => f.key);
}

export function editField(state: FormState, key: string, draft: DraftValue): FormState {
  return { ...state, edits: { ...state.edits, [key]: draft } };
}

/** Drops the user's edit of one field (and any remote-change mark), showing the server value again. */
export function revertField(state: FormState, key: string): FormState {
  return { ...state, edits: omit(state.edits, [key]), remote: omit(state.remote, [key]) };
}

export function discardEdits(state: FormState): FormState {
  return { ...state, edits: {}, remote: {} };
}

export interface PatchPlan {
  /** Only the fields whose value differs from the server's. */
  patch: Record<string, SettingValue>;
  /** Client-side errors by field; nothing should be sent while there are any. */
  errors: Record<string, string>;
}

export function buildPatch(fields: FieldDescriptor[], state: FormState): PatchPlan {
  const patch: Record<string, SettingValue> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const edit = state.edits[field.key];
    if (edit === undefined) continue;
    const parsed = parseDraft(field, edit);
    if (!parsed.ok) errors[field.key] = parsed.error;
    else if (!sameValue(parsed.value, state.server[field.key])) patch[field.key] = parsed.value;
  }
  return { patch, errors };
}

export interface SettingsChangedData {
  changes: Record<string, { from: unknown; to: unknown } | undefined>;
  settings?: Record<string, unknown>;
  actor: string;
}

export interface MergeResult {
  state: FormState;
  /** Fields whose new value now shows. */
  applied: string[];
  /** Fields where the user's edit was kept and marked as changed remotely. */
  kept: string[];
}

/**
 * Merges a `settings.changed` event: untouched fields take the new value; an edited field keeps
 * the edit and is marked as changed remotely, unless the edit already equals the new value.
 */
export function mergeRemote(
  fields: FieldDescriptor[],
  state: FormState,
  data: SettingsChangedData,
): MergeResult {
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const server = { ...state.server, ...(data.settings ?? {}) };
  let edits = state.edits;
  let remote = state.remote;
  const applied: string[] = [];
  const kept: string[] = [];
  for (const [key, change] of Object.entries(data.changes)) {
    if (!change) continue;
    const to = data.settings && key in data.settings ? data.settings[key] : change.to;
    server[key] = to;
    const field = byKey.get(key);
    const edit = edits[key];
    const parsed = field && edit !== undefined ? parseDraft(field, edit) : undefined;
    const editedAway = parsed !== undefined && !(parsed.ok && sameValue(parsed.value, state.server[key]));
    if (editedAway && !(parsed?.ok && sameValue(parsed.value, to))) {
      remote = { ...remote, [key]: { to, actor: data.actor } };
      kept.push(key);
    } else {
      edits = omit(edits, [key]);
      remote = omit(remote, [key]);
      applied.push(key);
    }
  }
  return { state: { server, edits, remote }, applied, kept };
}

/** After a save or reset: the server's answer becomes the base; the saved edits are done. */
export function applySaveResult(
  state: FormState,
  settings: Record<string, unknown>,
  savedKeys: string[],
): FormState {
  return {
    server: { ...state.server, ...settings },
    edits: omit(state.edits, savedKeys),
    remote: omit(state.remote, savedKeys),
  };
}

// --- own changes coming back as events ---

/** Values this UI just wrote; the `settings.changed` they cause must not be announced as someone else's. */
export interface PendingEcho {
  values: Record<string, unknown>;
  expiresAt: number;
}

export function takeOwnEcho(
  pending: PendingEcho[],
  changes: SettingsChangedData['changes'],
  now: number,
): { own: boolean; pending: PendingEcho[] } {
  const live = pending.filter((p) => p.expiresAt > now);
  const entries = Object.entries(changes).filter(([, c]) => c !== undefined);
  const index = live.findIndex(
    (p) => entries.length > 0 && entries.every(([k, c]) => k in p.values && sameValue(p.values[k], c?.to)),
  );
  if (index < 0) return { own: false, pending: live };
  return { own: true, pending: live.filter((_, i) => i !== index) };
}

// --- server errors ---

/**
 * Server field issues by setting key. The gateway names the plain key ("maxTurns"), but a dotted
 * path ("body.maxTurns") is matched on its last known segment too.
 */
export function fieldErrorsFrom(
  issues: FieldIssue[],
  keys: string[],
): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const issue of issues) {
    const key = issue.field
      .split('.')
      .reverse()
      .find((part) => keys.includes(part));
    if (key) byField[key] = byField[key] ? `${byField[key]}; ${issue.message}` : issue.message;
    else other.push(`${issue.field}: ${issue.message}`);
  }
  return { byField, other };
}

// --- words ---

export function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** "token:alice" → "alice"; "external" stays. */
export function formatActor(actor: string): string {
  return actor.startsWith('token:') ? actor.slice('token:'.length) : actor;
}

/** "maxTurns 30 → 40, model sonnet → opus" */
export function formatChanges(changes: SettingsChangedData['changes']): string {
  return Object.entries(changes)
    .filter(([, c]) => c !== undefined)
    .map(([key, c]) => `${key} ${formatValue(c?.from)} → ${formatValue(c?.to)}`)
    .join(', ');
}

export function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

function omit<T>(record: Record<string, T>, keys: string[]): Record<string, T> {
  if (!keys.some((k) => k in record)) return record;
  const copy = { ...record };
  for (const key of keys) delete copy[key];
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSettingValue(value: unknown): value is SettingValue {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Remembers this UI's own writes for a while, so their events are recognised as ours. */
export class OwnWrites {
  private pending: PendingEcho[] = [];

  constructor(
    private readonly now: () => number = () => Date.now(),
    private readonly ttlMs = 15_000,
  ) {}

  expect(values: Record<string, unknown>): PendingEcho {
    const echo = { values, expiresAt: this.now() + this.ttlMs };
    this.pending = [...this.pending, echo];
    return echo;
  }

  /** The write failed or changed nothing: no event will come for it. */
  cancel(echo: PendingEcho): void {
    this.pending = this.pending.filter((p) => p !== echo);
  }

  /** True (once) when these changes are the echo of one of our writes. */
  isOwn(changes: SettingsChangedData['changes']): boolean {
    const result = takeOwnEcho(this.pending, changes, this.now());
    this.pending = result.pending;
    return result.own;
  }
}

// --- event data ---

/** The data of a `settings.changed` event, checked; undefined when it is not one. */
export function parseSettingsChanged(data: unknown): SettingsChangedData | undefined {
  if (!isRecord(data) || !isRecord(data.changes)) return undefined;
  const changes: SettingsChangedData['changes'] = {};
  for (const [key, change] of Object.entries(data.changes)) {
    if (isRecord(change) && 'to' in change) changes[key] = { from: change.from, to: change.to };
  }
  return {
    changes,
    actor: typeof data.actor === 'string' ? data.actor : 'unknown',
    ...(isRecord(data.settings) ? { settings: data.settings } : {}),
  };
}

export interface SettingsRejectedData {
  field: string;
  value: unknown;
  reason: string;
  restored: unknown;
  actor: string;
}

export function parseSettingsRejected(data: unknown): SettingsRejectedData | undefined {
  if (!isRecord(data) || typeof data.field !== 'string') return undefined;
  return {
    field: data.field,
    value: data.value,
    reason: typeof data.reason === 'string' ? data.reason : 'invalid value',
    restored: data.restored,
    actor: typeof data.actor === 'string' ? data.actor : 'unknown',
  };
}
