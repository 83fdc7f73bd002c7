import { Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { ApiClient, errorText, type Session } from './api';
import { Header } from './components/header';
import { Sidebar } from './components/sidebar';
import { StatusStrip } from './components/status-strip';
import { Toasts } from './components/toasts';
import { AppProvider, type AppServices } from './context';
import { parseCoordEvent } from './coord-events';
import { EventLog } from './event-log';
import { LiveConnection, type LiveEvent, liveUrl } from './live';
import { Notices } from './notices';
import { LoginPage } from './pages/login';
import { NotFoundPage } from './pages/not-found';
import { usePath } from './router';
import { matchRoute } from './routes';
import {
  formatActor,
  formatChanges,
  formatValue,
  OwnWrites,
  parseSettingsChanged,
  parseSettingsRejected,
} from './settings-form';
import { TaskSync } from './task-sync';
import { applyTheme, initialTheme, safeStorage, systemPrefersDark, THEME_KEY, type Theme } from './theme';

type AuthState =
  | { state: 'loading' }
  | { state: 'anonymous'; reason?: string }
  | { state: 'unreachable'; message: string }
  | { state: 'signed-in'; session: Session };

export function App() {
  const [theme, toggleTheme] = useTheme();
  const [auth, setAuth] = useState<AuthState>({ state: 'loading' });
  const [api] = useState(
    () =>
      new ApiClient({
        onUnauthorized: () =>
          setAuth({ state: 'anonymous', reason: 'Your session has ended. Sign in again.' }),
      }),
  );

  const probe = useCallback(() => {
    setAuth({ state: 'loading' });
    api.me().then(
      (session) => setAuth(session ? { state: 'signed-in', session } : { state: 'anonymous' }),
      (err: unknown) => setAuth({ state: 'unreachable', message: errorText(err) }),
    );
  }, [api]);
  useEffect(probe, [probe]);

  switch (auth.state) {
    case 'loading':
      return (
        <div className="boot" data-testid="boot">
          <div className="spinner" role="status" aria-label="Loading" />
        </div>
      );
    case 'unreachable':
      return (
        <div className="boot">
          <div className="card boot-card" role="alert">
            <h1>Cannot reach the gateway</h1>
            <p className="muted">{auth.message}</p>
            <button type="button" className="btn btn-primary" onClick={probe}>
              Try again
            </button>
          </div>
        </div>
      );
    case 'anonymous':
      return (
        <LoginPage
          api={api}
          notice={auth.reason}
          theme={theme}
          onToggleTheme={toggleTheme}
          onSignedIn={(session) => setAuth({ state: 'signed-in', session })}
        />
      );
    case 'signed-in':
      return (
        <Shell
          api={api}
          session={auth.session}
          theme={theme}
          onToggleTheme={toggleTheme}
          onSignedOut={(reason) => setAuth(reason ? { state: 'anonymous', reason } : { state: 'anonymous' })}
        />
      );
  }
}

function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => initialTheme(safeStorage(), systemPrefersDark()));
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    // Follow the system until the user picks a theme.
    if (typeof matchMedia !== 'function') return;
    const query = matchMedia('(prefers-color-scheme: dark)');
    const follow = (e: MediaQueryListEvent) => {
      if (!safeStorage()?.getItem(THEME_KEY)) setTheme(e.matches ? 'dark' : 'light');
    };
    query.addEventListener('change', follow);
    return () => query.removeEventListener('change', follow);
  }, []);
  const toggle = useCallback(() => {
    setTheme((current) => {
      const next = current === 'dark' ? 'light' : 'dark';
      safeStorage()?.setItem(THEME_KEY, next);
      return next;
    });
  }, []);
  return [theme, toggle];
}

interface ShellProps {
  api: ApiClient;
  session: Session;
  theme: Theme;
  onToggleTheme: () => void;
  onSignedOut: (reason?: string) => void;
}

