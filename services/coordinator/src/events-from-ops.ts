import type { EventData, EventType } from '@jousting/contracts';
import type { Op } from './ops.js';

/** Every event type a journal op can announce (the subjects searched for the newest one at start). */
export const JOURNAL_EVENT_TYPES = [
  'coord.task-created',
  'coord.task-updated',
  'coord.dep-added',
  'coord.dep-removed',
  'coord.all-complete',
  'coord.task-retrying',
  'coord.dead-lettered',
  'coord.dead-letter-retried',
  'coord.dead-letter-dismissed',
] as const satisfies readonly EventType[];
export type JournalEventType = (typeof JOURNAL_EVENT_TYPES)[number];

/** Where in the journal an event comes from: its message sequence and op index. */
export interface JournalPosition {
  seq: number;
  index: number;
}

export interface DerivedEvent {
  type: JournalEventType;
  data: EventData<EventType>;
  /** The task the event is about (CloudEvent `subject`), if any. */
  subject?: string;
  time: string;
}

let lastAt = Number.NaN;
let lastTime = '';
/** Ops of one batch mostly share their millisecond: remember the last conversion. */
export function isoTime(at: number): string {
  if (at !== lastAt) {
    lastAt = at;
    lastTime = new Date(at).toISOString();
  }
  return lastTime;
}

/** The CloudEvent id of the event of op `index` in the journal message `seq`: the same on every re-send. */
export const eventId = (seq: number, index: number) => `coord-${seq}-${index}`;

/**
 * The event a committed journal op announces (at most one per op). Pure: the same op gives the
 * same event, which is what lets the coordinator re-send events after a crash with the same id.
 */
export function eventFromOp(op: Op): DerivedEvent | undefined {
  const time = isoTime(op.at);
  switch (op.o) {
    case 'new':
      return {
        type: 'coord.task-created',
        subject: op.id,
        time,
        data: {
          task: {
            id: op.id,
            title: op.title,
            kind: op.kind,
            priority: op.prio,
            labels: op.labels ?? [],
            deps: op.deps ?? [],
            status: op.status,
            ...(op.reason === undefined ? {} : { statusReason: op.reason }),
            createdAt: time,
            updatedAt: time,
            attemptCount: 0,
          },
        },
      };
    case 'st': {
      // Built field by field, not with spreads: this runs for every status change.
      const data: EventData<'coord.task-updated'> = { id: op.id, from: op.from, to: op.to };
      if (op.reason !== undefined) data.reason = op.reason;
      if (op.w !== undefined) data.workerId = op.w;
      if (op.a !== undefined) data.attempt = op.a;
      return { type: 'coord.task-updated', subject: op.id, time, data };
    }
    case 'edit':
      return {
        type: 'coord.task-updated',
        subject: op.id,
        time,
        data: { id: op.id, from: op.s, to: op.s, changed: Object.keys(op.set) },
      };
    case 'why':
      return {
        type: 'coord.task-updated',
        subject: op.id,
        time,
        data: {
          id: op.id,
          from: op.s,
          to: op.s,
          ...(op.reason === undefined ? {} : { reason: op.reason }),
          changed: ['statusReason'],
        },
      };
    case 'dep+':
      return { type: 'coord.dep-added', subject: op.id, time, data: { id: op.id, depId: op.dep } };
    case 'dep-':
      return { type: 'coord.dep-removed', subject: op.id, time, data: { id: op.id, depId: op.dep } };
    case 'all':
      return {
        type: 'coord.all-complete',
        time,
        data: { total: op.total, complete: op.complete, failed: op.failed, canceled: op.canceled },
      };
    case 'wait':
      return {
        type: 'coord.task-retrying',
        subject: op.id,
        time,
        data: {
          id: op.id,
          attempt: op.a,
          errorClass: op.err.class,
          message: op.err.message,
          retryAt: new Date(op.until).toISOString(),
          retriesLeft: op.left,
        },
      };
    case 'dl':
      return {
        type: 'coord.dead-lettered',
        subject: op.id,
        time,
        data: {
          deadLetter: {
            id: op.id,
            taskId: op.id,
            kind: op.kind,
            title: op.title,
            attempts: op.attempts,
            lastError: { ...op.err },
            status: 'open',
            createdAt: time,
            updatedAt: time,
          },
        },
      };
    case 'dl~':
      return {
        type: 'coord.dead-letter-dismissed',
        subject: op.id,
        time,
        data: { id: op.id, reason: op.reason, actor: op.actor },
      };
    case 'dl-':
      return {
        type: 'coord.dead-letter-retried',
        subject: op.id,
        time,
        data: { id: op.id, actor: op.actor },
      };
    case 'idem':
      return undefined;
  }
}
