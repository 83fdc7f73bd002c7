import type { TaskStatus } from '@jousting/contracts';

// The contract keeps these next to its zod schemas; the UI may import only types from it (no zod in
// the bundle), so the lists are repeated here and typed against the contract's TaskStatus.

/** Every status, in lifecycle order: the board's columns left to right. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'queued',
  'assigned',
  'running',
  'complete',
  'failed',
  'canceled',
  'blocked',
];

export const FINAL_STATUSES: readonly TaskStatus[] = ['complete', 'failed', 'canceled'];
/** A task's definition and dependencies may change only in these. */
export const NOT_STARTED_STATUSES: readonly TaskStatus[] = ['pending', 'queued', 'assigned', 'blocked'];
/** A worker holds the task. */
export const HELD_STATUSES: readonly TaskStatus[] = ['assigned', 'running'];

export const STATUS_TITLES: Record<TaskStatus, string> = {
  pending: 'Pending',
  queued: 'Queued',
  assigned: 'Assigned',
  running: 'Running',
  complete: 'Complete',
  failed: 'Failed',
  canceled: 'Canceled',
  blocked: 'Blocked',
};

export const STATUS_HELP: Record<TaskStatus, string> = {
  pending: 'Waits for its dependencies',
  queued: 'Ready; waits for a worker',
  assigned: 'Claimed by a worker that has not started it',
  running: 'Being worked on',
  complete: 'Finished successfully',
  failed: 'Finished with an error; can be retried',
  canceled: 'Canceled; can be retried',
  blocked: 'Needs an operator',
};

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

export const isFinal = (status: TaskStatus) => FINAL_STATUSES.includes(status);
export const isNotStarted = (status: TaskStatus) => NOT_STARTED_STATUSES.includes(status);
/** Retry starts a new attempt of a failed or canceled task. */
export const canRetry = (status: TaskStatus) => status === 'failed' || status === 'canceled';
export const canCancel = (status: TaskStatus) => !isFinal(status);
