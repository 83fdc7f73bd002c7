import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import {
  DialogField,
  FormDialog,
  PriorityLabelsFields,
  useFormDialog,
  usePriorityLabels,
} from '../components/form-dialog';
import { SvgIcon } from '../components/icons';
import { ListEmpty, ListError } from '../components/list-states';
import { PageHead } from '../components/page-head';
import { Pager } from '../components/pager';
import { ReadOnlyNotice } from '../components/role-notice';
import { useApp, useCanWrite } from '../context';
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
import { useLatestRead, useLiveRefetch, useNow } from '../list-hooks';
import { Link } from '../router';
import { taskPath } from '../routes';
import { formatTime, relativeTime } from '../task-detail';

/** Dead-letter events re-read the page at most this often. */
const REFETCH_MS = 500;
const STATUS_FILTERS: Array<{ value: DeadLetterStatusFilter; title: string }> = [
  { value: 'open', title: 'Open' },
  { value: 'dismissed', title: 'Dismissed' },
  { value: 'all', title: 'All' },
];

/** Tasks that failed for good, live: retry them (maybe with a new priority or labels) or dismiss them. */
export function DeadLettersPage() {
  const { api } = useApp();
  const canWrite = useCanWrite();
  const ids = useId();
  const [status, setStatus] = useState<DeadLetterStatusFilter>('open');
  const [kind, setKind] = useState('');
  const [typedKind, setTypedKind] = useState('');
  const [limit, setLimit] = useState(50);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DeadLetterPage | undefined>();
  const [retrying, setRetrying] = useState<DeadLetter | undefined>();
  const [dismissing, setDismissing] = useState<DeadLetter | undefined>();
  const [now, touchNow] = useNow(10_000);
  // `?task=<id>` (from a task's page) marks that task's row.
  const [focus] = useState(() => new URLSearchParams(window.location.search).get('task') ?? undefined);

  useEffect(() => {
    const timer = setTimeout(() => setTypedKind(kind), 300);
    return () => clearTimeout(timer);
  }, [kind]);

  const query = useMemo<DeadLetterQuery>(
    () => ({ status, kind: typedKind, limit, offset }),
    [status, typedKind, limit, offset],
  );
  const queryRef = useRef(query);
  queryRef.current = query;

  const read = useCallback(() => api.listDeadLetters(queryRef.current), [api]);
  const {
    fetch: fetchPage,
    error,
    loading,
  } = useLatestRead(read, (answer) => {
    // The last row of a page went away: show the page before it.
    if (answer.items.length === 0 && answer.offset > 0 && answer.total > 0) {
      setOffset(Math.max(0, answer.total - 1 - ((answer.total - 1) % answer.limit)));
    }
    setPage(answer);
    touchNow();
  });

  useEffect(() => {
    void query;
    void fetchPage();
  }, [query, fetchPage]);

  // Live: any dead-letter event re-reads the page, at most every REFETCH_MS.
  useLiveRefetch(
    () => void fetchPage(),
    (event) => isDeadLetterEvent(event.type),
    REFETCH_MS,
  );

  const rows = page?.items ?? [];
  const total = page?.total ?? 0;

  return (
    <div className="page page-wide">
      <PageHead title="Dead letters" onRefresh={() => void fetchPage()}>
        Tasks that failed for good: a fatal error, or transient failures past <code>maxTaskRetries</code>.
        Updated live.
      </PageHead>

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

        <ListError what="dead letters" error={error} onRetry={() => void fetchPage()} testId="dl-error" />

        {rows.length === 0 ? (
          <ListEmpty loaded={page !== undefined} loading={loading} testId="dl-empty" className="dl-empty">
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
          </ListEmpty>
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
  const overrides = usePriorityLabels();
  const { errors, failure, busy, run } = useFormDialog();

  const submit = () =>
    run(buildRetryBody(overrides), `Retry of ${deadLetter.id} failed`, async (body) => {
      await api.retryDeadLetter(deadLetter.id, body);
      notices.action(`Retried dead letter ${deadLetter.id}`);
      notices.toast('success', 'Task queued again', deadLetter.title);
      onClose(true);
    });

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
      <PriorityLabelsFields
        id={ids}
        draft={overrides}
        errors={errors}
        priorityNote="optional"
        labelsNote="optional, replace the task's"
        testId="dl-retry"
        errorTestId="dl-field-error"
      />
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
  const { errors, failure, busy, run } = useFormDialog();

  const submit = () =>
    run(checkDismissReason(reason), `Dismiss of ${deadLetter.id} failed`, async (checked) => {
      await api.dismissDeadLetter(deadLetter.id, checked);
      notices.action(`Dismissed dead letter ${deadLetter.id}`);
      notices.toast('success', 'Dead letter dismissed', deadLetter.title);
      onClose(true);
    });

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
      <DialogField
        id={`${ids}-reason`}
        label="Reason"
        value={reason}
        onChange={setReason}
        maxLength={MAX_REASON}
        placeholder="e.g. the input file was removed on purpose"
        error={errors.reason}
        testId="dl-dismiss-reason"
        errorTestId="dl-field-error-reason"
      />
    </FormDialog>
  );
}
