import type { Session } from '../api';
import type { Theme } from '../theme';
import { ConnectionIndicator } from './connection-indicator';
import { SvgIcon } from './icons';
import { NotificationBell } from './notification-bell';

export function Header(props: {
  session: Session;
  theme: Theme;
  onToggleTheme: () => void;
  onLogout: () => void;
}) {
  const { session, theme, onToggleTheme, onLogout } = props;
  return (
    <header className="header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="brand">
        <span className="brand-mark">
          <SvgIcon name="logo" size={15} />
        </span>
        <span className="brand-name">Jousting Operator</span>
      </div>
      <div className="header-spacer" />
      <ConnectionIndicator />
      <NotificationBell />
      <div className="user" title={`Signed in as ${session.name} (${session.role})`}>
        <span className="user-avatar" aria-hidden="true">
          {session.name.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name" data-testid="user-name">
          {session.name}
        </span>
        <span className={`role role-${session.role}`} data-testid="user-role">
          {session.role}
        </span>
      </div>
      <ThemeToggle theme={theme} onToggle={onToggleTheme} />
      <button type="button" className="btn btn-ghost btn-icon-text" onClick={onLogout} data-testid="logout">
        <SvgIcon name="logout" />
        <span>Sign out</span>
      </button>
    </header>
  );
}

export function ThemeToggle({ theme, onToggle }: { theme: Theme; onToggle: () => void }) {
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="btn btn-ghost btn-icon"
      onClick={onToggle}
      aria-label={`Switch to ${next} mode`}
      title={`Switch to ${next} mode`}
      data-testid="theme-toggle"
      data-theme-current={theme}
    >
      <SvgIcon name={theme === 'dark' ? 'sun' : 'moon'} />
    </button>
  );
}
