import { describe, expect, it } from 'vitest';
import {
  buildAsyncApi,
  buildOpenApi,
  CONTRACTS_VERSION,
  DEFAULT_SETTINGS,
  EVENT_TYPES,
  HTTP_ROUTES,
  JoustingError,
  parseOrThrow,
  parseSettingValue,
  SettingsPatch,
  settingsJsonSchema,
  subjectMatches,
  WsClientMessage,
} from '../src/index.js';

describe('subjectMatches', () => {
  it.each([
    ['settings.>', 'settings.changed', true],
    ['settings.>', 'settings', false],
    ['coord.*', 'coord.task-created', true],
    ['coord.*', 'coord.task.created', false],
    ['>', 'anything.at.all', true],
    ['*.changed', 'settings.changed', true],
    ['settings.changed', 'settings.changed', true],
    ['settings.changed', 'settings.rejected', false],
    ['settings.changed.x', 'settings.changed', false],
  ])('%s against %s is %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('errors', () => {
  it('maps each code to one HTTP status', () => {
    expect(new JoustingError('validation_failed', 'x').httpStatus).toBe(400);
    expect(new JoustingError('conflict', 'x').httpStatus).toBe(409);
    expect(new JoustingError('unavailable', 'x').httpStatus).toBe(503);
  });

  it('names every bad field, including unknown ones', () => {
    let caught: unknown;
    try {
      parseOrThrow(SettingsPatch, { maxTurns: 0, nope: 1 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(JoustingError);
    const fields = (caught as JoustingError).details?.fields ?? [];
    expect(fields.map((f) => f.field).sort()).toEqual(['maxTurns', 'nope']);
    expect((caught as JoustingError).message).toMatch(/maxTurns/);
  });
});

describe('settings schema', () => {
  it('has the documented defaults and ranges', () => {
    expect(DEFAULT_SETTINGS).toEqual({
      coordMaxRequestsPerMinute: 60,
      coordMaxTokensPerMinute: 100000,
      coordGlobalBudgetUsd: 50,
      coordPerWorkerBudgetUsd: 10,
      maxTaskRetries: 3,
      staleTaskMinutes: 30,
      model: 'sonnet',
      maxTurns: 30,
      maxContinuations: 5,
      maxBudgetUsd: 5,
      autoPush: false,
      webhookAllowPrivateUrls: false,
      webhookDisableAfterHours: 72,
    });
    expect(parseSettingValue('coordMaxTokensPerMinute', 999).ok).toBe(false);
    expect(parseSettingValue('staleTaskMinutes', 0).ok).toBe(true);
    expect(parseSettingValue('model', 'gpt').ok).toBe(false);
  });

  it('a patch applies no defaults', () => {
    expect(SettingsPatch.parse({ maxTurns: 4 })).toEqual({ maxTurns: 4 });
  });

  it('exposes a JSON Schema with titles, groups, ranges and defaults for the UI form', () => {
    const schema = settingsJsonSchema() as { properties: Record<string, Record<string, unknown>> };
    expect(schema.properties.maxTurns).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 200,
      default: 30,
      group: 'agent',
    });
    expect(schema.properties.model).toMatchObject({ enum: ['haiku', 'sonnet', 'opus'] });
  });
});

describe('generated API documents', () => {
  it('OpenAPI 3.1 has every route with its method, and resolvable refs', () => {
    const doc = buildOpenApi({ version: 'test' });
    expect(doc.openapi).toBe('3.1.0');
    for (const route of HTTP_ROUTES) expect(doc.paths[route.path]?.[route.method]).toBeDefined();
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop()!]).toBeDefined();
  });

  it('AsyncAPI 3 has a channel for every event type and command', () => {
    const doc = buildAsyncApi({ version: 'test' });
    const addresses = Object.values(doc.channels).map((c) => (c as { address: string }).address);
    for (const type of EVENT_TYPES) expect(addresses).toContain(type);
    expect(addresses).toContain('api.settings.patch');
  });
});

describe('WebSocket messages', () => {
  it('accepts NATS wildcard patterns and refuses malformed ones', () => {
    expect(
      WsClientMessage.safeParse({ type: 'subscribe', patterns: ['settings.>', 'coord.*'] }).success,
    ).toBe(true);
    expect(WsClientMessage.safeParse({ type: 'subscribe', patterns: ['settings.>.x'] }).success).toBe(false);
    expect(WsClientMessage.safeParse({ type: 'subscribe', patterns: ['bad pattern'] }).success).toBe(false);
  });
});

describe('committed API documents', () => {
  it('docs/openapi.json and docs/asyncapi.json are what the schemas generate (run `npm run docs:api`)', async () => {
    const { readFileSync } = await import('node:fs');
    const read = (name: string) =>
      JSON.parse(readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8'));
    expect(read('openapi.json')).toEqual(
      JSON.parse(JSON.stringify(buildOpenApi({ version: CONTRACTS_VERSION }))),
    );
    expect(read('asyncapi.json')).toEqual(
      JSON.parse(JSON.stringify(buildAsyncApi({ version: CONTRACTS_VERSION }))),
    );
  });
});
