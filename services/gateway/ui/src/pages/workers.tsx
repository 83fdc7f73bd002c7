import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { errorText } from '../api';
import { PageHead } from '../components/page-head';
import { useApp, useLiveEvents } from '../context';
import { parseWorkerInfo } from '../coord-events';
import { Link } from '../router';
import { taskPath } from '../routes';
import { formatTime, relativeTime } from '../task-detail';
import { WorkerStore } from '../worker-store';

/** A slow re-read keeps "last seen" honest: heartbeats are not events. */
const REFRESH_MS = 15_000;

/** The workers: what they run, how much, and whether they are there; live from coordinator events. */
export function WorkersPage() {
  const { api, live } = useApp();
  const [store] = useState(() => new WorkerStore());
  const snap = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const [error, setError] = useState<string | undefined>();
  const [now, setNow] = useState(() => Date.now());

  const read = useCallback(async () => {
    store.beginLoad();
    try {
      const { items } = await api.listWorkers();
      store.finishLoad(items.map(parseWorkerInfo).filter((w) => w !== undefined));
      setError(undefined);
    } catch (err) {
      store.finishLoad(store.getSnapshot().workers);
      setError(errorText(err));
    }
  }, [api, store]);

  useEffect(() => {
    void read();
    const timer = setInterval(() => void read(), REFRESH_MS);
    const tick = setInterval(() => setNow(Date.now()), 5000);
    return () => {
      clearInterval(timer);
      clearInterval(tick);
    };
  }, [read]);
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') void read();
      }),
    [live, read],
  );
  useLiveEvents((e) => store.apply(e.event));

  const online = snap.workers.filter((w) => w.status === 'online');
  const slots = online.reduce((sum, w) => sum + w.capacity, 0);
  const busy = online.reduce((sum, w) => sum + w.running.length, 0);
  return (
    <div className="page page-wide">
      <PageHead title="Workers" onRefresh={() => void read()}>
        The machines that run tasks, as the coordinator sees them, updated live.
      </PageHead>

      {error && (
        <p className="callout callout-error" role="alert">
          Could not list the workers: {error}
        </p>
      )}

      <div className="stat-grid">
        <div className={`card stat ${online.length > 0 ? 'stat-ok' : 'stat-warn'}`}>
          <div className="stat-label">Online</div>
          <div className="stat-value" data-testid="workers-online">
            {online.length}
          </div>
          <div className="stat-sub">of {snap.workers.length} known</div>
        </div>
        <div className="card stat">
          <div className="stat-label">Busy slots</div>
          <div className="stat-value" data-testid="workers-busy">
            {busy} / {slots}
          </div>
          <div className="stat-sub">tasks held / capacity of online workers</div>
        </div>
        <div className="card stat">
          <div className="stat-label">Kinds served</div>
          <div className="stat-value stat-value-small">
            {[...new Set(online.flatMap((w) => w.kinds))].sort().join(', ') || '—'}
          </div>
          <div className="stat-sub">by online workers</div>
        </div>
      </div>

      <section className="card">
        {snap.workers.length === 0 ? (
          <p className="empty muted" data-testid="workers-empty">
            {snap.loaded ? 'No worker has connected yet. Start one with `jousting worker`.' : 'Loading…'}
          </p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="workers-table">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th>Status</th>
                  <th>Kinds</th>
                  <th>Labels</th>
                  <th className="num">Running</th>
                  <th>Tasks</th>
                  <th>Last seen</th>
                  <th>Version</th>
                </tr>
              </thead>
              <tbody>
                {snap.workers.map((w) => (
                  <tr key={w.id} data-testid={`worker-row-${w.id}`} data-status={w.status}>
                    <td>
                      <div className="row-title">{w.name}</div>
                      <div className="mono muted small">{w.id}</div>
                    </td>
                    <td>
                      <span
                        className={`pill ${w.status === 'online' ? 'pill-ok' : 'pill-off'}`}
                        data-testid={`worker-status-${w.id}`}
                      >
                        {w.status}
                      </span>
                    </td>
                    <td>
                      {w.kinds.map((k) => (
                        <span key={k} className="kind">
                          {k}
                        </span>
                      ))}
                    </td>
                    <td>
                      {w.labels.length === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        w.labels.map((l) => (
                          <span key={l} className="label-chip">
                            {l}
                          </span>
                        ))
                      )}
                    </td>
                    <td className="num" data-testid={`worker-running-${w.id}`}>
                      <CapacityMeter used={w.running.length} capacity={w.capacity} />
                    </td>
                    <td className="small">
                      {w.running.length === 0 ? (
                        <span className="muted">idle</span>
                      ) : (
                        w.running.slice(0, 5).map((t) => (
                          <Link key={t} to={taskPath(t)} className="mono worker-task">
                            {t}
                          </Link>
                        ))
                      )}
                      {w.running.length > 5 && <span className="muted"> +{w.running.length - 5}</span>}
                    </td>
                    <td
                      className="small nowrap"
                      title={`${formatTime(w.lastSeenAt)} · connected ${formatTime(w.connectedAt)}`}
                    >
                      {relativeTime(w.lastSeenAt, now)}
                    </td>
                    <td className="mono small muted">{w.version}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function CapacityMeter({ used, capacity }: { used: number; capacity: number }) {
  const share = capacity > 0 ? Math.min(1, used / capacity) : 0;
  return (
    <span className="capacity" title={`${used} of ${capacity} slots in use`}>
      <span className="capacity-text">
        {used} / {capacity}
      </span>
      <span className="capacity-bar" aria-hidden="true">
        <span style={{ width: `${share * 100}%` }} />
      </span>
    </span>
  );
}
