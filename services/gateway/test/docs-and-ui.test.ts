import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP_ROUTES } from '@jousting/contracts';
import { type NatsHandle, startNats } from '@jousting/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHonoPath } from '../src/catalog-routes.js';
import { client, type GatewayUnderTest, startGateway } from './harness.js';

let nats: NatsHandle;
let gw: GatewayUnderTest;
let uiDir: string;
let admin: ReturnType<typeof client>;
let anonymous: ReturnType<typeof client>;

beforeAll(async () => {
  nats = await startNats();
  gw = await startGateway(nats.url, {});
  uiDir = join(gw.dataDir, 'no-ui');
  admin = client(gw.url, gw.adminToken);
  anonymous = client(gw.url);
});
afterAll(async () => {
  await gw?.stop();
  await nats?.stop();
});

describe('API documents', () => {
  it('serves an OpenAPI 3.1 document with every catalogued path and method', async () => {
    const res = await anonymous('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toMatch(/Jousting/);
    for (const route of HTTP_ROUTES) {
      const op = doc.paths[route.path]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.operationId).toBe(route.id);
      expect(Object.keys(op.responses)).toContain(String('status' in route ? route.status : 200));
    }
    for (const schema of Object.values(doc.components.schemas)) expect(schema).toBeTypeOf('object');
  });

  it('renders /api/docs server-side with every operation, its role and schemas', async () => {
    const res = await anonymous('GET', '/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    for (const route of HTTP_ROUTES) {
      expect(res.text).toContain(`id="op-${route.id}"`);
      expect(res.text).toContain(route.path);
    }
    expect(res.text).toContain('Required role: <strong>admin</strong>');
    expect(res.text).toContain('href="#schema-SettingsPatch"');
    expect(res.text).toContain('id="schema-SettingsPatch"');
    expect(res.text).not.toMatch(/<script[^>]+src=|https?:\/\/cdn/i);
  });

  it('mounts every catalogued route (none falls through to 404 "no route")', async () => {
    for (const route of HTTP_ROUTES) {
      if (route.id === 'events') continue; // a never-ending stream; covered by the SSE tests
      const path = toHonoPath(route.path).replace(':id', '000000000000');
      const res = await admin(route.method.toUpperCase(), path);
      expect(res.json?.error?.message ?? '', `${route.method} ${route.path}`).not.toMatch(/no route for/);
    }
  });

  it('answers unknown /api paths with a JSON 404', async () => {
    const res = await anonymous('GET', '/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { code: 'not_found', message: 'no route for GET /api/nothing-here' } });
  });

  it('echoes the trace id from traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await anonymous('GET', '/api/health', {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.headers.get('x-trace-id')).toBe(traceId);
  });
});

describe('operator UI', () => {
  it('says how to build the UI when it is not built', async () => {
    const res = await anonymous('GET', '/');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/not built/);
    expect(res.text).toContain('npm run build');
  });

  it('serves the built files and falls back to index.html for client-side routes only', async () => {
    mkdirSync(join(uiDir, 'assets'), { recursive: true });
    writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>ui</title><div id="root"></div>');
    writeFileSync(join(uiDir, 'assets', 'app-1234.js'), 'console.log("ui")');
    try {
      const index = await anonymous('GET', '/');
      expect(index.text).toContain('<div id="root">');

      const asset = await anonymous('GET', '/assets/app-1234.js');
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
      expect(asset.headers.get('cache-control')).toMatch(/immutable/);

      const clientRoute = await anonymous('GET', '/tasks/123');
      expect(clientRoute.status).toBe(200);
      expect(clientRoute.text).toContain('<div id="root">');

      // A task id may contain a dot; its page is still a client route.
      const dottedId = await anonymous('GET', '/tasks/build.v2');
      expect(dottedId.status).toBe(200);
      expect(dottedId.text).toContain('<div id="root">');

      expect((await anonymous('GET', '/assets/missing-99.js')).status).toBe(404);
      expect((await anonymous('GET', '/missing.svg')).status).toBe(404);
      expect((await anonymous('GET', '/api/unknown')).json.error.code).toBe('not_found');
    } finally {
      rmSync(uiDir, { recursive: true, force: true });
    }
  });
});
