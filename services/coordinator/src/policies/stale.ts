export interface RunningTask {
  id: string;
  /** Last heartbeat or progress report, ms since the epoch. */
  lastActivityAt: number;
}

/**
 * Ids of running tasks with no heartbeat or progress for `staleMs` or longer, in input order.
 * `staleMs` 0 (staleTaskMinutes 0) turns the check off.
 */
export function findStale(running: Iterable<RunningTask>, staleMs: number, now: number): string[] {
  if (!(staleMs > 0)) return [];
  const stale: string[] = [];
  for (const task of running) {
    if (now - task.lastActivityAt >= staleMs) stale.push(task.id);
  }
  return stale;
}
