import type { TaskStatus, TaskSummary } from '@jousting/contracts';
import { useCallback, useDeferredValue, useEffect, useId, useMemo, useRef, useState } from 'react';
import { errorText, type TaskPage, type TaskQuery } from '../api';
import { filterOfQuery, toggleAll, toggleId } from '../bulk-selection';
import { BulkBar, SelectAllBox, SelectBox } from '../components/bulk-bar';
import { CreateTaskDialog } from '../components/create-task-dialog';
import { SvgIcon } from '../components/icons';
import { Pager } from '../components/pager';
import { ProgressBar } from '../components/progress-bar';
import { ReadOnlyNotice } from '../components/role-notice';
import { StatusBadge } from '../components/status-badge';
import { TaskCard } from '../components/task-card';
import { useApp, useCanWrite, useLiveEvents, useTasks } from '../context';
import { type CoordEvent, parseCoordEvent } from '../coord-events';
import { Link } from '../router';
import { taskPath } from '../routes';
import { relativeTime } from '../task-detail';
import { STATUS_HELP, STATUS_TITLES, TASK_STATUSES } from '../task-status';
import { applyEventsToRows, boardColumns, dependentCounts, matchesQuery, progressOf } from '../task-store';
import { safeStorage } from '../theme';
import { systemClock, Throttle } from '../throttle';

type View = 'board' | 'list';
const VIEW_KEY = 'jousting.tasks.view';
const CARDS_PER_COLUMN = 150;

/** All tasks as a live board (columns by status) or a filtered, paged list; the choice is remembered. */
export function TasksPage() {
  const canWrite = useCanWrite();
  const [view, setViewState] = useState<View>(() =>
    safeStorage()?.getItem(VIEW_KEY) === 'list' ? 'list' : 'board',
  );
  const [creating, setCreating] = useState(false);
  const [listStatus, setListStatus] = useState<TaskStatus[]>([]);
  const setView = (next: View) => {
    setViewState(next);
    safeStorage()?.setItem(VIEW_KEY, next);
  };
  const snapshot = useTasks();
  const progress = useMemo(() => progressOf(snapshot.tasks.values()), [snapshot.tasks]);

  return (
    <div className="page page-full">
      <div className="page-head">
        <div>
          <h1>Tasks</h1>
          <p className="muted">Everything the coordinator runs, updated live.</p>
        </div>
        <div className="page-actions">
          <div className="segmented" role="tablist" aria-label="View">
            <button
              type="button"
              role="tab"
              aria-selected={view === 'board'}
              className={`segment ${view === 'board' ? 'is-on' : ''}`}
              onClick={() => setView('board')}
              data-testid="view-board"
            >
              <SvgIcon name="board" size={14} /> Board
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={view === 'list'}
              className={`segment ${view === 'list' ? 'is-on' : ''}`}
              onClick={() => setView('list')}
              data-testid="view-list"
            >
              <SvgIcon name="list" size={14} /> List
            </button>
          </div>
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => setCreating(true)}
            disabled={!canWrite}
            title={canWrite ? 'Create a task' : 'Creating tasks needs the operator role'}
            data-testid="new-task"
          >
            <SvgIcon name="plus" size={14} /> New task
          </button>
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="create, edit or cancel tasks" />}

      {snapshot.load.status === 'ready' && <ProgressBar progress={progress} />}

      {view === 'board' ? (
        <TaskBoard
          onShowAll={(status) => {
            setListStatus([status]);
            setView('list');
          }}
        />
      ) : (
        <TaskList initialStatus={listStatus} />
      )}

      <CreateTaskDialog open={creating} onClose={() => setCreating(false)} />
    </div>
  );
}

// --- board ---

