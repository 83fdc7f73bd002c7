import type { TaskStatus } from '@jousting/contracts';
import { STATUS_HELP, STATUS_TITLES } from '../task-status';

/** A task's status as a coloured pill; the reason, when there is one, in the tooltip. */
export function StatusBadge({
  status,
  reason,
  testId,
}: {
  status: TaskStatus;
  reason?: string | undefined;
  testId?: string;
}) {
  return (
    <span
      className={`status status-${status}`}
      title={reason ? `${STATUS_HELP[status]} — ${reason}` : STATUS_HELP[status]}
      data-status={status}
      data-testid={testId}
    >
      <span className="status-dot" aria-hidden="true" />
      {STATUS_TITLES[status]}
    </span>
  );
}
