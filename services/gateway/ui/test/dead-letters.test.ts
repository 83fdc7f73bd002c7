import { describe, expect, it } from 'vitest';
import {
  buildRetryBody,
  checkDismissReason,
  concernsDeadLetterOf,
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterQuery,
  deadLetterQueryString,
  deadLettersPath,
  FIND_PAGES,
  findOpenDeadLetter,
  isDeadLetterEvent,
  parseTaskRetrying,
  retryingAfter,
  untilTime,
} from '../src/dead-letters';
import { matchRoute, PAGES } from '../src/routes';

const letter = (id: string, extra: Partial<DeadLetter> = {}): DeadLetter => ({
  id,
  taskId: id,
  kind: 'exec',
  title: `Task ${id}`,
  attempts: 1,
  lastError: { class: 'fatal', message: 'spawn nope ENOENT' },
  status: 'open',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

describe('dead letters: query', () => {
  it('sends status unless all, a trimmed kind, limit and a non-zero offset', () => {
    expect(deadLetterQueryString({ status: 'open' })).toBe('?status=open');
    expect(deadLetterQueryString({ status: 'all' })).toBe('');
    expect(deadLetterQueryString({ status: 'dismissed', kind: ' exec ', limit: 25, offset: 0 })).toBe(
      '?status=dismissed&kind=exec&limit=25',
    );
    expect(deadLetterQueryString({ status: 'all', kind: '  ', limit: 50, offset: 100 })).toBe(
      '?limit=50&offset=100',
    );
  });

  it('is a sidebar page right after Workers', () => {
    const shown = PAGES.filter((p) => !p.hidden).map((p) => p.path);
    expect(shown.indexOf('/dead-letters')).toBe(shown.indexOf('/workers') + 1);
    expect(matchRoute('/dead-letters')?.page.title).toBe('Dead letters');
    expect(deadLettersPath('a b')).toBe('/dead-letters?task=a%20b');
    expect(deadLettersPath()).toBe('/dead-letters');
  });
});

describe('dead letters: forms', () => {
  it('keeps priority and labels when both are empty', () => {
    expect(buildRetryBody({ priority: ' ', labels: '' })).toEqual({ ok: true, value: {} });
  });

  it('reads a priority and comma or space separated labels, without repeats', () => {
    expect(buildRetryBody({ priority: '-5', labels: 'gpu, region=eu gpu' })).toEqual({
      ok: true,
      value: { priority: -5, labels: ['gpu', 'region=eu'] },
    });
  });

  it('refuses a bad priority and a bad label by field', () => {
    const result = buildRetryBody({ priority: '1.5', labels: 'ok -bad' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.priority).toMatch(/whole number/);
    expect(result.errors.labels).toContain('-bad');
    const big = buildRetryBody({ priority: '1001', labels: '' });
    expect(big.ok ? undefined : big.errors.priority).toMatch(/-1000 and 1000/);
    const many = buildRetryBody({
      priority: '',
      labels: Array.from({ length: 33 }, (_, i) => `l${i}`).join(','),
    });
    expect(many.ok ? undefined : many.errors.labels).toMatch(/32/);
  });

  it('needs a dismiss reason of at most 500 characters', () => {
    expect(checkDismissReason('  not ours  ')).toEqual({ ok: true, value: 'not ours' });
    expect(checkDismissReason('   ').ok).toBe(false);
    expect(checkDismissReason('x'.repeat(501)).ok).toBe(false);
  });
});

describe('dead letters: events and retrying tasks', () => {
  it('knows the events that change the list', () => {
    expect(isDeadLetterEvent('coord.dead-lettered')).toBe(true);
    expect(isDeadLetterEvent('coord.dead-letter-retried')).toBe(true);
    expect(isDeadLetterEvent('coord.dead-letter-dismissed')).toBe(true);
    expect(isDeadLetterEvent('coord.task-retrying')).toBe(false);
  });

  it('tells which dead-letter events are about a task', () => {
    expect(
      concernsDeadLetterOf({ type: 'coord.dead-lettered', data: { deadLetter: letter('t1') } }, 't1'),
    ).toBe(true);
    expect(
      concernsDeadLetterOf({ type: 'coord.dead-lettered', data: { deadLetter: letter('t2') } }, 't1'),
    ).toBe(false);
    expect(concernsDeadLetterOf({ type: 'coord.dead-letter-retried', data: { id: 't1' } }, 't1')).toBe(true);
    expect(concernsDeadLetterOf({ type: 'coord.task-updated', data: { id: 't1' } }, 't1')).toBe(false);
  });

  it('sees a queued task with a "retrying after:" reason as waiting to retry', () => {
    expect(retryingAfter({ status: 'queued', statusReason: 'retrying after: exit code 3' })).toBe(
      'exit code 3',
    );
    expect(retryingAfter({ status: 'queued' })).toBeUndefined();
    expect(retryingAfter({ status: 'failed', statusReason: 'retrying after: x' })).toBeUndefined();
    expect(retryingAfter({ status: 'queued', statusReason: 'ready' })).toBeUndefined();
  });

  it('parses coord.task-retrying and drops anything else', () => {
    const data = {
      id: 't1',
      attempt: 2,
      errorClass: 'transient',
      message: 'exit 3',
      retryAt: '2026-01-01T00:00:10.000Z',
      retriesLeft: 1,
    };
    expect(parseTaskRetrying({ type: 'coord.task-retrying', data })).toEqual(data);
    expect(parseTaskRetrying({ type: 'coord.task-updated', data })).toBeUndefined();
    expect(parseTaskRetrying({ type: 'coord.task-retrying', data: { id: 't1' } })).toBeUndefined();
  });

  it('says how long until a retry', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z');
    expect(untilTime('2026-01-01T00:00:12.000Z', now)).toBe('in 12 s');
    expect(untilTime('2026-01-01T00:02:30.000Z', now)).toBe('in 3 min');
    expect(untilTime('2025-12-31T23:59:00.000Z', now)).toBe('now');
    expect(untilTime('2026-01-01T01:05:00.000Z', now)).toBe('in 1 h 5 min');
  });
});

describe('dead letters: finding a task’s open dead letter', () => {
  const pages = (all: DeadLetter[]) => {
    const asked: DeadLetterQuery[] = [];
    const list = async (q: DeadLetterQuery): Promise<DeadLetterPage> => {
      asked.push(q);
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 50;
      const items = all.slice(offset, offset + limit);
      return { items, total: all.length, limit, offset, hasMore: offset + items.length < all.length };
    };
    return { asked, list };
  };

  it('reads open letters of the kind page by page until it finds the task', async () => {
    const all = Array.from({ length: 250 }, (_, i) => letter(`t${i}`));
    const { asked, list } = pages(all);
    expect((await findOpenDeadLetter(list, 't230', 'exec'))?.id).toBe('t230');
    expect(asked.map((q) => q.offset)).toEqual([0, 100, 200]);
    expect(asked[0]).toMatchObject({ status: 'open', kind: 'exec', limit: 100 });
  });

  it('gives up at the end or after FIND_PAGES pages', async () => {
    const few = pages([letter('a')]);
    expect(await findOpenDeadLetter(few.list, 'b', 'exec')).toBeUndefined();
    expect(few.asked).toHaveLength(1);
    const lots = pages(Array.from({ length: 1000 }, (_, i) => letter(`t${i}`)));
    expect(await findOpenDeadLetter(lots.list, 'missing', 'exec')).toBeUndefined();
    expect(lots.asked).toHaveLength(FIND_PAGES);
  });
});
