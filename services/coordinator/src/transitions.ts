import { canTransition, JoustingError, type TaskStatus } from '@jousting/contracts';

/**
 * The one check of the transition table (TASK_TRANSITIONS in contracts). Commands call it while
 * validating, so a refused command changes nothing; `TaskTable.apply` calls it again on every
 * status op, so not even a bug or a bad journal can make a task regress.
 */
export function checkTransition(task: { id: string; status: TaskStatus }, to: TaskStatus): void {
  if (!canTransition(task.status, to)) {
    throw new JoustingError(
      'conflict',
      `task ${task.id} is ${task.status}; ${task.status} → ${to} is not allowed`,
      { id: task.id, from: task.status, to },
    );
  }
}
