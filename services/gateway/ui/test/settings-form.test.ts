import { DEFAULT_SETTINGS, SETTING_KEYS, settingsJsonSchema } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  applySaveResult,
  buildPatch,
  dirtyKeys,
  discardEdits,
  displayValue,
  editField,
  type FieldDescriptor,
  fieldErrorsFrom,
  fieldsFromSchema,
  formatActor,
  formatChanges,
  groupFields,
  initialForm,
  mergeRemote,
  OwnWrites,
  parseDraft,
  parseSettingsChanged,
  parseSettingsRejected,
  revertField,
  takeOwnEcho,
} from '../src/settings-form';

// The real schema the gateway serves, generated from the contracts.
const fields = fieldsFromSchema(settingsJsonSchema());
const field = (key: string): FieldDescriptor => {
  const found = fields.find((f) => f.key === key);
  if (!found) throw new Error(`no field ${key}`);
  return found;
};
const settings = { ...DEFAULT_SETTINGS } as Record<string, unknown>;

describe('fieldsFromSchema', () => {
  it('describes every setting of the contracts schema, following its $ref', () => {
    expect(fields.map((f) => f.key).sort()).toEqual([...SETTING_KEYS].sort());
  });

  it('takes type, range, step, default, title, description and group from the schema', () => {
    expect(field('maxTurns')).toEqual({
      key: 'maxTurns',
      kind: 'integer',
      title: 'Max turns',
      description: 'Turns an agent session may take before it hands off.',
      group: 'agent',
      default: 30,
      minimum: 1,
      maximum: 200,
      step: 1,
      options: undefined,
    });
    expect(field('coordGlobalBudgetUsd')).toMatchObject({
      kind: 'number',
      step: 'any',
      minimum: 0,
      maximum: 1000,
    });
    expect(field('model')).toMatchObject({
      kind: 'enum',
      options: ['haiku', 'sonnet', 'opus'],
      default: 'sonnet',
    });
    expect(field('autoPush')).toMatchObject({ kind: 'boolean', default: false, step: undefined });
  });

  it('reads a schema without $ref and skips properties it cannot render', () => {
    const result = fieldsFromSchema({
      type: 'object',
      properties: { a: { type: 'integer' }, nested: { type: 'object' }, b: { type: 'boolean', group: 'x' } },
    });
    expect(result.map((f) => [f.key, f.title, f.group])).toEqual([
      ['a', 'a', 'other'],
      ['b', 'b', 'x'],
    ]);
    expect(fieldsFromSchema('nonsense')).toEqual([]);
  });
});

describe('groupFields', () => {
  it('puts coordinator first, then agent, keeping schema order inside a group', () => {
    const groups = groupFields(fields);
    expect(groups.map((g) => g.title)).toEqual(['Coordinator', 'Agent', 'Notifier']);
    expect(groups[1]?.fields.map((f) => f.key)).toEqual([
      'model',
      'maxTurns',
      'maxContinuations',
      'maxBudgetUsd',
      'autoPush',
    ]);
  });
});

describe('parseDraft', () => {
  it('checks range, whole numbers and required values', () => {
    expect(parseDraft(field('maxTurns'), '40')).toEqual({ ok: true, value: 40 });
    expect(parseDraft(field('maxTurns'), '999')).toEqual({ ok: false, error: 'Must be at most 200' });
    expect(parseDraft(field('maxTurns'), '0')).toEqual({ ok: false, error: 'Must be at least 1' });
    expect(parseDraft(field('maxTurns'), '2.5')).toEqual({ ok: false, error: 'Must be a whole number' });
    expect(parseDraft(field('maxTurns'), ' ')).toEqual({ ok: false, error: 'Required' });
    expect(parseDraft(field('maxBudgetUsd'), '2.5')).toEqual({ ok: true, value: 2.5 });
    expect(parseDraft(field('maxBudgetUsd'), 'abc')).toEqual({ ok: false, error: 'Must be a number' });
  });

  it('checks enum options and reads booleans', () => {
    expect(parseDraft(field('model'), 'opus')).toEqual({ ok: true, value: 'opus' });
    expect(parseDraft(field('model'), 'gpt')).toEqual({
      ok: false,
      error: 'Must be one of: haiku, sonnet, opus',
    });
    expect(parseDraft(field('autoPush'), true)).toEqual({ ok: true, value: true });
  });
});

