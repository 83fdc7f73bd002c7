import type { AttemptOutcome, ErrorClass, TaskCost, TaskStatus } from '@jousting/contracts';
import type { z } from 'zod';

/**
 * Journal operations: every change of the task table is one of these, applied by
 * `TaskTable.apply` both live and on replay, so the replayed state is the state that was
 * acknowledged. Keys are short because the journal carries tens of thousands per second.
 * Each op yields at most one event (see events-from-ops.ts).
 */
export type Op =
  | NewTaskOp
  | StatusOp
  | EditOp
  | ReasonOp
  | DepOp
  | IdempotencyOp
  | AllCompleteOp
  | RetryWaitOp
  | DeadLetterOp
  | DeadLetterDismissOp
  | DeadLetterRemoveOp;

/** A task was created. */
export interface NewTaskOp {
  o: 'new';
  at: number;
  id: string;
  title: string;
  desc?: string;
  kind: string;
  payload: Record<string, unknown>;
  prio: number;
  labels?: string[];
  deps?: string[];
  trace: string;
  source: string;
  status: 'pending' | 'queued';
  reason?: string;
}

/** A status change; the attempt fields say what happens to the current attempt. */
export interface StatusOp {
  o: 'st';
  at: number;
  id: string;
  from: TaskStatus;
  to: TaskStatus;
  reason?: string;
  /** queued → assigned: the worker of the new attempt. */
  w?: string;
  /** The attempt number concerned (new on assign, current otherwise). */
  a?: number;
  /** Outcome recorded on the current attempt when it ends (lost, released, canceled…). */
  out?: z.infer<typeof AttemptOutcome>;
  res?: unknown;
  cost?: TaskCost;
  err?: { class: ErrorClass; message: string };
  /** An operator retry: clears result and error. */
  retry?: 1;
}

export type EditableField = 'title' | 'description' | 'priority' | 'payload' | 'labels';

/** Fields of a task that has not started were edited. `s` is its (unchanged) status. */
export interface EditOp {
  o: 'edit';
  at: number;
  id: string;
  s: TaskStatus;
  set: {
    title?: string;
    description?: string;
    priority?: number;
    payload?: Record<string, unknown>;
    labels?: string[];
  };
}

/** The status reason changed without a status change (e.g. a dependency failed). */
export interface ReasonOp {
  o: 'why';
  at: number;
  id: string;
  s: TaskStatus;
  reason?: string;
}

export interface DepOp {
  o: 'dep+' | 'dep-';
  at: number;
  id: string;
  dep: string;
}

/** An idempotency key was used for these task ids. */
export interface IdempotencyOp {
  o: 'idem';
  at: number;
  key: string;
  ids: string[];
}

/** No task is left to run. */
export interface AllCompleteOp {
  o: 'all';
  at: number;
  total: number;
  complete: number;
  failed: number;
  canceled: number;
}

/** A failed attempt will be retried: the queued task is not handed out before `until`. */
export interface RetryWaitOp {
  o: 'wait';
  at: number;
  id: string;
  /** The attempt that failed. */
  a: number;
  until: number;
  err: { class: ErrorClass; message: string };
  left: number;
}

/** A task failed for good: its dead letter is recorded (replacing an older one of the task). */
export interface DeadLetterOp {
  o: 'dl';
  at: number;
  id: string;
  kind: string;
  title: string;
  attempts: number;
  err: { class: ErrorClass; message: string };
}

/** An operator dismissed a dead letter. */
export interface DeadLetterDismissOp {
  o: 'dl~';
  at: number;
  id: string;
  reason: string;
  actor: string;
}

/** The task of a dead letter was retried: the dead letter is removed. */
export interface DeadLetterRemoveOp {
  o: 'dl-';
  at: number;
  id: string;
  actor: string;
}
