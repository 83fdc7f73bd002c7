import { useApp, useNotices } from '../context';
import { SvgIcon } from './icons';

/** The last action and the last error, until dismissed. */
export function StatusStrip() {
  const { notices } = useApp();
  const { lastAction, lastError } = useNotices();
  if (!lastAction && !lastError) return <footer className="strip strip-empty" aria-hidden="true" />;
  return (
    <footer className="strip" data-testid="status-strip">
      {lastAction && (
        <span className="strip-item strip-action" data-testid="last-action">
          <span className="strip-key">Last action</span>
          <time>{clock(lastAction.time)}</time>
          <span>{lastAction.text}</span>
        </span>
      )}
      {lastError && (
        <span className="strip-item strip-error" data-testid="last-error" role="alert">
          <span className="strip-key">Last error</span>
          <time>{clock(lastError.time)}</time>
          <span>{lastError.text}</span>
        </span>
      )}
      <button
        type="button"
        className="btn btn-ghost btn-icon btn-small strip-dismiss"
        onClick={() => notices.dismissStrip()}
        aria-label="Dismiss"
        data-testid="dismiss-status"
      >
        <SvgIcon name="close" size={14} />
      </button>
    </footer>
  );
}

export function clock(time: number): string {
  return new Date(time).toLocaleTimeString([], { hour12: false });
}
