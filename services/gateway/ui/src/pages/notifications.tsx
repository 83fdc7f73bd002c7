import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api';
import { SvgIcon } from '../components/icons';
import { useInbox } from '../components/notification-bell';
import { Pager } from '../components/pager';
import { useApp, useCanWrite, useLiveEvents } from '../context';
import {
  type Notification,
  type NotificationPage,
  parseNotificationCreated,
  safeLink,
  severityTone,
} from '../notifications';
import { Link } from '../router';
import { formatTime, relativeTime } from '../task-detail';
import { systemClock, Throttle } from '../throttle';
import { ReadOnlyNotice } from './tasks';
import '../notify.css';

/** New notifications re-read the page at most this often. */
const REFETCH_MS = 500;
type Filter = 'all' | 'unread';

const LINK_TITLES: Array<[RegExp, string]> = [
  [/^\/tasks\//, 'Open the task'],
  [/^\/dead-letters/, 'Open the dead letters'],
  [/^\/webhooks/, 'Open the webhooks'],
  [/^\/coordination/, 'Open coordination'],
  [/^\/settings/, 'Open the settings'],
];
const linkTitle = (link: string) => LINK_TITLES.find(([re]) => re.test(link))?.[1] ?? 'Open';

/** The inbox, newest first: unread ones highlighted, mark one or all read, links to what they are about. */
export function NotificationsPage() {
  const { api, live, notices } = useApp();
  const canWrite = useCanWrite();
  const [inbox, snap] = useInbox();
  const [filter, setFilter] = useState<Filter>('all');
  const [limit, setLimit] = useState(50);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<NotificationPage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const asked = useRef(0);
  const query = useRef({ filter, limit, offset });
  query.current = { filter, limit, offset };

  const fetchPage = useCallback(async () => {
    const ask = ++asked.current;
    const q = query.current;
    setLoading(true);
    try {
      const params = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
      if (q.filter === 'unread') params.set('unread', 'true');
      const answer = await api.request<NotificationPage>('GET', `/api/notifications?${params}`);
      if (ask !== asked.current) return;
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
    void filter;
    void limit;
    void offset;
    void fetchPage();
  }, [filter, limit, offset, fetchPage]);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const [throttle] = useState(() => new Throttle(systemClock, REFETCH_MS, () => void fetchRef.current()));
  useEffect(() => () => throttle.cancel(), [throttle]);
  useLiveEvents((e) => {
    if (parseNotificationCreated(e.event)) throttle.schedule();
  });
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') throttle.schedule();
      }),
    [live, throttle],
  );
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(tick);
  }, []);

  const markRead = async (n: Notification) => {
    try {
      const updated = await inbox.markRead(n.id);
      setPage(
        (p) =>
          p && {
            ...p,
            unread: Math.max(0, p.unread - 1),
            items: p.items.map((m) => (m.id === n.id ? updated : m)),
          },
      );
    } catch (err) {
      notices.error(`Marking "${n.title}" read failed: ${errorText(err)}`);
      notices.toast('error', 'Could not mark it read', errorText(err));
    }
  };
  const markAllRead = async () => {
    setBusy(true);
    try {
      const { marked } = await inbox.markAllRead();
      notices.action(`Marked ${marked} notification${marked === 1 ? '' : 's'} as read`);
      void fetchPage();
    } catch (err) {
      notices.error(`Mark all read failed: ${errorText(err)}`);
      notices.toast('error', 'Could not mark all read', errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const items = page?.items ?? [];
  const unread = page ? Math.max(page.unread, 0) : snap.unread;

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>Notifications</h1>
          <p className="muted">
            What needs an operator: failed and dead-lettered tasks, budget warnings, open circuits, disabled
            webhooks, refused settings, backups. Newest first, updated live.
          </p>
        </div>
        <div className="page-actions">
          <button type="button" className="btn btn-secondary" onClick={() => void fetchPage()}>
            <SvgIcon name="refresh" size={14} /> Refresh
          </button>
          {canWrite && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy || unread === 0}
              onClick={() => void markAllRead()}
              data-testid="notif-read-all"
            >
              Mark all read
            </button>
          )}
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="mark notifications as read" />}

      <section className="card" data-testid="notifications">
        <div className="notif-filters">
          <div className="segmented" role="tablist" aria-label="Show">
            {(['all', 'unread'] as const).map((f) => (
              <button
                key={f}
                type="button"
                role="tab"
                aria-selected={filter === f}
                className={`segment ${filter === f ? 'is-on' : ''}`}
                onClick={() => {
                  setFilter(f);
                  setOffset(0);
                }}
                data-testid={`notif-filter-${f}`}
              >
                {f === 'all' ? 'All' : 'Unread'}
              </button>
            ))}
          </div>
          <span className="muted small" data-testid="notif-unread">
            {unread} unread
          </span>
        </div>

        {error && (
          <p className="callout callout-error list-callout" role="alert" data-testid="notif-error">
            Could not list the notifications: {error}{' '}
            <button type="button" className="link-button" onClick={() => void fetchPage()}>
              Try again
            </button>
          </p>
        )}

        {items.length === 0 ? (
          <div className="empty" data-testid="notif-empty">
            {!page ? (
              <p className="muted">{loading ? 'Loading…' : ''}</p>
            ) : (
              <>
                <p>
                  <strong>{filter === 'unread' ? 'Nothing unread.' : 'No notifications yet.'}</strong>
                </p>
                <p className="muted">
                  They appear here (and on the bell) when a task fails for good, a budget runs low, a circuit
                  opens or a webhook is switched off.
                </p>
              </>
            )}
          </div>
        ) : (
          <ul className="notif-list" aria-busy={loading}>
            {items.map((n) => {
              const link = safeLink(n.link);
              return (
                <li
                  key={n.id}
                  className={`notif-item ${n.read ? '' : 'is-unread'}`}
                  data-testid={`notif-${n.id}`}
                  data-read={n.read}
                >
                  <span className={`sev-dot sev-${severityTone(n.severity)}`} aria-hidden="true" />
                  <div className="notif-main">
                    <div className="notif-title">
                      {!n.read && <span className="sr-only">Unread: </span>}
                      {n.title}
                    </div>
                    <p className="notif-body">{n.body}</p>
                    <div className="notif-meta">
                      <span title={formatTime(n.createdAt)}>{relativeTime(n.createdAt, now)}</span>
                      <span>{n.severity}</span>
                      <span className="mono">{n.kind}</span>
                      {link && (
                        <Link to={link} data-testid={`notif-link-${n.id}`}>
                          {linkTitle(link)} →
                        </Link>
                      )}
                    </div>
                  </div>
                  {canWrite && !n.read && (
                    <div className="notif-actions">
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        onClick={() => void markRead(n)}
                        data-testid={`notif-read-${n.id}`}
                      >
                        Mark read
                      </button>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}

        <Pager
          shown={items.length}
          total={page?.total ?? 0}
          offset={offset}
          limit={limit}
          hasMore={page?.hasMore ?? false}
          loading={loading}
          noun="notifications"
          testId="notif"
          onLimit={setLimit}
          onOffset={setOffset}
        />
      </section>
    </div>
  );
}
