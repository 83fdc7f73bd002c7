import { settingsJsonSchema } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  buildPatch,
  coerceValue,
  parseAssignments,
  type SettingSpec,
  settingSpecs,
} from '../src/settings-values.js';

const specs = settingSpecs(settingsJsonSchema());
const spec = (key: string) => specs.get(key) as SettingSpec;

describe('settingSpecs', () => {
  it('reads every setting of the real schema through its $ref, with type and default', () => {
    expect(spec('maxTurns')).toEqual({ key: 'maxTurns', type: 'integer', default: 30 });
    expect(spec('maxBudgetUsd')).toMatchObject({ type: 'number', default: 5 });
    expect(spec('autoPush')).toMatchObject({ type: 'boolean', default: false });
    expect(spec('model')).toMatchObject({
      type: 'string',
      enum: ['haiku', 'sonnet', 'opus'],
      default: 'sonnet',
    });
  });

  it('reads a schema without $ref, and nothing from a non-schema', () => {
    expect(settingSpecs({ properties: { a: { type: ['number', 'null'] } } }).get('a')?.type).toBe('number');
    expect(settingSpecs('nonsense').size).toBe(0);
  });
});

describe('coerceValue', () => {
  it('turns integers and numbers into numbers', () => {
    expect(coerceValue(spec('maxTurns'), '40')).toEqual({ ok: true, value: 40 });
    expect(coerceValue(spec('maxBudgetUsd'), '2.5')).toEqual({ ok: true, value: 2.5 });
    expect(coerceValue(spec('maxBudgetUsd'), '-1e2')).toEqual({ ok: true, value: -100 });
  });

  it('refuses text, blanks and fractions where a number or integer is expected', () => {
    expect(coerceValue(spec('maxTurns'), 'forty')).toEqual({
      ok: false,
      message: 'expected an integer, got "forty"',
    });
    expect(coerceValue(spec('maxTurns'), '')).toMatchObject({ ok: false });
    expect(coerceValue(spec('maxTurns'), '0x10')).toMatchObject({ ok: false });
    expect(coerceValue(spec('maxTurns'), '4.5')).toEqual({
      ok: false,
      message: 'expected an integer, got "4.5"',
    });
    expect(coerceValue(spec('maxBudgetUsd'), 'Infinity')).toMatchObject({ ok: false });
  });

  it('reads booleans as true or false only', () => {
    expect(coerceValue(spec('autoPush'), 'true')).toEqual({ ok: true, value: true });
    expect(coerceValue(spec('autoPush'), 'FALSE')).toEqual({ ok: true, value: false });
    expect(coerceValue(spec('autoPush'), 'yes')).toEqual({
      ok: false,
      message: 'expected true or false, got "yes"',
    });
  });

  it('leaves enums, strings and unknown keys as text for the server to judge', () => {
    expect(coerceValue(spec('model'), 'opus')).toEqual({ ok: true, value: 'opus' });
    expect(coerceValue(spec('model'), 'gpt')).toEqual({ ok: true, value: 'gpt' });
    expect(coerceValue(undefined, '12')).toEqual({ ok: true, value: '12' });
  });
});

describe('parseAssignments', () => {
  it('splits at the first "=" so values may contain "="', () => {
    expect(parseAssignments(['maxTurns=40', 'x=a=b'])).toEqual([
      { key: 'maxTurns', raw: '40' },
      { key: 'x', raw: 'a=b' },
    ]);
  });

  it('refuses no arguments, a missing "=", an empty key and a repeated key', () => {
    expect(() => parseAssignments([])).toThrow(UsageError);
    expect(() => parseAssignments(['maxTurns'])).toThrow('expected key=value, got "maxTurns"');
    expect(() => parseAssignments(['=4'])).toThrow(UsageError);
    expect(() => parseAssignments(['a=1', 'a=2'])).toThrow('"a" is given more than once');
  });
});

describe('buildPatch', () => {
  it('builds one patch with each value in its schema type', () => {
    const assignments = parseAssignments(['maxTurns=40', 'autoPush=true', 'model=opus']);
    expect(buildPatch(assignments, specs)).toEqual({
      ok: true,
      patch: { maxTurns: 40, autoPush: true, model: 'opus' },
    });
  });

  it('names every field whose value has the wrong type', () => {
    const assignments = parseAssignments(['maxTurns=x', 'autoPush=maybe', 'model=opus']);
    expect(buildPatch(assignments, specs)).toEqual({
      ok: false,
      issues: [
        { field: 'maxTurns', message: 'expected an integer, got "x"' },
        { field: 'autoPush', message: 'expected true or false, got "maybe"' },
      ],
    });
  });
});
