import { describe, expect, it } from 'vitest';
import {
  afterBulk,
  buildBulkRequest,
  describeFilter,
  filterOfQuery,
  selectionState,
  summarizeBulkResult,
  toggleAll,
  toggleId,
} from '../src/bulk-selection';

describe('bulk selection', () => {
  it('toggles one id and a whole page without touching the others', () => {
    const one = toggleId(new Set(['x']), 'a');
    expect([...one]).toEqual(['x', 'a']);
    expect([...toggleId(one, 'a')]).toEqual(['x']);
    const page = ['a', 'b'];
    const some = toggleAll(new Set(['x', 'a']), page);
    expect([...some].sort()).toEqual(['a', 'b', 'x']);
    expect(selectionState(some, page)).toBe('all');
    expect([...toggleAll(some, page)]).toEqual(['x']);
    expect(selectionState(new Set(['a']), page)).toBe('some');
    expect(selectionState(new Set(), [])).toBe('none');
  });

  it('turns the list query into a filter without paging or blanks', () => {
    const filter = filterOfQuery({
      status: ['queued', 'pending'],
      label: ' gpu ',
      kind: '',
      q: 'nightly',
      limit: 50,
      offset: 100,
    });
    expect(filter).toEqual({ status: ['queued', 'pending'], label: 'gpu', q: 'nightly' });
    expect(describeFilter(filter)).toBe('status queued or pending, label gpu, text "nightly"');
    expect(describeFilter(filterOfQuery({ status: [] }))).toBe('every task');
  });

  it('builds each action’s request and names what is wrong', () => {
    expect(buildBulkRequest('cancel', { ids: ['a', 'a', 'b'] }, { priority: '', reason: ' done ' })).toEqual({
      ok: true,
      value: { action: 'cancel', selection: { ids: ['a', 'b'] }, extra: { reason: 'done' } },
    });
    expect(
      buildBulkRequest('reprioritize', { filter: { kind: 'exec' } }, { priority: '-5', reason: 'x' }),
    ).toEqual({
      ok: true,
      value: { action: 'reprioritize', selection: { filter: { kind: 'exec' } }, extra: { priority: -5 } },
    });
    expect(buildBulkRequest('reprioritize', { ids: [] }, { priority: '2000', reason: '' })).toEqual({
      ok: false,
      errors: { selection: 'Select at least one task', priority: 'Between -1000 and 1000' },
    });
    expect(buildBulkRequest('reprioritize', { ids: ['a'] }, { priority: '', reason: '' })).toMatchObject({
      ok: false,
      errors: { priority: 'A priority from -1000 to 1000' },
    });
    expect(buildBulkRequest('retry', { ids: ['a'] }, { priority: 'x', reason: 'y' })).toEqual({
      ok: true,
      value: { action: 'retry', selection: { ids: ['a'] }, extra: {} },
    });
  });

  it('summarizes the answer and keeps the refused ones selected', () => {
    const result = {
      done: ['a'],
      refused: [{ id: 'b', code: 'conflict', message: 'b is complete' }],
      matched: 2,
    };
    expect(summarizeBulkResult('cancel', result)).toEqual({
      tone: 'warn',
      title: 'Canceled 1 of 2 tasks; 1 refused',
      refused: result.refused,
    });
    expect(summarizeBulkResult('retry', { done: ['a'], refused: [], matched: 1 })).toMatchObject({
      tone: 'ok',
      title: 'Retried 1 of 1 task',
    });
    expect(summarizeBulkResult('reprioritize', { done: [], refused: [], matched: 0 })).toMatchObject({
      tone: 'bad',
      title: 'No task matched',
    });
    expect([...afterBulk(new Set(['a', 'b', 'c']), result)]).toEqual(['b']);
  });
});
