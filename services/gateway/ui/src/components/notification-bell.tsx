import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { errorText } from '../api';
import { useApp, useCanWrite, useLiveEvents } from '../context';
import {
  badgeText,
  type InboxSnapshot,
  inboxFor,
  type Notification,
  type NotificationInbox,
  safeLink,
  severityTone,
} from '../notifications';
import { Link, navigate, usePath } from '../router';
import { relativeTime } from '../task-detail';
import { SvgIcon } from './icons';
import '../notify.css';

/** The shell's one inbox, shared by the bell and the notifications page. */
export function useInbox(): [NotificationInbox, InboxSnapshot] {
  const { api, live } = useApp();
  const inbox = inboxFor(live, api);
  return [inbox, useSyncExternalStore(inbox.subscribe, inbox.getSnapshot)];
}

/**
 * The bell in the header: the unread count, live from `notify.created`, and a dropdown of the
 * newest few. It owns the inbox's feed (it is mounted as long as the shell is).
 */
export function NotificationBell() {
  const { live, notices } = useApp();
  const canWrite = useCanWrite();
  const [inbox, snap] = useInbox();
  const [open, setOpen] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const root = useRef<HTMLDivElement>(null);
  const path = usePath();

  useEffect(() => {
    void path;
    setOpen(false);
  }, [path]);

  useEffect(() => {
    void inbox.load();
    // After missed events the count may be off: read it again.
    return live.onNotice((n) => {
      if (n.kind === 'gap') void inbox.load();
    });
  }, [inbox, live]);
  // No toast per notification: the badge is the signal, and a burst of failures would bury the page.
  useLiveEvents((e) => void inbox.apply(e));
  useEffect(() => {
    if (!open) return;
    setNow(Date.now());
    void inbox.load();
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !root.current?.contains(e.target as Node))
        setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open, inbox]);

  const follow = async (n: Notification) => {
    setOpen(false);
    if (!n.read && canWrite) {
      inbox
        .markRead(n.id)
        .catch((err: unknown) => notices.error(`Marking a notification read failed: ${errorText(err)}`));
    }
    navigate(safeLink(n.link) ?? '/notifications');
  };
  const readAll = async () => {
    try {
      const { marked } = await inbox.markAllRead();
      notices.action(`Marked ${marked} notification${marked === 1 ? '' : 's'} as read`);
    } catch (err) {
      notices.error(`Mark all read failed: ${errorText(err)}`);
    }
  };

  const label = snap.unread === 0 ? 'Notifications, none unread' : `Notifications, ${snap.unread} unread`;
  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        className={`btn btn-ghost btn-icon bell-button ${snap.unread > 0 ? 'has-unread' : ''}`}
        aria-label={label}
        title={label}
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        data-testid="bell"
        data-unread={snap.unread}
      >
        <SvgIcon name="bell" />
        {snap.unread > 0 && (
          <span className="bell-badge" data-testid="bell-count">
            {badgeText(snap.unread)}
          </span>
        )}
      </button>
      {open && (
        <div className="bell-menu" role="dialog" aria-label="Newest notifications" data-testid="bell-menu">
          <div className="bell-menu-head">
            <strong>Notifications</strong>
            <span className="muted small">{snap.unread} unread</span>
            <span className="header-spacer" />
            {canWrite && snap.unread > 0 && (
              <button
                type="button"
                className="link-button small"
                onClick={() => void readAll()}
                data-testid="bell-read-all"
              >
                Mark all read
              </button>
            )}
          </div>
          {snap.error && !snap.loaded ? (
            <p className="callout callout-error bell-empty" role="alert">
              Could not load notifications: {snap.error}
            </p>
          ) : snap.newest.length === 0 ? (
            <p className="muted bell-empty">
              {snap.loaded
                ? 'Nothing yet: failures, budget warnings and disabled webhooks show up here.'
                : 'Loading…'}
            </p>
          ) : (
            <ul className="bell-list">
              {snap.newest.map((n) => (
                <li key={n.id}>
                  <button
                    type="button"
                    className={`bell-item ${n.read ? '' : 'is-unread'}`}
                    onClick={() => void follow(n)}
                    data-testid={`bell-item-${n.id}`}
                  >
                    <span className={`sev-dot sev-${severityTone(n.severity)}`} aria-hidden="true" />
                    <span className="bell-item-text">
                      <span className="bell-item-title">{n.title}</span>
                      <span className="muted small">
                        {relativeTime(n.createdAt, now)} · {n.kind}
                      </span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div className="bell-menu-foot">
            <Link to="/notifications" data-testid="bell-all">
              All notifications
            </Link>
          </div>
        </div>
      )}
    </div>
  );
}