function TaskBoard({ onShowAll }: { onShowAll: (status: TaskStatus) => void }) {
  const { tasks: sync } = useApp();
  const canWrite = useCanWrite();
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = useCallback((id: string) => setSelected((s) => toggleId(s, id)), []);
  const snapshot = useTasks();
  const [filter, setFilter] = useState('');
  const q = useDeferredValue(filter.trim());
  const filtered = useMemo(() => {
    const all = [...snapshot.tasks.values()];
    return q ? all.filter((t) => matchesQuery(t, { q }) || t.labels.some((l) => l.includes(q))) : all;
  }, [snapshot.tasks, q]);
  const columns = useMemo(() => boardColumns(filtered, CARDS_PER_COLUMN), [filtered]);
  const dependents = useMemo(() => dependentCounts(snapshot.tasks.values()), [snapshot.tasks]);

  if (snapshot.load.status === 'failed' && snapshot.tasks.size === 0) {
    return (
      <div className="callout callout-error" role="alert">
        Could not load the tasks: {snapshot.load.message}{' '}
        <button type="button" className="link-button" onClick={() => void sync.reload()}>
          Try again
        </button>
      </div>
    );
  }
  if (snapshot.load.status !== 'ready' && snapshot.tasks.size === 0) {
    return (
      <div className="card empty">
        <div className="spinner" role="status" aria-label="Loading tasks" />
      </div>
    );
  }
  return (
    <>
      <div className="board-tools">
        <div className="picker-box board-filter">
          <SvgIcon name="search" size={14} />
          <input
            className="picker-input"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder="Filter cards by id, title or label"
            aria-label="Filter cards"
            data-testid="board-filter"
          />
        </div>
        <span className="muted small" data-testid="board-count">
          {q ? `${filtered.length} of ${snapshot.tasks.size}` : snapshot.tasks.size} task
          {snapshot.tasks.size === 1 ? '' : 's'}
          {snapshot.load.status === 'loading' && ' · refreshing…'}
        </span>
      </div>
      {canWrite && <BulkBar selected={selected} onSelectedChange={setSelected} />}
      <div className="board" data-testid="board">
        {columns.map((column) => (
          <section
            key={column.status}
            className={`board-column column-${column.status} ${column.total === 0 ? 'is-empty' : ''}`}
            data-testid={`column-${column.status}`}
            data-count={column.total}
            aria-label={STATUS_TITLES[column.status]}
          >
            <header
              className="board-column-head"
              title={`${STATUS_TITLES[column.status]}: ${STATUS_HELP[column.status]}`}
            >
              <span className={`legend-dot bg-${column.status}`} aria-hidden="true" />
              <h2>{STATUS_TITLES[column.status]}</h2>
              <span className="count">{column.total}</span>
            </header>
            <div className="board-column-body">
              {column.items.length === 0 ? (
                <p className="board-empty">—</p>
              ) : (
                column.items.map((task) =>
                  canWrite ? (
                    <div key={task.id} className={`bulk-card ${selected.has(task.id) ? 'is-selected' : ''}`}>
                      <SelectBox id={task.id} checked={selected.has(task.id)} onToggle={toggle} />
                      <TaskCard task={task} dependents={dependents.get(task.id) ?? 0} />
                    </div>
                  ) : (
                    <TaskCard key={task.id} task={task} dependents={dependents.get(task.id) ?? 0} />
                  ),
                )
              )}
              {column.total > column.items.length && (
                <button
                  type="button"
                  className="btn btn-ghost btn-small board-more"
                  onClick={() => onShowAll(column.status)}
                >
                  {column.total - column.items.length} more — show in the list
                </button>
              )}
            </div>
          </section>
        ))}
      </div>
    </>
  );
}

// --- list ---