describe('form state', () => {
  it('sends only the fields whose value differs from the server', () => {
    let form = initialForm(settings);
    form = editField(form, 'maxTurns', '40');
    form = editField(form, 'model', 'sonnet'); // same as the server
    form = editField(form, 'autoPush', true);
    expect(buildPatch(fields, form)).toEqual({ patch: { maxTurns: 40, autoPush: true }, errors: {} });
    expect(dirtyKeys(fields, form)).toEqual(['maxTurns', 'autoPush']);
  });

  it('reports invalid edits instead of sending them', () => {
    const form = editField(initialForm(settings), 'maxTurns', '999');
    expect(buildPatch(fields, form)).toEqual({ patch: {}, errors: { maxTurns: 'Must be at most 200' } });
    expect(dirtyKeys(fields, form)).toEqual(['maxTurns']);
  });

  it('shows the edit when there is one and the server value otherwise', () => {
    const form = editField(initialForm(settings), 'maxTurns', '4');
    expect(displayValue(form, field('maxTurns'))).toBe('4');
    expect(displayValue(form, field('maxContinuations'))).toBe('5');
    expect(displayValue(form, field('autoPush'))).toBe(false);
    expect(displayValue(discardEdits(form), field('maxTurns'))).toBe('30');
  });

  it('after a save takes the server answer and drops the saved edits only', () => {
    let form = initialForm(settings);
    form = editField(form, 'maxTurns', '40');
    form = editField(form, 'maxContinuations', '7');
    form = applySaveResult(form, { ...settings, maxTurns: 40 }, ['maxTurns']);
    expect(form.server.maxTurns).toBe(40);
    expect(form.edits).toEqual({ maxContinuations: '7' });
  });
});

describe('mergeRemote', () => {
  const change = (changes: Record<string, { from: unknown; to: unknown }>, actor = 'external') => ({
    changes,
    actor,
    settings: { ...settings, ...Object.fromEntries(Object.entries(changes).map(([k, c]) => [k, c.to])) },
  });

  it('updates fields the user has not edited', () => {
    const result = mergeRemote(fields, initialForm(settings), change({ maxTurns: { from: 30, to: 40 } }));
    expect(result.applied).toEqual(['maxTurns']);
    expect(result.kept).toEqual([]);
    expect(displayValue(result.state, field('maxTurns'))).toBe('40');
  });

  it('keeps an edit of the same field and marks it as changed remotely', () => {
    const form = editField(initialForm(settings), 'maxTurns', '55');
    const result = mergeRemote(
      fields,
      form,
      change({ maxTurns: { from: 30, to: 40 }, model: { from: 'sonnet', to: 'opus' } }),
    );
    expect(result.kept).toEqual(['maxTurns']);
    expect(result.applied).toEqual(['model']);
    expect(displayValue(result.state, field('maxTurns'))).toBe('55');
    expect(displayValue(result.state, field('model'))).toBe('opus');
    expect(result.state.remote).toEqual({ maxTurns: { to: 40, actor: 'external' } });
    expect(result.state.server.maxTurns).toBe(40);
    expect(buildPatch(fields, result.state).patch).toEqual({ maxTurns: 55 });

    const reverted = revertField(result.state, 'maxTurns');
    expect(displayValue(reverted, field('maxTurns'))).toBe('40');
    expect(reverted.remote).toEqual({});
  });

  it('keeps an invalid edit too', () => {
    const form = editField(initialForm(settings), 'maxTurns', '999');
    const result = mergeRemote(fields, form, change({ maxTurns: { from: 30, to: 40 } }));
    expect(result.kept).toEqual(['maxTurns']);
    expect(displayValue(result.state, field('maxTurns'))).toBe('999');
  });

  it('settles an edit that already equals the new value', () => {
    const form = editField(initialForm(settings), 'maxTurns', '40');
    const result = mergeRemote(fields, form, change({ maxTurns: { from: 30, to: 40 } }));
    expect(result.applied).toEqual(['maxTurns']);
    expect(result.state.edits).toEqual({});
    expect(result.state.remote).toEqual({});
  });

  it('treats an edit typed back to the old value as no edit', () => {
    const form = editField(initialForm(settings), 'maxTurns', '30');
    const result = mergeRemote(fields, form, change({ maxTurns: { from: 30, to: 40 } }));
    expect(result.applied).toEqual(['maxTurns']);
    expect(displayValue(result.state, field('maxTurns'))).toBe('40');
  });

  it('works from `changes` alone when the event carries no settings snapshot', () => {
    const result = mergeRemote(fields, initialForm(settings), {
      changes: { maxTurns: { from: 30, to: 41 } },
      actor: 'x',
    });
    expect(result.state.server.maxTurns).toBe(41);
  });
});

