import { z } from 'zod';

/** Every error code the system answers with; each maps to exactly one HTTP status. */
export const ErrorCode = z.enum([
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export const FieldIssue = z.object({
  field: z.string().describe('Dotted path of the offending field, e.g. "coordMaxTurns" or "body.patterns.0"'),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorBody = z
  .object({
    code: ErrorCode,
    message: z.string(),
    details: z
      .object({ fields: z.array(FieldIssue).optional() })
      .catchall(z.unknown())
      .optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The one error type: thrown by handlers, carried over NATS, mapped to HTTP by the gateway. */
export class JoustingError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorBody['details'];

  constructor(code: ErrorCode, message: string, details?: ErrorBody['details']) {
    super(message);
    this.name = 'JoustingError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_STATUS_BY_CODE[this.code];
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): JoustingError {
    return new JoustingError(body.code, body.message, body.details);
  }

  static validation(issues: FieldIssue[]): JoustingError {
    const named = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    return new JoustingError('validation_failed', `invalid input (${named})`, { fields: issues });
  }
}

/** Turns a zod failure into field-named issues; `prefix` locates the value (e.g. "query"). */
export function issuesFromZod(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return { field: joinPath(prefix, [...path, issue.keys.join(',')]), message: 'unknown field' };
    }
    return { field: joinPath(prefix, path) || '(root)', message: issue.message };
  });
}

function joinPath(prefix: string, path: string[]): string {
  return [prefix, ...path].filter((p) => p !== '').join('.');
}

/** Parses `input` with `schema` or throws a validation JoustingError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw JoustingError.validation(issuesFromZod(result.error, prefix));
  return result.data;
}
