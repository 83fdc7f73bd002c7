import type { FieldIssue } from '@jousting/contracts';
import { UsageError } from './errors.js';

/** What the CLI needs to know about one setting, read from the settings JSON Schema. */
export interface SettingSpec {
  key: string;
  type: 'integer' | 'number' | 'boolean' | 'string';
  enum?: string[];
  default?: unknown;
}

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The settings of a JSON Schema (as served at /api/settings/schema), by key. Follows a root
 * `$ref` into `$defs`/`definitions`, which is how zod emits a schema with an id.
 */
export function settingSpecs(schema: unknown): Map<string, SettingSpec> {
  const root = resolveRef(schema, schema);
  const properties = isObject(root) && isObject(root.properties) ? root.properties : {};
  const specs = new Map<string, SettingSpec>();
  for (const [key, raw] of Object.entries(properties)) {
    const prop = resolveRef(schema, raw);
    if (!isObject(prop)) continue;
    const spec: SettingSpec = { key, type: propertyType(prop) };
    if (Array.isArray(prop.enum)) spec.enum = prop.enum.map(String);
    if ('default' in prop) spec.default = prop.default;
    specs.set(key, spec);
  }
  return specs;
}

function resolveRef(root: unknown, node: unknown): unknown {
  for (let depth = 0; depth < 8 && isObject(node) && typeof node.$ref === 'string'; depth++) {
    const ref = node.$ref;
    if (!ref.startsWith('#/')) return node;
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      target = isObject(target) ? target[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined;
    }
    node = target;
  }
  return node;
}

function propertyType(prop: JsonObject): SettingSpec['type'] {
  const types = (Array.isArray(prop.type) ? prop.type : [prop.type]).filter((t) => t !== 'null');
  const type = types[0];
  if (type === 'integer' || type === 'number' || type === 'boolean' || type === 'string') return type;
  if (Array.isArray(prop.enum) && prop.enum.every((v) => typeof v === 'string')) return 'string';
  return 'string';
}

export interface Assignment {
  key: string;
  raw: string;
}

/** Splits `key=value` arguments; a missing `=`, an empty key or a repeated key is a usage error. */
export function parseAssignments(args: string[], command = 'settings set'): Assignment[] {
  if (args.length === 0) throw new UsageError('give at least one key=value', command);
  const seen = new Set<string>();
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected key=value, got "${arg}"`, command);
    const key = arg.slice(0, eq).trim();
    if (seen.has(key)) throw new UsageError(`"${key}" is given more than once`, command);
    seen.add(key);
    return { key, raw: arg.slice(eq + 1) };
  });
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Turns the text of a value into the JSON type its setting has. Ranges and enum members are left
 * to the server, which answers with its own field error; only type mismatches are caught here.
 */
export function coerceValue(
  spec: SettingSpec | undefined,
  raw: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const text = raw.trim();
  switch (spec?.type) {
    case 'integer':
    case 'number': {
      const value = Number(text);
      if (!NUMBER_RE.test(text) || !Number.isFinite(value)) {
        return { ok: false, message: `expected ${article(spec.type)}, got "${raw}"` };
      }
      if (spec.type === 'integer' && !Number.isInteger(value)) {
        return { ok: false, message: `expected an integer, got "${raw}"` };
      }
      return { ok: true, value };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true') return { ok: true, value: true };
      if (lower === 'false') return { ok: true, value: false };
      return { ok: false, message: `expected true or false, got "${raw}"` };
    }
    default:
      // Strings, enums and keys this CLI does not know: sent as text for the server to judge.
      return { ok: true, value: raw };
  }
}

const article = (type: string) => (type === 'integer' ? 'an integer' : 'a number');

/** The PATCH body for some `key=value` arguments, or the field issues that stop it being sent. */
export function buildPatch(
  assignments: Assignment[],
  specs: Map<string, SettingSpec>,
): { ok: true; patch: Record<string, unknown> } | { ok: false; issues: FieldIssue[] } {
  const patch: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const { key, raw } of assignments) {
    const result = coerceValue(specs.get(key), raw);
    if (result.ok) patch[key] = result.value;
    else issues.push({ field: key, message: result.message });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, patch };
}
