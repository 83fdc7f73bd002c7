import type { Progress } from '@jousting/contracts';
import { STATUS_TITLES, TASK_STATUSES } from '../task-status';

/** Progress of all tasks: one bar segment per status, and the share complete. */
export function ProgressBar({ progress, testId = 'progress' }: { progress: Progress; testId?: string }) {
  const { total, byStatus, percentDone } = progress;
  const parts = TASK_STATUSES.filter((s) => (byStatus[s] ?? 0) > 0);
  return (
    <div className="progress" data-testid={testId} data-total={total} data-percent={Math.round(percentDone)}>
      <div
        className="progress-bar"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(percentDone)}
        aria-label="Tasks complete"
      >
        {total > 0 &&
          parts.map((s) => (
            <span
              key={s}
              className={`progress-part bg-${s}`}
              style={{ width: `${((byStatus[s] ?? 0) / total) * 100}%` }}
              title={`${STATUS_TITLES[s]}: ${byStatus[s]}`}
            />
          ))}
      </div>
      <div className="progress-legend">
        <strong data-testid={`${testId}-percent`}>
          {total === 0 ? '0' : percentDone.toFixed(percentDone % 1 === 0 ? 0 : 1)}%
        </strong>
        <span className="muted">
          {' '}
          of {total} task{total === 1 ? '' : 's'} complete
        </span>
        {parts
          .filter((s) => s !== 'complete')
          .map((s) => (
            <span key={s} className="progress-key">
              <span className={`legend-dot bg-${s}`} aria-hidden="true" />
              {byStatus[s]} {STATUS_TITLES[s].toLowerCase()}
            </span>
          ))}
      </div>
    </div>
  );
}