/** The signed-in app: one live connection, the event log and notices, shared by every page. */
function Shell({ api, session, theme, onToggleTheme, onSignedOut }: ShellProps) {
  const [services] = useState<AppServices>(() => {
    const live = new LiveConnection({ url: liveUrl(window.location), patterns: ['>'] });
    return {
      api,
      session,
      live,
      events: new EventLog(500),
      notices: new Notices(),
      ownWrites: new OwnWrites(),
      tasks: new TaskSync(api, live),
    };
  });
  const path = usePath();
  // Read through a ref: a new callback from the parent must not restart the live connection.
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;

  useEffect(() => {
    const { live, events, notices, ownWrites, tasks } = services;
    tasks.start();
    const offEvents = live.subscribe((e) => {
      events.add(e);
      announce(e, notices, ownWrites);
    });
    const offNotices = live.onNotice((n) => {
      if (n.kind === 'gap') {
        notices.error(`Some events were missed: ${n.message || `history starts at ${n.firstAvailableSeq}`}`);
        notices.toast(
          'warning',
          'Missed events',
          'The event history no longer holds them; reload pages to resync.',
        );
      } else if (n.kind === 'server-error') {
        notices.error(`Live feed: ${n.message}`);
      } else if (n.replayed > 0) {
        notices.action(`Reconnected; caught up on ${n.replayed} missed event${n.replayed === 1 ? '' : 's'}`);
      }
    });
    // A socket that keeps failing may mean the session expired: ask the API, which can say so.
    const offStatus = live.onStatus((s) => {
      if (s.status === 'offline' && s.attempt % 3 === 0) {
        api.me().then(
          (me) => {
            if (!me) signedOut.current('Your session has ended. Sign in again.');
          },
          () => {},
        );
      }
    });
    const retry = () => live.retryNow();
    const onVisible = () => {
      if (document.visibilityState === 'visible') live.retryNow();
    };
    window.addEventListener('online', retry);
    document.addEventListener('visibilitychange', onVisible);
    live.start();
    return () => {
      offEvents();
      offNotices();
      offStatus();
      window.removeEventListener('online', retry);
      document.removeEventListener('visibilitychange', onVisible);
      tasks.stop();
      live.stop();
    };
  }, [services, api]);

  const logout = async () => {
    try {
      await api.logout();
    } catch (err) {
      services.notices.error(`Sign-out failed: ${errorText(err)}`);
      return;
    }
    signedOut.current();
  };

  const match = matchRoute(path);
  const Page = match?.page.component ?? NotFoundPage;
  return (
    <AppProvider value={services}>
      <div className="shell">
        <Header session={session} theme={theme} onToggleTheme={onToggleTheme} onLogout={logout} />
        <Sidebar path={path} />
        <main className="content" id="main">
          <Suspense
            fallback={
              <div className="boot">
                <div className="spinner" role="status" aria-label="Loading the page" />
              </div>
            }
          >
            <Page key={match?.page.path} params={match?.params ?? {}} />
          </Suspense>
        </main>
        <StatusStrip />
        <Toasts />
      </div>
    </AppProvider>
  );
}

/** Toasts for changes made by someone else; this UI's own saves announce themselves. */
function announce(e: LiveEvent, notices: Notices, ownWrites: OwnWrites): void {
  if (e.event.type === 'settings.changed') {
    const data = parseSettingsChanged(e.event.data);
    if (!data || Object.keys(data.changes).length === 0 || ownWrites.isOwn(data.changes)) return;
    notices.toast(
      'info',
      'Settings changed',
      `${formatActor(data.actor)} changed ${formatChanges(data.changes)}`,
    );
  } else if (e.event.type === 'settings.rejected') {
    const data = parseSettingsRejected(e.event.data);
    if (!data) return;
    notices.toast(
      'warning',
      'Setting change refused',
      `${formatActor(data.actor)} set ${data.field} to ${formatValue(data.value)}: ${data.reason}. ` +
        `Restored ${formatValue(data.restored)}.`,
    );
    notices.error(`${data.field}: refused ${formatValue(data.value)} (${data.reason})`);
  } else if (e.event.type === 'coord.all-complete' && !e.replayed) {
    const data = parseCoordEvent(e.event);
    if (data?.type !== 'coord.all-complete') return;
    const { total, complete, failed, canceled } = data.data;
    const failures = failed + canceled;
    notices.toast(
      failures > 0 ? 'warning' : 'success',
      'No task left to run',
      `${complete} of ${total} complete${failed ? `, ${failed} failed` : ''}${canceled ? `, ${canceled} canceled` : ''}.`,
    );
  }
}
