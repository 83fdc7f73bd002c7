import type { ReactNode } from 'react';

/** Why a list could not be read, with a way to ask again. */
export function ListError(props: {
  what: string;
  error: string | undefined;
  onRetry: () => void;
  testId: string;
  /** Set inside a card; a list above its card leaves it out. */
  inCard?: boolean;
}) {
  const { what, error, onRetry, testId, inCard = true } = props;
  if (!error) return null;
  return (
    <p
      className={inCard ? 'callout callout-error list-callout' : 'callout callout-error'}
      role="alert"
      data-testid={testId}
    >
      Could not list the {what}: {error}{' '}
      <button type="button" className="link-button" onClick={onRetry}>
        Try again
      </button>
    </p>
  );
}

/** An empty list: "Loading…" until the first answer, then what to do about it (the children). */
export function ListEmpty(props: {
  loaded: boolean;
  loading: boolean;
  testId: string;
  className?: string;
  children: ReactNode;
}) {
  const { loaded, loading, testId, className, children } = props;
  return (
    <div className={className ? `empty ${className}` : 'empty'} data-testid={testId}>
      {loaded ? children : <p className="muted">{loading ? 'Loading…' : ''}</p>}
    </div>
  );
}
