import { useEffect, useState } from 'react';
import { useApp, useLiveSnapshot } from '../context';

const DESCRIPTIONS = {
  idle: 'Live updates are off',
  connecting: 'Connecting to the live event feed…',
  online: 'Receiving live events',
  offline: 'Disconnected from the live event feed',
  reconnecting: 'Reconnecting to the live event feed…',
} as const;

/** The state of the one live connection, with a countdown and "retry now" while offline. */
export function ConnectionIndicator() {
  const { live } = useApp();
  const snap = useLiveSnapshot();
  const seconds = useCountdown(snap.status === 'offline' ? snap.nextRetryAt : undefined);
  return (
    <div className={`conn conn-${snap.status}`} title={DESCRIPTIONS[snap.status]}>
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label" data-testid="connection-status" role="status" aria-live="polite">
        {snap.status}
      </span>
      {snap.status === 'offline' && (
        <>
          {seconds !== undefined && <span className="conn-retry">retry in {seconds}s</span>}
          <button type="button" className="link-button" onClick={() => live.retryNow()}>
            Retry now
          </button>
        </>
      )}
    </div>
  );
}

function useCountdown(until: number | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === undefined) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [until]);
  return until === undefined ? undefined : Math.max(0, Math.ceil((until - now) / 1000));
}
