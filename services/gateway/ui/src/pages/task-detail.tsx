import type { TaskDetail, TaskSummary } from '@jousting/contracts';
import {
  type FormEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';
import { ApiError, errorText } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { SvgIcon } from '../components/icons';
import { ReadOnlyNotice } from '../components/role-notice';
import { StatusBadge } from '../components/status-badge';
import { TaskFormFields } from '../components/task-form-fields';
import { TaskPicker } from '../components/task-picker';
import { useApp, useCanWrite, useLiveEvents, useTasks } from '../context';
import { coordApi } from '../coord-api';
import { type CoordEvent, type OutputLine, parseCoordEvent } from '../coord-events';
import {
  concernsDeadLetterOf,
  type DeadLetter,
  deadLettersPath,
  findOpenDeadLetter,
  parseTaskRetrying,
  retryingAfter,
  type TaskRetrying,
  untilTime,
} from '../dead-letters';
import { Link } from '../router';
import type { RouteParams } from '../routes';
import { taskPath } from '../routes';
import { applyToDetail, durationBetween, formatCost, formatTime, withFreshRead } from '../task-detail';
import {
  buildTaskPatch,
  commandLine,
  draftFromTask,
  type FieldErrors,
  serverFieldErrors,
  type TaskDraft,
} from '../task-form';
import { refusedCycle } from '../task-graph';
import { canCancel, canRetry, isNotStarted, STATUS_TITLES } from '../task-status';
import { systemClock, Throttle } from '../throttle';

type Load =
  | { state: 'loading' }
  | { state: 'missing' }
  | { state: 'failed'; message: string }
  | { state: 'ready' };

/** One task: every field, attempts, live output, dependencies and the actions on it. */
export function TaskDetailPage({ params }: { params: RouteParams }) {
  const id = params.id ?? '';
  const { api, live, notices, tasks } = useApp();
  const canWrite = useCanWrite();
  // Every task, live: gives the titles and statuses of dependencies and dependents.
  const known = useTasks().tasks;
  const [detail, setDetailState] = useState<TaskDetail | undefined>();
  const detailRef = useRef<TaskDetail | undefined>(undefined);
  const setDetail = useCallback((next: TaskDetail | undefined) => {
    detailRef.current = next;
    setDetailState(next);
  }, []);
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [editing, setEditing] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [cancelReason, setCancelReason] = useState('');
  const [cancelResult, setCancelResult] = useState<{ id: string; reason: string }[] | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [actionError, setActionError] = useState<string | undefined>();
  const [cycle, setCycle] = useState<string | undefined>();
  // The newest coord.task-retrying of this task (for its retry time) and its open dead letter.
  const [retryEvent, setRetryEvent] = useState<TaskRetrying | undefined>();
  const [deadLetter, setDeadLetter] = useState<DeadLetter | undefined>();
  const [deadLetterAsk, setDeadLetterAsk] = useState(0);
  // Applies the events that came since the last batch; set below, read by the read and the throttle.
  const flushRef = useRef(() => {});

  const read = useCallback(async () => {
    try {
      const fresh = await api.getTask(id);
      // Events that came during the read are applied on top of it.
      setDetail(withFreshRead(detailRef.current, fresh));
      setLoad({ state: 'ready' });
      flushRef.current();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setLoad({ state: 'missing' });
      else if (!detailRef.current) setLoad({ state: 'failed', message: errorText(err) });
    }
  }, [api, id, setDetail]);

  useEffect(() => {
    setDetail(undefined);
    setLoad({ state: 'loading' });
    setEditing(false);
    setCancelResult(undefined);
    setActionError(undefined);
    setCycle(undefined);
    setRetryEvent(undefined);
    setDeadLetter(undefined);
    void read();
  }, [read, setDetail]);

  // A failed task may have an open dead letter: look for it (again after dead-letter events).
  const failedKind = detail?.status === 'failed' ? detail.kind : undefined;
  useEffect(() => {
    void deadLetterAsk;
    if (failedKind === undefined) {
      setDeadLetter(undefined);
      return;
    }
    let current = true;
    findOpenDeadLetter((q) => api.listDeadLetters(q), id, failedKind).then(
      (found) => current && setDeadLetter(found),
      () => current && setDeadLetter(undefined),
    );
    return () => {
      current = false;
    };
  }, [api, id, failedKind, deadLetterAsk]);

  // Live: events are applied in batches (at most every 100 ms); status changes also re-read the
  // task (a little later, so a burst is one read) for its attempts.
  const pending = useRef<CoordEvent[]>([]);
  const rereadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const readRef = useRef(read);
  readRef.current = read;
  const [throttle] = useState(() => new Throttle(systemClock, 100, () => flushRef.current()));
  flushRef.current = () => {
    const current = detailRef.current;
    if (!current) return;
    const events = pending.current;
    pending.current = [];
    let next = current;
    let reread = false;
    for (const event of events) {
      const change = applyToDetail(next, event);
      next = change.detail;
      reread ||= change.refetch;
    }
    if (next !== current) setDetail(next);
    if (reread) {
      clearTimeout(rereadTimer.current);
      rereadTimer.current = setTimeout(() => void readRef.current(), 300);
    }
  };
  useEffect(
    () => () => {
      throttle.cancel();
      clearTimeout(rereadTimer.current);
    },
    [throttle],
  );
  useLiveEvents((e) => {
    const retrying = parseTaskRetrying(e.event);
    if (retrying?.id === id) setRetryEvent(retrying);
    if (concernsDeadLetterOf(e.event, id)) setDeadLetterAsk((n) => n + 1);
    const event = parseCoordEvent(e.event);
    if (!event || !('id' in event.data || 'task' in event.data)) return;
    pending.current.push(event);
    throttle.schedule();
  });
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') void readRef.current();
      }),
    [live],
  );

  const act = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(what);
    setActionError(undefined);
    try {
      await fn();
      return true;
    } catch (err) {
      setActionError(explain(what, err, detailRef.current));
      notices.error(`${what} failed: ${errorText(err)}`);
      return false;
    } finally {
      setBusy(undefined);
    }
  };

  const cancel = async () => {
    setConfirmCancel(false);
    await act('Cancel', async () => {
      const result = await api.cancelTask(id, cancelReason.trim() || undefined);
      setCancelResult(result.cascaded);
      const more = result.cascadedTotal;
      notices.action(`Canceled ${id}${more ? ` and ${more} dependent${more === 1 ? '' : 's'}` : ''}`);
      // A cascade can be huge: name the first few and count the rest.
      const named = result.cascaded.slice(0, 20).map((c) => c.id);
      const rest = more > named.length ? ` and ${more - named.length} more` : '';
      notices.toast(
        'success',
        'Task canceled',
        more ? `Also canceled: ${named.join(', ')}${rest}` : undefined,
      );
      setCancelReason('');
      void read();
    });
  };

  const retry = () =>
    act('Retry', async () => {
      await api.retryTask(id);
      setCancelResult(undefined);
      notices.action(`Retried ${id}`);
      notices.toast('success', 'Task queued again', id);
      void read();
    });

  const requeue = () =>
    act('Requeue', async () => {
      await coordApi.requeue(api, id);
      notices.action(`Requeued ${id}`);
      notices.toast('success', 'Task queued again', id);
      void read();
    });

  const addDep = (depId: string) => {
    setCycle(undefined);
    return act('Add dependency', async () => {
      try {
        await api.addDep(id, depId);
      } catch (err) {
        const path = refusedCycle(err, tasks.store.getSnapshot().tasks, id, depId);
        if (path) {
          setCycle(path);
          return;
        }
        throw err;
      }
      notices.action(`${id} now waits for ${depId}`);
      void read();
    });
  };

  const removeDep = (depId: string) =>
    act('Remove dependency', async () => {
      await api.removeDep(id, depId);
      notices.action(`${id} no longer waits for ${depId}`);
      void read();
    });

  if (load.state === 'loading' && !detail) {
    return (
      <div className="page">
        <BackLink />
        <div className="card empty">
          <div className="spinner" role="status" aria-label="Loading the task" />
        </div>
      </div>
    );
  }
  if (load.state === 'missing') {
    return (
      <div className="page">
        <BackLink />
        <div className="card empty" data-testid="task-missing">
          <p>
            There is no task <code>{id}</code>.
          </p>
        </div>
      </div>
    );
  }
  if (!detail) {
    return (
      <div className="page">
        <BackLink />
        <div className="callout callout-error" role="alert">
          Could not load the task: {load.state === 'failed' ? load.message : 'unknown error'}{' '}
          <button type="button" className="link-button" onClick={() => void read()}>
            Try again
          </button>
        </div>
      </div>
    );
  }

  const notStarted = isNotStarted(detail.status);
  return (
    <div className="page page-wide" data-testid="task-detail" data-status={detail.status}>
      <BackLink />
      <div className="page-head detail-head">
        <div className="detail-title">
          <h1 data-testid="detail-title">{detail.title}</h1>
          <div className="detail-sub">
            <StatusBadge status={detail.status} reason={detail.statusReason} testId="detail-status" />
            <span className="mono muted" data-testid="detail-id">
              {detail.id}
            </span>
            {detail.statusReason && (
              <span className="detail-reason" data-testid="detail-reason">
                Reason: {detail.statusReason}
              </span>
            )}
          </div>
        </div>
        <div className="page-actions">
          {canWrite && (
            <>
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => setEditing(true)}
                disabled={editing || busy !== undefined}
                title={
                  notStarted
                    ? 'Change title, description, priority, labels or payload'
                    : 'It has started: it can no longer change'
                }
                data-testid="edit-task"
              >
                <SvgIcon name="edit" size={14} /> Edit
              </button>
              {canRetry(detail.status) && (
                <button
                  type="button"
                  className="btn btn-secondary"
                  onClick={() => void retry()}
                  disabled={busy !== undefined}
                  data-testid="retry-task"
                >
                  <SvgIcon name="retry" size={14} /> Retry
                </button>
              )}
              {detail.status === 'blocked' && (
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() => void requeue()}
                  disabled={busy !== undefined}
                  title="Put it back in the queue with a new attempt"
                  data-testid="requeue-task"
                >
                  <SvgIcon name="retry" size={14} /> Requeue
                </button>
              )}
              {canCancel(detail.status) && (
                <button
                  type="button"
                  className="btn btn-danger"
                  onClick={() => setConfirmCancel(true)}
                  disabled={busy !== undefined}
                  data-testid="cancel-task"
                >
                  <SvgIcon name="stop" size={14} /> Cancel task
                </button>
              )}
            </>
          )}
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="edit, cancel or retry it, or change its dependencies" />}
      <RetryingBanner detail={detail} event={retryEvent} />
      {deadLetter && detail.status === 'failed' && (
        <p className="callout callout-error dl-banner" data-testid="detail-dead-letter">
          <strong>Dead-lettered:</strong>
          <span>
            it failed for good after {deadLetter.attempts} attempt{deadLetter.attempts === 1 ? '' : 's'} (
            {deadLetter.lastError.class}).
          </span>
          <Link to={deadLettersPath(detail.id)} className="link" data-testid="detail-dead-letter-link">
            See its dead letter →
          </Link>
        </p>
      )}
      {actionError && (
        <p className="callout callout-error" role="alert" data-testid="action-error">
          {actionError}
        </p>
      )}
      {cancelResult && (
        <div className="callout callout-info cascade" data-testid="cancel-result">
          <strong>Canceled.</strong>
          {cancelResult.length === 0 ? (
            <span> No dependent had to be canceled with it.</span>
          ) : (
            <>
              <span>
                {' '}
                {cancelResult.length} dependent{cancelResult.length === 1 ? '' : 's'} can no longer run and
                {cancelResult.length === 1 ? ' was' : ' were'} canceled too:
              </span>
              <ul className="cascade-list">
                {cancelResult.map((c) => (
                  <li key={c.id} data-testid={`cascade-${c.id}`}>
                    <DepLink id={c.id} known={known} />
                    <span className="muted small">{c.reason}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}

      {editing && (
        <EditTask
          detail={detail}
          onDone={(saved) => {
            setEditing(false);
            if (saved) void read();
          }}
        />
      )}

      <div className="detail-grid">
        <div className="detail-main">
          <Output lines={detail.output} status={detail.status} />
          <Attempts detail={detail} />
          <section className="card" data-testid="detail-definition">
            <div className="card-head">
              <h2>Definition</h2>
            </div>
            <div className="detail-block">
              <h3>Description</h3>
              <p className="description" data-testid="detail-description">
                {detail.description || <span className="muted">No description.</span>}
              </p>
            </div>
            <div className="detail-block">
              <h3>Payload</h3>
              {detail.kind === 'exec' && typeof detail.payload.command === 'string' && (
                <p className="mono command-line" data-testid="detail-command">
                  ${' '}
                  {commandLine(
                    detail.payload.command,
                    Array.isArray(detail.payload.args) ? detail.payload.args.map(String) : [],
                  )}
                </p>
              )}
              <pre className="json inline-json" data-testid="detail-payload">
                {JSON.stringify(detail.payload, null, 2)}
              </pre>
            </div>
          </section>
        </div>
        <div className="detail-side">
          <section className="card detail-fields">
            <div className="card-head">
              <h2>Details</h2>
            </div>
            <dl className="fields">
              <Field name="kind" label="Kind">
                <span className="kind">{detail.kind}</span>
              </Field>
              <Field name="priority" label="Priority">
                {detail.priority}
              </Field>
              <Field name="labels" label="Labels">
                {detail.labels.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  detail.labels.map((l) => (
                    <span key={l} className="label-chip">
                      {l}
                    </span>
                  ))
                )}
              </Field>
              {detail.progress !== undefined && (
                <Field name="progress" label="Progress">
                  <span className="capacity-bar detail-progress" aria-hidden="true">
                    <span style={{ width: `${Math.round(detail.progress * 100)}%` }} />
                  </span>{' '}
                  {Math.round(detail.progress * 100)}%
                </Field>
              )}
              <Field name="worker" label="Worker">
                <WorkerOf detail={detail} />
              </Field>
              <Field name="created" label="Created">
                <span title={detail.createdAt}>{formatTime(detail.createdAt)}</span>
              </Field>
              <Field name="updated" label="Updated">
                <span title={detail.updatedAt}>{formatTime(detail.updatedAt)}</span>
              </Field>
              <Field name="cost" label="Cost">
                {formatCost(detail.cost)}
              </Field>
              <Field name="source" label="Source">
                <span className="mono small">{detail.source || '—'}</span>
              </Field>
              <Field name="trace" label="Trace">
                <span className="mono small">{detail.traceId}</span>
              </Field>
              {detail.error && (
                <Field name="error" label="Error">
                  <span className="field-error-text">
                    <strong>{detail.error.class}</strong>: {detail.error.message}
                  </span>
                </Field>
              )}
              {detail.result !== undefined && (
                <Field name="result" label="Result">
                  <pre className="json inline-json">{JSON.stringify(detail.result, null, 2)}</pre>
                </Field>
              )}
            </dl>
          </section>
          <section className="card detail-deps">
            <div className="card-head">
              <h2>Waits for</h2>
              <span className="muted small">{detail.deps.length}</span>
            </div>
            <div className="deps-body">
              {detail.deps.length === 0 ? (
                <p className="muted small">No dependencies.</p>
              ) : (
                <div className="dep-chips" data-testid="detail-deps">
                  {detail.deps.map((dep) => (
                    <DepChip
                      key={dep}
                      id={dep}
                      known={known}
                      removable={canWrite && notStarted}
                      busy={busy !== undefined}
                      onRemove={() => void removeDep(dep)}
                    />
                  ))}
                </div>
              )}
              {cycle && (
                <div className="callout callout-error cycle-banner" role="alert" data-testid="cycle-banner">
                  <strong>Refused: that would close a cycle.</strong>
                  <span className="mono cycle-path" data-testid="cycle-path">
                    {cycle}
                  </span>
                  <button type="button" className="link-button" onClick={() => setCycle(undefined)}>
                    Dismiss
                  </button>
                </div>
              )}
              {canWrite &&
                (notStarted ? (
                  <TaskPicker
                    exclude={new Set([detail.id, ...detail.deps])}
                    onPick={(task) => void addDep(task.id)}
                    disabled={busy !== undefined}
                    placeholder="Add a dependency: search tasks…"
                    testId="add-dep"
                  />
                ) : (
                  <p className="help">
                    It is {STATUS_TITLES[detail.status].toLowerCase()}: its dependencies can no longer change.
                  </p>
                ))}
            </div>
            <div className="card-head card-head-inner">
              <h2>Waiting for it</h2>
              <span className="muted small">{detail.dependents.length}</span>
            </div>
            <div className="deps-body">
              {detail.dependents.length === 0 ? (
                <p className="muted small">No task waits for this one.</p>
              ) : (
                <ul className="dependents" data-testid="detail-dependents">
                  {detail.dependents.map((d) => (
                    <li key={d}>
                      <DepLink id={d} known={known} testId={`dependent-${d}`} />
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </section>
        </div>
      </div>

      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel ${detail.title}?`}
        confirmLabel="Cancel task"
        danger
        onCancel={() => setConfirmCancel(false)}
        onConfirm={() => void cancel()}
      >
        <p>
          {detail.status === 'running'
            ? 'It is running: its worker is told to stop it. '
            : 'It will not run. '}
          Tasks that wait for it and can then never run are canceled with it
          {detail.dependents.length > 0 ? ` (${detail.dependents.length} wait for it directly)` : ''}.
        </p>
        <label className="label dialog-label" htmlFor="cancel-reason">
          Reason <span className="optional">optional</span>
        </label>
        <input
          id="cancel-reason"
          className="input"
          value={cancelReason}
          onChange={(e) => setCancelReason(e.target.value)}
          maxLength={500}
          data-testid="cancel-reason"
        />
      </ConfirmDialog>
    </div>
  );
}

/** A queued task waiting out a backoff after a failed attempt: why, and when it is tried again. */
function RetryingBanner({ detail, event }: { detail: TaskDetail; event: TaskRetrying | undefined }) {
  const after = retryingAfter(detail);
  const [now, setNow] = useState(() => Date.now());
  const waiting = after !== undefined;
  useEffect(() => {
    if (!waiting) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [waiting]);
  if (after === undefined) return null;
  const at = event && event.id === detail.id ? event : undefined;
  return (
    <p className="callout retry-banner" role="status" data-testid="detail-retrying">
      <SvgIcon name="retry" size={14} />
      <strong>Waiting to retry</strong>
      <span>
        after a failed attempt: <span className="mono">{after || 'an error'}</span>.
      </span>
      {at ? (
        <span className="muted" data-testid="detail-retry-at">
          Next try {untilTime(at.retryAt, now)} ({formatTime(at.retryAt, now)}) · {at.retriesLeft}{' '}
          {at.retriesLeft === 1 ? 'retry' : 'retries'} left
        </span>
      ) : (
        <span className="muted">It is handed out again once its backoff is over.</span>
      )}
    </p>
  );
}

/** The worker holding the task, else the one of its last attempt. */
function WorkerOf({ detail }: { detail: TaskDetail }) {
  const last = detail.attempts.at(-1)?.workerId;
  if (detail.workerId) return <span className="mono">{detail.workerId}</span>;
  if (!last) return <span className="muted">none</span>;
  return (
    <>
      <span className="mono">{last}</span> <span className="muted small">(last attempt)</span>
    </>
  );
}

function BackLink() {
  return (
    <Link to="/tasks" className="link back-link">
      ← Tasks
    </Link>
  );
}

function Field({ name, label, children }: { name: string; label: string; children: ReactNode }) {
  return (
    <div className="field-row">
      <dt>{label}</dt>
      <dd data-testid={`detail-${name}`}>{children}</dd>
    </div>
  );
}

/** A link to a task, with its title and status when the live task list knows it. */
function DepLink({
  id,
  known,
  testId,
}: {
  id: string;
  known: ReadonlyMap<string, TaskSummary>;
  testId?: string;
}) {
  const task = known.get(id);
  return (
    <Link to={taskPath(id)} className="dep-link" data-testid={testId}>
      {task && <span className={`legend-dot bg-${task.status}`} title={STATUS_TITLES[task.status]} />}
      <span className="mono">{id}</span>
      {task && <span className="muted dep-title">{task.title}</span>}
    </Link>
  );
}

function DepChip(props: {
  id: string;
  known: ReadonlyMap<string, TaskSummary>;
  removable: boolean;
  busy: boolean;
  onRemove: () => void;
}) {
  const { id, known, removable, busy, onRemove } = props;
  const task = known.get(id);
  return (
    <span className="chip dep-chip" data-testid={`dep-chip-${id}`} data-status={task?.status}>
      {task && <span className={`legend-dot bg-${task.status}`} title={STATUS_TITLES[task.status]} />}
      <Link to={taskPath(id)} className="mono">
        {id}
      </Link>
      {task && <span className="chip-sub">{task.title}</span>}
      {removable && (
        <button
          type="button"
          className="chip-remove"
          onClick={onRemove}
          disabled={busy}
          aria-label={`Stop waiting for ${id}`}
          title={`Stop waiting for ${id}`}
          data-testid={`dep-remove-${id}`}
        >
          <SvgIcon name="close" size={12} />
        </button>
      )}
    </span>
  );
}

function Attempts({ detail }: { detail: TaskDetail }) {
  const running = detail.attempts.some((a) => !a.endedAt);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return (
    <section className="card" data-testid="attempts">
      <div className="card-head">
        <h2>Attempts</h2>
        <span className="muted small">{detail.attempts.length}</span>
      </div>
      {detail.attempts.length === 0 ? (
        <p className="empty muted">No attempt yet: no worker has taken it.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Worker</th>
                <th>Assigned</th>
                <th>Started</th>
                <th>Ended</th>
                <th className="num">Took</th>
                <th>Outcome</th>
                <th>Error</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {[...detail.attempts].reverse().map((a) => (
                <tr key={a.number} data-testid={`attempt-${a.number}`} data-outcome={a.outcome}>
                  <td className="num">{a.number}</td>
                  <td className="mono small">{a.workerId}</td>
                  <td className="small nowrap">{formatTime(a.assignedAt, now)}</td>
                  <td className="small nowrap">{formatTime(a.startedAt, now)}</td>
                  <td className="small nowrap">{formatTime(a.endedAt, now)}</td>
                  <td className="num small nowrap">
                    {durationBetween(a.startedAt ?? a.assignedAt, a.endedAt, now)}
                  </td>
                  <td>
                    <span className={`outcome outcome-${a.outcome}`}>{a.outcome}</span>
                  </td>
                  <td className="small">
                    {a.error ? (
                      <span className="field-error-text">
                        {a.error.class}: {a.error.message}
                      </span>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td className="small">{formatCost(a.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The task's output: kept lines from the API, then live ones; follows the end unless paused. */
function Output({ lines, status }: { lines: readonly OutputLine[]; status: TaskDetail['status'] }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow && lines.length > 0) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    // Scrolling up pauses following; scrolling back to the end resumes it.
    if (atEnd !== follow) setFollow(atEnd);
  };
  return (
    <section className="card" data-testid="output-card">
      <div className="card-head">
        <h2>Output</h2>
        <div className="page-actions">
          <span className="muted small" data-testid="output-count">
            {lines.length} line{lines.length === 1 ? '' : 's'}
            {status === 'running' && ' · live'}
          </span>
          <button
            type="button"
            className={`btn btn-small ${follow ? 'btn-secondary' : 'btn-primary'}`}
            onClick={() => setFollow(!follow)}
            aria-pressed={!follow}
            data-testid="output-follow"
          >
            <SvgIcon name={follow ? 'pause' : 'play'} size={12} />
            {follow ? 'Pause scrolling' : 'Follow'}
          </button>
        </div>
      </div>
      <div className="output" ref={box} onScroll={onScroll} data-testid="output">
        {lines.length === 0 ? (
          <p className="muted output-empty">No output{status === 'running' ? ' yet' : ''}.</p>
        ) : (
          lines.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: lines only ever append (older ones drop off the top)
            <div key={i} className={`output-line output-${l.stream}`}>
              <span className="output-time">{formatTime(l.at).slice(-8)}</span>
              <span className="output-text">{l.line}</span>
            </div>
          ))
        )}
      </div>
    </section>
  );
}

function EditTask({ detail, onDone }: { detail: TaskDetail; onDone: (saved: boolean) => void }) {
  const { api, notices } = useApp();
  const [draft, setDraft] = useState<TaskDraft>(() => draftFromTask(detail));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState<string | undefined>();
  const started = !isNotStarted(detail.status);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const built = buildTaskPatch(draft, detail);
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    if (Object.keys(built.value).length === 0) {
      onDone(false);
      return;
    }
    setBusy(true);
    setConflict(undefined);
    try {
      await api.patchTask(detail.id, built.value);
      const fields = Object.keys(built.value).join(', ');
      notices.action(`Saved ${detail.id}: ${fields}`);
      notices.toast('success', 'Task saved', `Changed ${fields}`);
      onDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setConflict(
          `The server refused: ${err.message}. A task's definition is fixed once a worker starts it; cancel it and create a new one instead.`,
        );
      } else if (err instanceof ApiError && err.fields.length > 0) {
        setErrors(serverFieldErrors(err.fields));
      } else {
        setConflict(errorText(err));
      }
      notices.error(`Save failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card edit-card" onSubmit={save} noValidate data-testid="edit-form">
      <div className="card-head">
        <h2>Edit task</h2>
      </div>
      {started && (
        <p className="callout callout-info edit-note" data-testid="edit-started">
          <SvgIcon name="lock" size={14} />
          It is {STATUS_TITLES[detail.status].toLowerCase()}: once a worker has started a task its definition
          can no longer change, so the server will refuse this (409).
        </p>
      )}
      {conflict && (
        <p className="callout callout-error edit-note" role="alert" data-testid="edit-conflict">
          {conflict}
        </p>
      )}
      <div className="edit-body">
        <TaskFormFields
          draft={draft}
          onChange={(next) => {
            setDraft(next);
            setErrors({});
          }}
          errors={errors}
          mode="edit"
          disabled={busy}
        />
      </div>
      <div className="dialog-actions edit-actions">
        <button type="button" className="btn btn-secondary" onClick={() => onDone(false)} disabled={busy}>
          Discard
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="save-task">
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

/** Why an action failed, in words an operator can act on. */
function explain(what: string, err: unknown, detail: TaskDetail | undefined): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return `${what} refused: your role may not do this (${err.message}).`;
    if (err.status === 409) {
      const status = detail ? ` It is ${STATUS_TITLES[detail.status].toLowerCase()}.` : '';
      return `${what} refused: ${err.message}.${status}`;
    }
    if (err.status === 404) return `${what} failed: the task no longer exists.`;
  }
  return `${what} failed: ${errorText(err)}`;
}
