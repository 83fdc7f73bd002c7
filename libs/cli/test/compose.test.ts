import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, SERVICES } from '../src/stack/services.js';

const root = repoRoot(import.meta.url);
// Shared with other projects on this machine, outside the repository (see its README).
const schemaPath = resolve(root, '../shared/schemas/compose-spec.json');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as ComposeFile;

function loadComposeSchema(path = schemaPath): Record<string, unknown> {
  if (!existsSync(path)) {
    throw new Error(
      `the Compose Specification schema is missing: expected it at ${path} ` +
        '(../shared/schemas/compose-spec.json relative to the repository root); compose.yaml cannot be validated without it',
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

describe('compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = loadComposeSchema();
    // The spec is draft-07 (Ajv's default class) but names the meta-schema by its https URL,
    // and uses union types Ajv's strict mode rejects: register the alias, relax strictness.
    expect(String(schema.$schema)).toMatch(/draft-07/);
    const ajv = new Ajv({ allErrors: true, strict: false });
    const draft07 = ajv.getSchema('http://json-schema.org/draft-07/schema')?.schema as Record<
      string,
      unknown
    >;
    if (schema.$schema !== draft07.$id) ajv.addMetaSchema({ ...draft07, $id: String(schema.$schema) });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(valid, ajv.errorsText(validate.errors, { separator: '\n', dataVar: 'compose' })).toBe(true);
  });

  it('fails, naming the expected path, when the schema is missing', () => {
    expect(() => loadComposeSchema('/nonexistent/compose-spec.json')).toThrow(
      'the Compose Specification schema is missing: expected it at /nonexistent/compose-spec.json',
    );
  });

  it('has no obsolete version key', () => {
    expect(compose.version).toBeUndefined();
  });

  it('runs every service `jousting up` starts, from its built main.js, after NATS is healthy', () => {
    for (const name of SERVICES) {
      const service = compose.services[name];
      expect(service, `compose.yaml has no service "${name}" (the CLI's SERVICES list has it)`).toBeDefined();
      expect(service?.build, name).toBeDefined();
      expect([service?.command].flat().join(' '), name).toBe(`node services/${name}/dist/main.js`);
      expect(service?.depends_on?.nats?.condition, name).toBe('service_healthy');
      expect(service?.environment?.NATS_URL, name).toBe('nats://nats:4222');
      expect(service?.healthcheck?.test, name).toBeDefined();
    }
  });

  it('runs NATS with JetStream on a named volume and a health check', () => {
    const nats = compose.services.nats;
    expect(nats?.image).toBe('nats:2.10-alpine');
    expect(nats?.command).toEqual(['-js', '-sd', '/data', '-m', '8222']);
    expect(nats?.volumes).toContain('nats-data:/data');
    expect(nats?.healthcheck?.test.join(' ')).toContain('http://localhost:8222/healthz');
    expect(compose.volumes).toHaveProperty('nats-data');
  });

  it('publishes the gateway on 8080 and keeps its data (the admin token) in a volume', () => {
    const gateway = compose.services.gateway;
    expect(gateway?.environment).toMatchObject({
      GATEWAY_HOST: '0.0.0.0',
      JOUSTING_DATA_DIR: '/data',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, not a JS template
      JOUSTING_ADMIN_TOKEN: '${JOUSTING_ADMIN_TOKEN:-}',
    });
    expect(gateway?.ports?.some((p) => p.endsWith(':8080'))).toBe(true);
    expect(gateway?.volumes).toContain('gateway-data:/data');
  });

  it('gives the coordinator and the worker the same worker token', () => {
    const { coordinator, worker } = compose.services;
    // Passed through from the environment when set (a bare key), so both always agree;
    // unset, the worker reads the file the coordinator writes, from the coordinator's volume.
    expect(coordinator?.environment).toHaveProperty('JOUSTING_WORKER_TOKEN', null);
    expect(worker?.environment).toHaveProperty('JOUSTING_WORKER_TOKEN', null);
    expect(coordinator?.environment?.JOUSTING_DATA_DIR).toBe('/data');
    expect(worker?.environment?.JOUSTING_DATA_DIR).toBe('/data');
    expect(coordinator?.volumes).toContain('coordinator-data:/data');
    expect(worker?.volumes).toContain('coordinator-data:/data:ro');
    expect(worker?.depends_on?.coordinator?.condition).toBe('service_healthy');
  });

  it('builds every service from the one root Dockerfile', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:22\S* AS build$/m);
    expect(dockerfile).toMatch(/npm ci && npm run build/);
    for (const name of SERVICES) expect(compose.services[name]?.build).toBe('.');
  });
});
