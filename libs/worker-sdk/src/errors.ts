import type { ErrorClass } from '@jousting/contracts';

/**
 * Throw it from a handler to fail the attempt with an error class: `transient` (worth another
 * attempt), `fatal` (retrying will not help) or `limit` (a quota or budget ran out). Any other
 * thrown error counts as `transient`.
 */
export class WorkerError extends Error {
  readonly errorClass: ErrorClass;

  constructor(message: string, errorClass: ErrorClass = 'transient', options?: ErrorOptions) {
    super(message, options);
    this.name = 'WorkerError';
    this.errorClass = errorClass;
  }
}

/** The reason of `ctx.signal` once an attempt is aborted: by the coordinator, a refused report or stop(). */
export class TaskAbortedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TaskAbortedError';
  }
}
