import {
  type FormEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
} from 'react';
import { errorText } from '../api';
import { SvgIcon } from '../components/icons';
import { Pager } from '../components/pager';
import { useApp, useCanWrite, useLiveEvents } from '../context';
import {
  buildRetryBody,
  checkDismissReason,
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DeadLetterStatusFilter,
  isDeadLetterEvent,
  MAX_REASON,
} from '../dead-letters';
import { Link } from '../router';
import { taskPath } from '../routes';
import { formatTime, relativeTime } from '../task-detail';
import { systemClock, Throttle } from '../throttle';
import { ReadOnlyNotice } from './tasks';

/** Dead-letter events re-read the page at most this often. */
const REFETCH_MS = 500;
const STATUS_FILTERS: Array<{ value: DeadLetterStatusFilter; title: string }> = [
  { value: 'open', title: 'Open' },
  { value: 'dismissed', title: 'Dismissed' },
  { value: 'all', title: 'All' },
];

/** Tasks that failed for good, live: retry them (maybe with a new priority or labels) or dismiss them. */
export function DeadLettersPage() {
  const { api, live } = useApp();
  const canWrite = useCanWrite();
  const ids = useId();
  const [status, setStatus] = useState<DeadLetterStatusFilter>('open');
  const [kind, setKind] = useState('');
  const [typedKind, setTypedKind] = useState('');
  const [limit, setLimit] = useState(50);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DeadLetterPage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [retrying, setRetrying] = useState<DeadLetter | undefined>();
  const [dismissing, setDismissing] = useState<DeadLetter | undefined>();
  const [now, setNow] = useState(() => Date.now());
  // `?task=<id>` (from a task's page) marks that task's row.
  const [focus] = useState(() => new URLSearchParams(window.location.search).get('task') ?? undefined);

  useEffect(() => {
    const timer = setTimeout(() => setTypedKind(kind), 300);
    return () => clearTimeout(timer);
  }, [kind]);
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(tick);
  }, []);

  const query = useMemo<DeadLetterQuery>(
    () => ({ status, kind: typedKind, limit, offset }),
    [status, typedKind, limit, offset],
  );
  const queryRef = useRef(query);
  queryRef.current = query;
  const asked = useRef(0);

  const fetchPage = useCallback(async () => {
    const ask = ++asked.current;
    setLoading(true);
    try {
      const answer = await api.listDeadLetters(queryRef.current);
      if (ask !== asked.current) return;
      // The last row of a page went away: show the page before it.
      if (answer.items.length === 0 && answer.offset > 0 && answer.total > 0) {
        setOffset(Math.max(0, answer.total - 1 - ((answer.total - 1) % answer.limit)));
      }
      setPage(answer);
      setNow(Date.now());
      setError(undefined);
    } catch (err) {
      if (ask === asked.current) setError(errorText(err));
    } finally {
      if (ask === asked.current) setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    void query;
    void fetchPage();
  }, [query, fetchPage]);

  // Live: any dead-letter event re-reads the page, at most every REFETCH_MS.
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const [throttle] = useState(() => new Throttle(systemClock, REFETCH_MS, () => void fetchRef.current()));
  useEffect(() => () => throttle.cancel(), [throttle]);
  useLiveEvents((e) => {
    if (isDeadLetterEvent(e.event.type)) throttle.schedule();
  });
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') throttle.schedule();
      }),
    [live, throttle],
  );

  const rows = page?.items ?? [];
  const total = page?.total ?? 0;

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>Dead letters</h1>
          <p className="muted">
            Tasks that failed for good: a fatal error, or transient failures past <code>maxTaskRetries</code>.
            Updated live.
          </p>
        </div>
        <div className="page-actions">
          <button type="button" className="btn btn-secondary" onClick={() => void fetchPage()}>
            <SvgIcon name="refresh" size={14} /> Refresh
          </button>
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="retry or dismiss dead letters" />}

      <section className="card" data-testid="dead-letters">
        <div className="filters dl-filters">
          <div>
            <span className="label">Status</span>
            <div className="segmented" role="tablist" aria-label="Status">
              {STATUS_FILTERS.map((f) => (
                <button
                  key={f.value}
                  type="button"
                  role="tab"
                  aria-selected={status === f.value}
                  className={`segment ${status === f.value ? 'is-on' : ''}`}
                  onClick={() => {
                    setStatus(f.value);
                    setOffset(0);
                  }}
                  data-testid={`dl-filter-${f.value}`}
                >
                  {f.title}
                </button>
              ))}
            </div>
          </div>
          <div>
            <label className="label" htmlFor={`${ids}-kind`}>
              Kind
            </label>
            <input
              id={`${ids}-kind`}
              className="input input-mono"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value);
                setOffset(0);
              }}
              placeholder="any, e.g. exec"
              data-testid="dl-filter-kind"
            />
          </div>
        </div>

        {error && (
          <p className="callout callout-error list-callout" role="alert" data-testid="dl-error">
            Could not list the dead letters: {error}{' '}
            <button type="button" className="link-button" onClick={() => void fetchPage()}>
              Try again
            </button>
          </p>
        )}

        {rows.length === 0 ? (
          <div className="empty dl-empty" data-testid="dl-empty">
            {!page ? (
              <p className="muted">{loading ? 'Loading…' : ''}</p>
            ) : (
              <>
                <p>
                  <strong>
                    {status === 'all' ? 'No dead letters' : `No ${status} dead letters`}
                    {typedKind.trim() ? ` of kind ${typedKind.trim()}` : ''}.
                  </strong>
                </p>
                <p className="muted">
                  Dead letters are tasks that failed for good: a fatal error, or transient failures past{' '}
                  <code>maxTaskRetries</code>. They show up here live, to be retried or dismissed.
                </p>
              </>
            )}
          </div>
        ) : (
          <div className="table-scroll">
            <table className="table" aria-busy={loading} data-testid="dl-table">
              <thead>
                <tr>
                  <th>Task</th>
                  <th>Kind</th>
                  <th className="num">Attempts</th>
                  <th>Last error</th>
                  <th>When</th>
                  <th>Status</th>
                  {canWrite && <th className="dl-actions-head">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr
                    key={d.id}
                    className={d.id === focus ? 'row-focus' : undefined}
                    data-testid={`dl-row-${d.id}`}
                    data-status={d.status}
                  >
                    <td>
                      <Link to={taskPath(d.taskId)} className="row-title" data-testid={`dl-link-${d.id}`}>
                        {d.title}
                      </Link>
                      <div className="mono muted small">{d.taskId}</div>
                    </td>
                    <td>
                      <span className="kind">{d.kind}</span>
                    </td>
                    <td className="num">{d.attempts}</td>
                    <td className="dl-error-cell">
                      <span className={`pill dl-class dl-class-${d.lastError.class}`}>
                        {d.lastError.class}
                      </span>{' '}
                      <span className="dl-message" title={d.lastError.message}>
                        {d.lastError.message}
                      </span>
                    </td>
                    <td
                      className="small nowrap"
                      title={`${formatTime(d.createdAt)} · updated ${formatTime(d.updatedAt)}`}
                    >
                      {relativeTime(d.createdAt, now)}
                    </td>
                    <td>
                      <span
                        className={`pill ${d.status === 'open' ? 'pill-bad' : 'pill-off'}`}
                        data-testid={`dl-status-${d.id}`}
                      >
                        {d.status}
                      </span>
                      {d.dismissReason && (
                        <div className="muted small dl-reason" data-testid={`dl-reason-${d.id}`}>
                          {d.dismissReason}
                        </div>
                      )}
                    </td>
                    {canWrite && (
                      <td className="dl-actions">
                        <button
                          type="button"
                          className="btn btn-secondary btn-small"
                          onClick={() => setRetrying(d)}
                          data-testid={`dl-retry-${d.id}`}
                        >
                          <SvgIcon name="retry" size={12} /> Retry
                        </button>
                        {d.status === 'open' && (
                          <button
                            type="button"
                            className="btn btn-ghost btn-small"
                            onClick={() => setDismissing(d)}
                            data-testid={`dl-dismiss-${d.id}`}
                          >
                            Dismiss
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

        <Pager
          shown={rows.length}
          total={total}
          offset={offset}
          limit={limit}
          hasMore={page?.hasMore ?? false}
          loading={loading}
          noun="dead letters"
          testId="dl"
          onLimit={setLimit}
          onOffset={setOffset}
        />
      </section>

      {retrying && (
        <RetryDialog
          deadLetter={retrying}
          onClose={(done) => {
            setRetrying(undefined);
            if (done) void fetchPage();
          }}
        />
      )}
      {dismissing && (
        <DismissDialog
          deadLetter={dismissing}
          onClose={(done) => {
            setDismissing(undefined);
            if (done) void fetchPage();
          }}
        />
      )}
    </div>
  );
}

function RetryDialog({ deadLetter, onClose }: { deadLetter: DeadLetter; onClose: (done: boolean) => void }) {
  const { api, notices } = useApp();
  const ids = useId();
  const [priority, setPriority] = useState('');
  const [labels, setLabels] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const built = buildRetryBody({ priority, labels });
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setFailure(undefined);
    setBusy(true);
    try {
      await api.retryDeadLetter(deadLetter.id, built.value);
      notices.action(`Retried dead letter ${deadLetter.id}`);
      notices.toast('success', 'Task queued again', deadLetter.title);
      onClose(true);
    } catch (err) {
      setFailure(errorText(err));
      notices.error(`Retry of ${deadLetter.id} failed: ${errorText(err)}`);
      setBusy(false);
    }
  };

  return (
    <FormDialog
      title={`Retry ${deadLetter.title}?`}
      submitLabel="Retry"
      busy={busy}
      failure={failure}
      onSubmit={() => void submit()}
      onCancel={() => onClose(false)}
      testId="dl-retry-dialog"
    >
      <p>
        The task gets a new attempt; the dead letter is removed. Leave the fields empty to keep its priority
        and labels.
      </p>
      <label className="label dialog-label" htmlFor={`${ids}-priority`}>
        Priority <span className="optional">optional</span>
      </label>
      <input
        id={`${ids}-priority`}
        className="input input-number"
        inputMode="numeric"
        value={priority}
        onChange={(e) => setPriority(e.target.value)}
        placeholder="-1000 … 1000"
        aria-invalid={errors.priority ? true : undefined}
        data-testid="dl-retry-priority"
      />
      {errors.priority && (
        <p className="field-error" data-testid="dl-field-error-priority">
          {errors.priority}
        </p>
      )}
      <label className="label dialog-label" htmlFor={`${ids}-labels`}>
        Labels <span className="optional">optional, replace the task's</span>
      </label>
      <input
        id={`${ids}-labels`}
        className="input input-mono"
        value={labels}
        onChange={(e) => setLabels(e.target.value)}
        placeholder="gpu, region=eu"
        aria-invalid={errors.labels ? true : undefined}
        data-testid="dl-retry-labels"
      />
      {errors.labels && (
        <p className="field-error" data-testid="dl-field-error-labels">
          {errors.labels}
        </p>
      )}
    </FormDialog>
  );
}

function DismissDialog({
  deadLetter,
  onClose,
}: {
  deadLetter: DeadLetter;
  onClose: (done: boolean) => void;
}) {
  const { api, notices } = useApp();
  const ids = useId();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const checked = checkDismissReason(reason);
    if (!checked.ok) {
      setError(checked.errors.reason);
      return;
    }
    setError(undefined);
    setFailure(undefined);
    setBusy(true);
    try {
      await api.dismissDeadLetter(deadLetter.id, checked.value);
      notices.action(`Dismissed dead letter ${deadLetter.id}`);
      notices.toast('success', 'Dead letter dismissed', deadLetter.title);
      onClose(true);
    } catch (err) {
      setFailure(errorText(err));
      notices.error(`Dismiss of ${deadLetter.id} failed: ${errorText(err)}`);
      setBusy(false);
    }
  };

  return (
    <FormDialog
      title={`Dismiss ${deadLetter.title}?`}
      submitLabel="Dismiss"
      danger
      busy={busy}
      failure={failure}
      onSubmit={() => void submit()}
      onCancel={() => onClose(false)}
      testId="dl-dismiss-dialog"
    >
      <p>The task stays failed; the dead letter is marked as looked at and moves to Dismissed.</p>
      <label className="label dialog-label" htmlFor={`${ids}-reason`}>
        Reason
      </label>
      <input
        id={`${ids}-reason`}
        className="input"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        maxLength={MAX_REASON}
        placeholder="e.g. the input file was removed on purpose"
        aria-invalid={error ? true : undefined}
        data-testid="dl-dismiss-reason"
      />
      {error && (
        <p className="field-error" data-testid="dl-field-error-reason">
          {error}
        </p>
      )}
    </FormDialog>
  );
}

/** A modal form on the native <dialog>, open while mounted; the server's refusal shows inside it. */
export function FormDialog(props: {
  title: string;
  submitLabel: string;
  danger?: boolean;
  busy: boolean;
  failure: string | undefined;
  children: ReactNode;
  onSubmit: () => void;
  onCancel: () => void;
  testId: string;
}) {
  const { title, submitLabel, danger, busy, failure, children, onSubmit, onCancel, testId } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!busy) onSubmit();
  };
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
      data-testid={testId}
    >
      <form onSubmit={submit} noValidate>
        <h2 id={titleId}>{title}</h2>
        <div className="dialog-body">{children}</div>
        {failure && (
          <p className="callout callout-error dl-failure" role="alert" data-testid={`${testId}-failure`}>
            {failure}
          </p>
        )}
        <div className="dialog-actions">
          <button
            type="button"
            className="btn btn-secondary"
            onClick={onCancel}
            data-testid={`${testId}-cancel`}
          >
            Cancel
          </button>
          <button
            type="submit"
            className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
            disabled={busy}
            data-testid={`${testId}-submit`}
          >
            {busy ? 'Working…' : submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
