import type { BulkResult, BulkSelection } from '@jousting/contracts';
import type { TaskQuery } from './api';
import type { BulkAction } from './coord-api';
import type { FormResult } from './dead-letters';

/**
 * Bulk actions on the task pages without React: the selection (ids picked by hand, or the list's
 * current filter), the request body, and what to say about the answer.
 */

export const MAX_BULK_IDS = 10_000;
export const MAX_BULK_REASON = 500;

/** `id` added to or taken from the selection; a new set, so React sees the change. */
export function toggleId(selected: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selected);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** All of `ids` selected (when not all are) or all of them unselected (when all are). */
export function toggleAll(selected: ReadonlySet<string>, ids: readonly string[]): Set<string> {
  const next = new Set(selected);
  const allOn = ids.length > 0 && ids.every((id) => next.has(id));
  for (const id of ids) {
    if (allOn) next.delete(id);
    else next.add(id);
  }
  return next;
}

/** Whether every one of `ids` is selected, some are, or none. */
export function selectionState(
  selected: ReadonlySet<string>,
  ids: readonly string[],
): 'all' | 'some' | 'none' {
  const on = ids.filter((id) => selected.has(id)).length;
  return on === 0 ? 'none' : on === ids.length ? 'all' : 'some';
}

/** The list's query as a bulk filter: its non-empty parts, without paging. */
export function filterOfQuery(query: TaskQuery): NonNullable<BulkSelection['filter']> {
  const filter: NonNullable<BulkSelection['filter']> = {};
  if (query.status && query.status.length > 0) filter.status = [...query.status];
  for (const key of ['label', 'kind', 'q'] as const) {
    const value = query[key]?.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

/** "status queued or pending, label gpu", or "every task" for an empty filter. */
export function describeFilter(filter: NonNullable<BulkSelection['filter']>): string {
  const parts: string[] = [];
  if (filter.status?.length) parts.push(`status ${filter.status.join(' or ')}`);
  if (filter.label) parts.push(`label ${filter.label}`);
  if (filter.kind) parts.push(`kind ${filter.kind}`);
  if (filter.q) parts.push(`text "${filter.q}"`);
  return parts.length > 0 ? parts.join(', ') : 'every task';
}

export interface BulkDraft {
  /** For reprioritize: as typed. */
  priority: string;
  /** For cancel: optional. */
  reason: string;
}

export interface BulkRequest {
  action: BulkAction;
  selection: BulkSelection;
  extra: { priority?: number; reason?: string };
}

/** The request for `action` on `selection`, or what is wrong, by field (`priority`, `reason`, `selection`). */
export function buildBulkRequest(
  action: BulkAction,
  selection: { ids: readonly string[] } | { filter: NonNullable<BulkSelection['filter']> },
  draft: BulkDraft,
): FormResult<BulkRequest> {
  const errors: Record<string, string> = {};
  const extra: BulkRequest['extra'] = {};
  let body: BulkSelection;
  if ('ids' in selection) {
    const ids = [...new Set(selection.ids)];
    if (ids.length === 0) errors.selection = 'Select at least one task';
    else if (ids.length > MAX_BULK_IDS) errors.selection = `At most ${MAX_BULK_IDS} tasks at once`;
    body = { ids };
  } else {
    body = { filter: selection.filter };
  }
  if (action === 'reprioritize') {
    const raw = draft.priority.trim();
    const n = Number(raw);
    if (raw === '') errors.priority = 'A priority from -1000 to 1000';
    else if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) errors.priority = 'A whole number';
    else if (n < -1000 || n > 1000) errors.priority = 'Between -1000 and 1000';
    else extra.priority = n;
  }
  if (action === 'cancel') {
    const reason = draft.reason.trim();
    if (reason.length > MAX_BULK_REASON) errors.reason = `At most ${MAX_BULK_REASON} characters`;
    else if (reason !== '') extra.reason = reason;
  }
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, value: { action, selection: body, extra } };
}

const VERBS: Record<BulkAction, string> = {
  cancel: 'Canceled',
  retry: 'Retried',
  reprioritize: 'Reprioritized',
};

export interface BulkSummary {
  tone: 'ok' | 'warn' | 'bad';
  title: string;
  refused: BulkResult['refused'];
}

/** "Canceled 3 of 5 tasks; 2 refused" and the refused ones with their reasons. */
export function summarizeBulkResult(action: BulkAction, result: BulkResult): BulkSummary {
  const done = result.done.length;
  const refused = result.refused.length;
  const of = result.matched === 1 ? '1 task' : `${result.matched} tasks`;
  const title =
    result.matched === 0
      ? 'No task matched'
      : `${VERBS[action]} ${done} of ${of}${refused > 0 ? `; ${refused} refused` : ''}`;
  return {
    tone: refused === 0 && result.matched > 0 ? 'ok' : done > 0 ? 'warn' : 'bad',
    title,
    refused: result.refused,
  };
}

/** The selection after an action: the refused ones stay selected to act on again, the rest go. */
export function afterBulk(selected: ReadonlySet<string>, result: BulkResult): Set<string> {
  const refused = new Set(result.refused.map((r) => r.id));
  return new Set([...selected].filter((id) => refused.has(id)));
}
