import type { TaskSummary } from '@jousting/contracts';
import { memo } from 'react';
import { Link } from '../router';
import { taskPath } from '../routes';
import { isFinal } from '../task-status';

/** One task on the board; re-renders only when its summary object changes. */
export const TaskCard = memo(function TaskCard({
  task,
  dependents,
}: {
  task: TaskSummary;
  dependents: number;
}) {
  const showReason = task.statusReason && (isFinal(task.status) || task.status === 'blocked');
  return (
    <Link
      to={taskPath(task.id)}
      className={`task-card card-${task.status}`}
      data-testid={`task-card-${task.id}`}
      data-status={task.status}
    >
      <span className="task-card-title">{task.title}</span>
      <span className="task-card-meta">
        <span className="mono task-card-id" title={task.id}>
          {task.id}
        </span>
        <span className="kind">{task.kind}</span>
        {task.priority !== 0 && (
          <span className={`prio ${task.priority > 0 ? 'prio-high' : 'prio-low'}`} title="Priority">
            {task.priority > 0 ? `↑${task.priority}` : `↓${-task.priority}`}
          </span>
        )}
      </span>
      {task.labels.length > 0 && (
        <span className="task-card-labels">
          {task.labels.map((l) => (
            <span key={l} className="label-chip">
              {l}
            </span>
          ))}
        </span>
      )}
      {showReason && <span className="task-card-reason">{task.statusReason}</span>}
      <span className="task-card-foot">
        <span title="Tasks it waits for" data-testid="card-deps">
          ⇠ {task.deps.length} dep{task.deps.length === 1 ? '' : 's'}
        </span>
        {dependents > 0 && <span title="Tasks waiting for it">⇢ {dependents}</span>}
        {task.workerId && (
          <span className="task-card-worker" title="Worker">
            ⚙ {task.workerId}
          </span>
        )}
        {task.attemptCount > 1 && <span title="Attempts">#{task.attemptCount}</span>}
      </span>
    </Link>
  );
});
