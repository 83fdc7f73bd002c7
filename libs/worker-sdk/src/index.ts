export type { ClaimedTask, ErrorClass, TaskCost } from '@jousting/contracts';
export { type CoordinatorRequestOptions, requestCoordinator } from './coordinator-client.js';
export { TaskAbortedError, WorkerError } from './errors.js';
export {
  createWorker,
  type OutputStream,
  SDK_VERSION,
  type StopOptions,
  type TaskContext,
  type TaskHandler,
  type Worker,
  type WorkerOptions,
  type WorkerStats,
} from './worker.js';
