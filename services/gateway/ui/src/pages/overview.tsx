import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText, type Readiness } from '../api';
import { SvgIcon } from '../components/icons';
import { clock } from '../components/status-strip';
import { useApp, useEventLog, useLiveEvents, useLiveSnapshot } from '../context';
import { eventActor } from '../event-log';
import { Link } from '../router';
import { formatActor } from '../settings-form';

const REFRESH_MS = 5000;

/** Readiness of NATS and every service, polled and refreshed whenever the live feed says something. */
export function OverviewPage() {
  const { api } = useApp();
  const snap = useLiveSnapshot();
  const [readiness, setReadiness] = useState<Readiness | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [checkedAt, setCheckedAt] = useState<number | undefined>();
  const [loading, setLoading] = useState(false);
  const inFlight = useRef(false);

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setLoading(true);
    try {
      setReadiness(await api.getReadiness());
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      inFlight.current = false;
      setLoading(false);
      setCheckedAt(Date.now());
    }
  }, [api]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  // The live connection coming back usually means the gateway did too: check at once.
  useEffect(() => {
    if (snap.status === 'online') void refresh();
  }, [snap.status, refresh]);
  useLiveEvents((e) => {
    if (e.event.type.startsWith('gateway.') || e.event.type.startsWith('fleet.')) void refresh();
  });

  const services = Object.entries(readiness?.services ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Overview</h1>
          <p className="muted">Health of the message bus and the services behind the gateway.</p>
        </div>
        <div className="page-actions">
          {checkedAt && <span className="muted small">Checked {clock(checkedAt)}</span>}
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => void refresh()}
            disabled={loading}
          >
            <SvgIcon name="refresh" size={14} />
            Refresh
          </button>
        </div>
      </div>

      {error && (
        <p className="callout callout-error" role="alert">
          Readiness check failed: {error}
        </p>
      )}

      <div className="stat-grid" data-testid="readiness" data-ready={readiness?.ready ?? 'unknown'}>
        <div className={`card stat ${readiness ? (readiness.ready ? 'stat-ok' : 'stat-bad') : ''}`}>
          <div className="stat-label">System</div>
          <div className="stat-value" data-testid="ready-status">
            {readiness ? (readiness.ready ? 'Ready' : 'Not ready') : '…'}
          </div>
          <div className="stat-sub">
            {readiness && readiness.missing.length > 0
              ? `Missing: ${readiness.missing.join(', ')}`
              : readiness
                ? 'Everything answers'
                : 'Checking…'}
          </div>
        </div>
        <div className={`card stat ${readiness ? (readiness.nats.connected ? 'stat-ok' : 'stat-bad') : ''}`}>
          <div className="stat-label">NATS</div>
          <div className="stat-value" data-testid="nats-status">
            {readiness ? (readiness.nats.connected ? 'Connected' : 'Disconnected') : '…'}
          </div>
          <div className="stat-sub">
            {readiness?.nats.server ?? ''}
            {readiness?.nats.rttMs !== undefined && ` · ${readiness.nats.rttMs.toFixed(1)} ms RTT`}
          </div>
        </div>
        <div className={`card stat ${snap.status === 'online' ? 'stat-ok' : 'stat-warn'}`}>
          <div className="stat-label">Live feed</div>
          <div className="stat-value">{snap.status}</div>
          <div className="stat-sub">
            {snap.lastSeq !== undefined ? `Stream position ${snap.lastSeq}` : 'Waiting for the gateway'}
          </div>
        </div>
      </div>

      <section className="card">
        <div className="card-head">
          <h2>Services</h2>
        </div>
        {services.length === 0 ? (
          <p className="empty muted">{readiness ? 'No services are registered.' : 'Checking…'}</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Service</th>
                <th>Status</th>
                <th className="num">Instances</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {services.map(([name, s]) => (
                <tr key={name} data-testid={`service-${name}`} data-ok={s.ok}>
                  <td className="mono">{name}</td>
                  <td>
                    <span className={`pill ${s.ok ? 'pill-ok' : 'pill-bad'}`}>{s.ok ? 'ok' : 'down'}</span>
                  </td>
                  <td className="num">{s.instances}</td>
                  <td className="muted">{s.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <RecentEvents />
    </div>
  );
}

function RecentEvents() {
  const events = useEventLog().slice(0, 6);
  return (
    <section className="card">
      <div className="card-head">
        <h2>Recent events</h2>
        <Link to="/events" className="link">
          All live events
        </Link>
      </div>
      {events.length === 0 ? (
        <p className="empty muted">No events since this page was opened.</p>
      ) : (
        <table className="table">
          <tbody>
            {events.map(({ seq, event }) => {
              const actor = eventActor(event);
              return (
                <tr key={seq}>
                  <td className="mono muted nowrap">{clock(Date.parse(event.time))}</td>
                  <td>
                    <span className="event-type">{event.type}</span>
                  </td>
                  <td className="mono">{event.subject ?? ''}</td>
                  <td className="muted">{actor ? formatActor(actor) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