describe('own writes', () => {
  it('recognises the echo of a write once, by its values', () => {
    const own = new OwnWrites(() => 0);
    own.expect({ maxTurns: 50, model: 'opus' });
    expect(own.isOwn({ maxTurns: { from: 30, to: 60 } })).toBe(false);
    expect(own.isOwn({ maxTurns: { from: 30, to: 50 }, model: { from: 'sonnet', to: 'opus' } })).toBe(true);
    expect(own.isOwn({ maxTurns: { from: 30, to: 50 }, model: { from: 'sonnet', to: 'opus' } })).toBe(false);
  });

  it('matches a write that changed only some of its fields', () => {
    const own = new OwnWrites(() => 0);
    own.expect({ maxTurns: 30, model: 'sonnet' }); // a reset where only maxTurns differed
    expect(own.isOwn({ maxTurns: { from: 40, to: 30 } })).toBe(true);
  });

  it('forgets writes after their time and when cancelled', () => {
    let now = 0;
    const own = new OwnWrites(() => now, 1000);
    own.expect({ maxTurns: 50 });
    now = 1001;
    expect(own.isOwn({ maxTurns: { from: 30, to: 50 } })).toBe(false);
    const echo = own.expect({ maxTurns: 51 });
    own.cancel(echo);
    expect(own.isOwn({ maxTurns: { from: 50, to: 51 } })).toBe(false);
  });

  it('takeOwnEcho ignores an empty change set', () => {
    expect(takeOwnEcho([{ values: { a: 1 }, expiresAt: 10 }], {}, 0).own).toBe(false);
  });
});

describe('fieldErrorsFrom', () => {
  it('puts each server issue next to its setting, by plain or dotted name', () => {
    const keys = fields.map((f) => f.key);
    expect(
      fieldErrorsFrom(
        [
          { field: 'maxTurns', message: 'Too big: expected number to be <=200' },
          { field: 'body.model', message: 'Invalid option' },
          { field: 'maxTurns', message: 'second' },
          { field: '(root)', message: 'unknown field' },
        ],
        keys,
      ),
    ).toEqual({
      byField: { maxTurns: 'Too big: expected number to be <=200; second', model: 'Invalid option' },
      other: ['(root): unknown field'],
    });
  });
});

describe('event data and words', () => {
  it('reads settings.changed and settings.rejected data defensively', () => {
    expect(
      parseSettingsChanged({ changes: { maxTurns: { from: 30, to: 40 }, junk: 3 }, actor: 'external' }),
    ).toEqual({ changes: { maxTurns: { from: 30, to: 40 } }, actor: 'external' });
    expect(parseSettingsChanged({ nope: true })).toBeUndefined();
    expect(
      parseSettingsRejected({
        field: 'maxTurns',
        value: 999,
        reason: 'too big',
        restored: 40,
        actor: 'external',
      }),
    ).toEqual({ field: 'maxTurns', value: 999, reason: 'too big', restored: 40, actor: 'external' });
    expect(parseSettingsRejected({ value: 1 })).toBeUndefined();
  });

  it('names changes and actors the way the toasts show them', () => {
    expect(formatChanges({ maxTurns: { from: 30, to: 40 }, model: { from: 'sonnet', to: 'opus' } })).toBe(
      'maxTurns 30 → 40, model sonnet → opus',
    );
    expect(formatActor('token:alice')).toBe('alice');
    expect(formatActor('external')).toBe('external');
  });
});
