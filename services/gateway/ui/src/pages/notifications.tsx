import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api';
import { useInbox } from '../components/notification-bell';
import { Pager } from '../components/pager';
import { ReadOnlyNotice } from '../components/role-notice';
import { useApp, useCanWrite } from '../context';
import { useLatestRead, useLiveRefetch, useNow } from '../list-hooks';
import {
  type Notification,
  type NotificationPage,
  parseNotificationCreated,
  safeLink,
  severityTone,
} from '../notifications';
import { Link } from '../router';
import { formatTime, relativeTime } from '../task-detail';
import '../notify.css';
import { ListEmpty, ListError } from '../components/list-states';
import { PageHead } from '../components/page-head';

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
  const { api, notices } = useApp();
  const canWrite = useCanWrite();
  const [inbox, snap] = useInbox();
  const [filter, setFilter] = useState<Filter>('all');
  const [limit, setLimit] = useState(50);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<NotificationPage | undefined>();
  const [busy, setBusy] = useState(false);
  const [now, touchNow] = useNow(10_000);
  const query = useRef({ filter, limit, offset });
  query.current = { filter, limit, offset };

  const read = useCallback(() => {
    const q = query.current;
    const params = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
    if (q.filter === 'unread') params.set('unread', 'true');
    return api.request<NotificationPage>('GET', `/api/notifications?${params}`);
  }, [api]);
  const {
    fetch: fetchPage,
    error,
    loading,
  } = useLatestRead(read, (answer) => {
    setPage(answer);
    touchNow();
  });

  useEffect(() => {
    void filter;
    void limit;
    void offset;
    void fetchPage();
  }, [filter, limit, offset, fetchPage]);
  useLiveRefetch(
    () => void fetchPage(),
    (event) => parseNotificationCreated(event) !== undefined,
    REFETCH_MS,
  );

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
      <PageHead
        title="Notifications"
        onRefresh={() => void fetchPage()}
        actions={
          canWrite && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy || unread === 0}
              onClick={() => void markAllRead()}
              data-testid="notif-read-all"
            >
              Mark all read
            </button>
          )
        }
      >
        What needs an operator: failed and dead-lettered tasks, budget warnings, open circuits, disabled
        webhooks, refused settings, backups. Newest first, updated live.
      </PageHead>

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

        <ListError what="notifications" error={error} onRetry={() => void fetchPage()} testId="notif-error" />

        {items.length === 0 ? (
          <ListEmpty loaded={page !== undefined} loading={loading} testId="notif-empty">
            <p>
              <strong>{filter === 'unread' ? 'Nothing unread.' : 'No notifications yet.'}</strong>
            </p>
            <p className="muted">
              They appear here (and on the bell) when a task fails for good, a budget runs low, a circuit
              opens or a webhook is switched off.
            </p>
          </ListEmpty>
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
