import { ErrorBody, HTTP_STATUS_BY_CODE } from './errors.js';
import { HTTP_ROUTES, type HttpRoute } from './http.js';
import { toComponentSchema } from './json-schema.js';

const REF = '#/components/schemas/';
const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input; `error.details.fields` names each bad field',
  401: 'Missing or unknown token',
  403: 'The token\u2019s role is too low, or the CSRF token is missing',
  404: 'Not found',
  409: 'Conflict with the current state',
  429: 'Rate limited',
  503: 'A dependency (NATS or a service) is not answering',
};

/** The OpenAPI 3.1 document of the gateway, generated from the route catalog. */
export function buildOpenApi(opts: { version: string; routes?: readonly HttpRoute[] }) {
  const components: Record<string, unknown> = {};
  const errorRef = { $ref: `${REF}${toComponentSchemaName(ErrorBody, components)}` };
  const paths: Record<string, Record<string, unknown>> = {};
  const routes: readonly HttpRoute[] = opts.routes ?? HTTP_ROUTES;
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, obj] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (!obj) continue;
      for (const [name, schema] of Object.entries(obj.shape)) {
        const s = schema as Parameters<typeof toComponentSchema>[0];
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !s.safeParse(undefined).success,
          schema: toComponentSchema(s, 'input', components, REF),
        });
      }
    }
    const responses: Record<string, unknown> = {
      [String(route.status ?? 200)]: {
        description: route.summary,
        content: {
          [route.responseMediaType ?? 'application/json']: {
            schema: toComponentSchema(route.response, 'output', components, REF),
          },
        },
      },
    };
    for (const status of route.errors) {
      const body = route.errorBodies?.[status];
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? 'Error',
        content: {
          'application/json': {
            schema: body
              ? toComponentSchema(body, 'output', components, REF)
              : { type: 'object', properties: { error: errorRef }, required: ['error'] },
          },
        },
      };
    }
    const operation: Record<string, unknown> = {
      operationId: route.id,
      summary: route.summary,
      tags: [route.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: toComponentSchema(route.body, 'input', components, REF) },
              },
            },
          }
        : {}),
      responses,
      ...(route.role === 'public' ? { security: [] } : { 'x-required-role': route.role }),
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Jousting Operator API',
      version: opts.version,
      description:
        'REST API of the Jousting Operator gateway. Authenticate with `Authorization: Bearer jst_…` ' +
        '(roles viewer < operator < admin) or a session cookie from /api/auth/login plus the ' +
        '`x-csrf-token` header on writes. Error status codes map 1:1 to error codes: ' +
        Object.entries(HTTP_STATUS_BY_CODE)
          .map(([code, status]) => `${code} → ${status}`)
          .join(', '),
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'jst_ + 64 hex' },
        session: { type: 'apiKey', in: 'cookie', name: 'jst_session' },
      },
    },
  };
}

function toComponentSchemaName(
  schema: Parameters<typeof toComponentSchema>[0],
  components: Record<string, unknown>,
) {
  const ref = toComponentSchema(schema, 'output', components, REF) as { $ref?: string };
  return (ref.$ref ?? `${REF}Error`).slice(REF.length);
}
