import { z } from 'zod';

type JsonObject = Record<string, unknown>;

/**
 * Converts a zod schema to JSON Schema 2020-12 for a document with shared components: named
 * schemas (`.meta({ id })`) are lifted out of `$defs` into `components` and referenced by `refBase`.
 */
export function toComponentSchema(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: JsonObject,
  refBase: string,
): JsonObject {
  const raw = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonObject;
  const defs = (raw.$defs ?? {}) as Record<string, JsonObject>;
  const renamed = new Map<string, string>();
  for (const [id, def] of Object.entries(defs)) {
    let name = id;
    const existing = components[name];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(def)) name = `${id}Input`;
    renamed.set(id, name);
  }
  const rewrite = (value: JsonObject): JsonObject =>
    JSON.parse(
      JSON.stringify(value).replace(
        /"#\/\$defs\/([^"]+)"/g,
        (_m, id: string) => `"${refBase}${renamed.get(id) ?? id}"`,
      ),
    ) as JsonObject;
  for (const [id, def] of Object.entries(defs)) components[renamed.get(id) ?? id] = rewrite(def);
  const { $defs: _defs, $schema: _schema, ...rest } = raw;
  return rewrite(rest);
}