function TaskList({ initialStatus }: { initialStatus: TaskStatus[] }) {
  const { api, live } = useApp();
  const canWrite = useCanWrite();
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = useCallback((id: string) => setSelected((s) => toggleId(s, id)), []);
  // "All matching" acts on the filter of the rows shown, not on one still being typed.
  const [loadedQuery, setLoadedQuery] = useState<TaskQuery | undefined>();
  const [status, setStatus] = useState<TaskStatus[]>(initialStatus);
  const [label, setLabel] = useState('');
  const [kind, setKind] = useState('');
  const [text, setText] = useState('');
  const [limit, setLimit] = useState(50);
  const [offset, setOffset] = useState(0);
  const [page, setPageState] = useState<TaskPage | undefined>();
  const pageRef = useRef<TaskPage | undefined>(undefined);
  const setPage = useCallback((next: TaskPage) => {
    pageRef.current = next;
    setPageState(next);
  }, []);
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [created, setCreated] = useState<string[]>([]);
  const ids = useId();

  // Typing waits for a pause before asking the server.
  const [typed, setTyped] = useState({ label: '', kind: '', q: '' });
  useEffect(() => {
    const timer = setTimeout(() => setTyped({ label, kind, q: text }), 300);
    return () => clearTimeout(timer);
  }, [label, kind, text]);

  const query = useMemo<TaskQuery>(
    () => ({ status, label: typed.label, kind: typed.kind, q: typed.q, limit, offset }),
    [status, typed, limit, offset],
  );
  const queryRef = useRef(query);
  queryRef.current = query;
  const asked = useRef(0);

  const fetchPage = useCallback(async () => {
    const ask = ++asked.current;
    const askedQuery = queryRef.current;
    setLoading(true);
    try {
      const answer = await api.listTasks(askedQuery);
      if (ask !== asked.current) return;
      setPage(answer);
      setLoadedQuery(askedQuery);
      setCreated([]);
      setError(undefined);
    } catch (err) {
      if (ask === asked.current) setError(errorText(err));
    } finally {
      if (ask === asked.current) setLoading(false);
    }
  }, [api, setPage]);

  useEffect(() => {
    void query;
    void fetchPage();
  }, [query, fetchPage]);

  // Events update the rows shown, in batches at most every 100 ms.
  const pending = useRef<CoordEvent[]>([]);
  const [throttle] = useState(
    () =>
      new Throttle(systemClock, 100, () => {
        const events = pending.current;
        pending.current = [];
        const current = pageRef.current;
        if (!current) return;
        const result = applyEventsToRows(current.items, events, queryRef.current);
        setPage({ ...current, items: result.rows });
        if (result.created.length > 0) setCreated((c) => [...new Set([...c, ...result.created])]);
      }),
  );
  useEffect(() => () => throttle.cancel(), [throttle]);
  useLiveEvents((e) => {
    const event = parseCoordEvent(e.event);
    if (!event) return;
    pending.current.push(event);
    throttle.schedule();
  });
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') void fetchPage();
      }),
    [live, fetchPage],
  );

  const toggleStatus = (s: TaskStatus) => {
    setStatus((current) => (current.includes(s) ? current.filter((x) => x !== s) : [...current, s]));
    setOffset(0);
  };
  const rows = page?.items ?? [];
  const pageIds = rows.map((r) => r.id);
  const total = page?.total ?? 0;

  return (
    <section className="card" data-testid="task-list">
      <div className="filters">
        <fieldset className="filter-group">
          <legend className="label">Status</legend>
          <div className="status-filter">
            {TASK_STATUSES.map((s) => (
              <label key={s} className={`status-toggle ${status.includes(s) ? 'is-on' : ''}`}>
                <input
                  type="checkbox"
                  checked={status.includes(s)}
                  onChange={() => toggleStatus(s)}
                  data-testid={`filter-status-${s}`}
                />
                <span className={`legend-dot bg-${s}`} aria-hidden="true" />
                {STATUS_TITLES[s]}
              </label>
            ))}
            {status.length > 0 && (
              <button type="button" className="link-button small" onClick={() => setStatus([])}>
                any
              </button>
            )}
          </div>
        </fieldset>
        <div className="filter-fields">
          <div>
            <label className="label" htmlFor={`${ids}-q`}>
              Text
            </label>
            <input
              id={`${ids}-q`}
              className="input"
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                setOffset(0);
              }}
              placeholder="id, title or description"
              data-testid="filter-q"
            />
          </div>
          <div>
            <label className="label" htmlFor={`${ids}-label`}>
              Label
            </label>
            <input
              id={`${ids}-label`}
              className="input input-mono"
              value={label}
              onChange={(e) => {
                setLabel(e.target.value);
                setOffset(0);
              }}
              placeholder="gpu"
              data-testid="filter-label"
            />
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
              placeholder="exec"
              data-testid="filter-kind"
            />
          </div>
        </div>
      </div>

      {canWrite && (
        <div className="task-list-bulk">
          <BulkBar
            selected={selected}
            onSelectedChange={setSelected}
            filter={loadedQuery && filterOfQuery(loadedQuery)}
            matching={page?.total}
          />
        </div>
      )}
      {error && (
        <p className="callout callout-error list-callout" role="alert">
          Could not list the tasks: {error}{' '}
          <button type="button" className="link-button" onClick={() => void fetchPage()}>
            Try again
          </button>
        </p>
      )}
      {created.length > 0 && (
        <div className="callout callout-info list-callout" data-testid="list-new">
          {created.length} new task{created.length === 1 ? '' : 's'} match{created.length === 1 ? 'es' : ''}{' '}
          these filters.
          <button type="button" className="link-button" onClick={() => void fetchPage()}>
            Show {offset === 0 ? 'them' : 'the first page'}
          </button>
        </div>
      )}

      {rows.length === 0 ? (
        <p className="empty muted" data-testid="list-empty">
          {loading ? 'Loading…' : page ? 'No task matches these filters.' : ''}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="table task-table" aria-busy={loading}>
            <thead>
              <tr>
                {canWrite && (
                  <th className="bulk-col">
                    <SelectAllBox
                      ids={pageIds}
                      selected={selected}
                      onChange={() => setSelected((s) => toggleAll(s, pageIds))}
                    />
                  </th>
                )}
                <th>Task</th>
                <th>Status</th>
                <th>Kind</th>
                <th className="num">Priority</th>
                <th>Labels</th>
                <th>Worker</th>
                <th className="num">Deps</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((task) => (
                <TaskRow
                  key={task.id}
                  task={task}
                  stale={!matchesQuery(task, query)}
                  select={canWrite ? { checked: selected.has(task.id), onToggle: toggle } : undefined}
                />
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
        noun="tasks"
        testId="list"
        onLimit={setLimit}
        onOffset={setOffset}
      />
    </section>
  );
}

function TaskRow({
  task,
  stale,
  select,
}: {
  task: TaskSummary;
  stale: boolean;
  select?: { checked: boolean; onToggle: (id: string) => void } | undefined;
}) {
  return (
    <tr
      className={stale ? 'row-stale' : undefined}
      data-testid={`task-row-${task.id}`}
      data-status={task.status}
      title={stale ? 'Changed since the list was loaded; it no longer matches the filters' : undefined}
    >
      {select && (
        <td className="bulk-col">
          <SelectBox id={task.id} checked={select.checked} onToggle={select.onToggle} />
        </td>
      )}
      <td>
        <Link to={taskPath(task.id)} className="row-title">
          {task.title}
        </Link>
        <div className="mono muted small">{task.id}</div>
      </td>
      <td>
        <StatusBadge status={task.status} reason={task.statusReason} />
      </td>
      <td>
        <span className="kind">{task.kind}</span>
      </td>
      <td className="num">{task.priority}</td>
      <td>
        {task.labels.map((l) => (
          <span key={l} className="label-chip">
            {l}
          </span>
        ))}
      </td>
      <td className="mono small">{task.workerId ?? <span className="muted">—</span>}</td>
      <td className="num">{task.deps.length}</td>
      <td className="muted small nowrap" title={task.updatedAt}>
        {relativeTime(task.updatedAt)}
      </td>
    </tr>
  );
}
