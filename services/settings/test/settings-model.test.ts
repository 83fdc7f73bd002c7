import { DEFAULT_SETTINGS } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { diffSettings, judgeExternalWrite, resetPatch } from '../src/settings-model.js';

describe('diffSettings', () => {
  it('lists only fields whose value really changes', () => {
    const changes = diffSettings(DEFAULT_SETTINGS, { maxTurns: 40, model: 'sonnet', autoPush: false });
    expect(changes).toEqual({ maxTurns: { from: 30, to: 40 } });
  });

  it('returns nothing for an empty patch', () => {
    expect(diffSettings(DEFAULT_SETTINGS, {})).toEqual({});
  });
});

describe('resetPatch', () => {
  it('resets only the named keys', () => {
    expect(resetPatch(['maxTurns', 'model'])).toEqual({ maxTurns: 30, model: 'sonnet' });
  });

  it('resets every setting when none is named', () => {
    expect(resetPatch()).toEqual(DEFAULT_SETTINGS);
  });
});

describe('judgeExternalWrite', () => {
  it('accepts a valid new value', () => {
    expect(judgeExternalWrite('maxTurns', DEFAULT_SETTINGS, '50')).toEqual({ kind: 'changed', value: 50 });
  });

  it('ignores a write of the current value', () => {
    expect(judgeExternalWrite('model', DEFAULT_SETTINGS, '"sonnet"')).toEqual({ kind: 'unchanged' });
  });

  it('rejects an out-of-range value with the reason', () => {
    const verdict = judgeExternalWrite('maxTurns', DEFAULT_SETTINGS, '500');
    expect(verdict.kind).toBe('rejected');
    expect(verdict.kind === 'rejected' && verdict.reason).toMatch(/200/);
  });

  it('rejects a value of the wrong type and text that is not JSON', () => {
    expect(judgeExternalWrite('autoPush', DEFAULT_SETTINGS, '"yes"').kind).toBe('rejected');
    expect(judgeExternalWrite('model', DEFAULT_SETTINGS, 'opus')).toEqual({
      kind: 'rejected',
      value: 'opus',
      reason: 'not valid JSON',
    });
  });

  it('reports a deleted key', () => {
    expect(judgeExternalWrite('maxTurns', DEFAULT_SETTINGS, null)).toEqual({ kind: 'deleted' });
  });
});
