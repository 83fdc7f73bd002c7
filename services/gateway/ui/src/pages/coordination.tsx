import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { ApiError, errorText } from '../api';
import { DialogField, FormDialog, useFormDialog } from '../components/form-dialog';
import { SvgIcon } from '../components/icons';
import { ReadOnlyNotice } from '../components/role-notice';
import { clock } from '../components/status-strip';
import { useApp, useCanWrite, useLiveEvents } from '../context';
import { type CoordState, coordApi } from '../coord-api';
import {
  buildDrainBody,
  CoordRefresher,
  checkReason,
  circuitRows,
  formatCount,
  type GaugeView,
  gaugeView,
  LIFECYCLE_HELP,
  LIFECYCLE_TITLES,
  levelText,
  lifecycleActions,
  lifecycleTone,
  MAX_DRAIN_SECONDS,
  MAX_REASON,
  rateRows,
  rateTone,
  type Tone,
} from '../coord-state';
import { Link } from '../router';
import { formatTime, relativeTime } from '../task-detail';
import { systemClock } from '../throttle';
import '../coord-pages.css';
import { PageHead } from '../components/page-head';

/** Polled this often while the page is visible; policy events read sooner. */
const POLL_MS = 5000;
const EVENT_THROTTLE_MS = 400;

/** The coordinator's lifecycle, rate limits, budgets and circuits, live; drain, pause and resume it. */
export function CoordinationPage() {
  const { api, live, notices } = useApp();
  const canWrite = useCanWrite();
  const [coord, setCoord] = useState<CoordState | undefined>();
  const [error, setError] = useState<{ text: string; status: number } | undefined>();
  const [checkedAt, setCheckedAt] = useState<number | undefined>();
  const [now, setNow] = useState(() => Date.now());
  const [dialog, setDialog] = useState<'drain' | 'pause' | undefined>();
  const [busy, setBusy] = useState(false);

  const fetchState = useCallback(async () => {
    try {
      setCoord(await coordApi.state(api));
      setError(undefined);
    } catch (err) {
      setError({ text: errorText(err), status: err instanceof ApiError ? err.status : 0 });
      throw err;
    } finally {
      setCheckedAt(Date.now());
      setNow(Date.now());
    }
  }, [api]);
  const fetchRef = useRef(fetchState);
  fetchRef.current = fetchState;

  const [refresher] = useState(
    () =>
      new CoordRefresher({
        clock: systemClock,
        fetch: () => fetchRef.current(),
        pollMs: POLL_MS,
        throttleMs: EVENT_THROTTLE_MS,
      }),
  );
  useEffect(() => {
    refresher.start(document.visibilityState !== 'hidden');
    const onVisibility = () => refresher.setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      refresher.stop();
    };
  }, [refresher]);
  useLiveEvents((e) => refresher.onEvent(e.event.type));
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') void refresher.refresh();
      }),
    [live, refresher],
  );
  // "retry in 12 s" counts down between reads.
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  const resume = async () => {
    setBusy(true);
    try {
      setCoord(await coordApi.resume(api));
      notices.action('Resumed the coordinator');
      notices.toast('success', 'Coordinator running', 'Queued tasks are dispatched again.');
    } catch (err) {
      notices.error(`Resume failed: ${errorText(err)}`);
      notices.toast('error', 'Could not resume', errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const actions = coord ? lifecycleActions(coord) : undefined;
  return (
    <div className="page page-wide coord-page" data-testid="coordination">
      <PageHead
        title="Coordination"
        status={checkedAt && <span className="muted small">Checked {clock(checkedAt)}</span>}
        onRefresh={() => void refresher.refresh()}
      >
        What the coordinator dispatches and within which limits: its state, rate limits, budgets and circuit
        breakers. Updated live.
      </PageHead>

      {!canWrite && <ReadOnlyNotice what="drain, pause or resume the coordinator" />}

      {error && (
        <p className="callout callout-error" role="alert" data-testid="coord-error">
          {error.status === 503
            ? `The coordinator does not answer (${error.text}). Retrying every ${POLL_MS / 1000} s.`
            : `Could not read the coordinator state: ${error.text}`}
        </p>
      )}

      {!coord ? (
        !error && (
          <div className="card empty">
            <div className="spinner" role="status" aria-label="Loading the coordinator state" />
          </div>
        )
      ) : (
        <>
          <section
            className={`card coord-lifecycle coord-tone-${lifecycleTone(coord.state)}`}
            data-testid="coord-lifecycle"
            data-state={coord.state}
          >
            <div className="coord-lifecycle-main">
              <div className="stat-label">State</div>
              <div className="coord-state-line">
                <span className={`coord-dot coord-dot-${lifecycleTone(coord.state)}`} aria-hidden="true" />
                <span className="coord-state-title" data-testid="coord-state">
                  {LIFECYCLE_TITLES[coord.state]}
                </span>
                <span className="muted small" title={formatTime(coord.since)}>
                  since {relativeTime(coord.since, now)}
                </span>
              </div>
              <p className="muted small coord-help">{LIFECYCLE_HELP[coord.state]}</p>
              {coord.reason && (
                <p className="coord-reason" data-testid="coord-reason">
                  Reason: {coord.reason}
                </p>
              )}
              {coord.drainDeadline && (
                <p className="small" data-testid="coord-deadline">
                  Running tasks are aborted and requeued at {formatTime(coord.drainDeadline)}.
                </p>
              )}
              {coord.replicas && (
                <p
                  className="muted small"
                  data-testid="coord-replicas"
                  title="The coordinator holding the leader lease answers; standbys take over if it stops"
                >
                  Served by <code>{coord.replicas.leader}</code>
                  {coord.replicas.standbys.length === 0
                    ? ' · no standby'
                    : ` · standing by: ${coord.replicas.standbys
                        .map((r) => `${r.instance} (since ${relativeTime(r.since, now)})`)
                        .join(', ')}`}
                </p>
              )}
            </div>
            <div className="coord-counts" data-testid="coord-counts">
              <Count label="Queued" value={coord.counts.queued} testId="coord-count-queued" />
              <Count label="Running" value={coord.counts.running} testId="coord-count-running" />
              <Count
                label="Blocked"
                value={coord.counts.blocked}
                testId="coord-count-blocked"
                tone={coord.counts.blocked > 0 ? 'warn' : 'off'}
                link="/tasks"
              />
            </div>
            {canWrite && actions && (
              <div className="coord-actions">
                <button
                  type="button"
                  className="btn btn-secondary"
                  disabled={!actions.drain.enabled || busy}
                  title={actions.drain.why ?? 'Stop dispatching, let running tasks finish, then pause'}
                  onClick={() => setDialog('drain')}
                  data-testid="coord-drain"
                >
                  Drain…
                </button>
                <button
                  type="button"
                  className="btn btn-secondary"
                  disabled={!actions.pause.enabled || busy}
                  title={actions.pause.why ?? 'Stop dispatching at once; running tasks go on'}
                  onClick={() => setDialog('pause')}
                  data-testid="coord-pause"
                >
                  <SvgIcon name="pause" size={14} /> Pause…
                </button>
                <button
                  type="button"
                  className="btn btn-primary"
                  disabled={!actions.resume.enabled || busy}
                  title={actions.resume.why ?? 'Dispatch again'}
                  onClick={() => void resume()}
                  data-testid="coord-resume"
                >
                  <SvgIcon name="play" size={14} /> Resume
                </button>
              </div>
            )}
          </section>

          <div className="coord-grid">
            <RateSection coord={coord} />
            <BudgetSection coord={coord} />
          </div>
          <CircuitSection coord={coord} now={now} />

          <p className="muted small coord-settings" data-testid="coord-settings">
            A task is retried at most <strong>{coord.settings.maxTaskRetries}</strong> times; a running task
            with no sign of life for{' '}
            <strong>
              {coord.settings.staleTaskMinutes === 0 ? '— (off)' : `${coord.settings.staleTaskMinutes} min`}
            </strong>{' '}
            is blocked. Limits and budgets are <Link to="/settings">settings</Link> and change live.
          </p>
        </>
      )}

      {dialog === 'drain' && (
        <DrainDialog
          onClose={(next) => {
            setDialog(undefined);
            if (next) setCoord(next);
          }}
        />
      )}
      {dialog === 'pause' && (
        <PauseDialog
          onClose={(next) => {
            setDialog(undefined);
            if (next) setCoord(next);
          }}
        />
      )}
    </div>
  );
}

function Count(props: { label: string; value: number; testId: string; tone?: Tone; link?: string }) {
  const { label, value, testId, tone = 'off', link } = props;
  return (
    <div className={`coord-count ${tone !== 'off' ? `coord-count-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>
        {link && value > 0 ? <Link to={link}>{value}</Link> : value}
      </div>
    </div>
  );
}

function RateSection({ coord }: { coord: CoordState }) {
  const rate = coord.rate;
  const tone = rateTone(rate);
  return (
    <section className="card" data-testid="coord-rate" data-level={rate.level}>
      <div className="card-head">
        <h2>Rate limits</h2>
        <span className={`pill ${tone === 'ok' ? 'pill-ok' : tone === 'bad' ? 'pill-bad' : 'pill-warn'}`}>
          level {rate.level}
        </span>
      </div>
      <div className="coord-body">
        <div className="coord-levels" title={levelText(rate.level)}>
          {[1, 2, 3, 4].map((l) => (
            <span key={l} className={`coord-level ${l <= rate.level ? `is-on coord-level-${tone}` : ''}`} />
          ))}
          <span className="small" data-testid="coord-level-text">
            {levelText(rate.level)}
          </span>
        </div>
        <table className="table coord-table">
          <thead>
            <tr>
              <th>Limit</th>
              <th className="num">Configured</th>
              <th className="num">Effective</th>
              <th>Available now</th>
            </tr>
          </thead>
          <tbody>
            {rateRows(rate).map((row) => (
              <tr key={row.name} data-testid={`coord-rate-${row.name}`}>
                <td>{row.title}</td>
                <td className="num">{formatCount(row.configured)}</td>
                <td className={`num ${row.reduced ? 'coord-reduced' : ''}`}>{formatCount(row.effective)}</td>
                <td>
                  <span className="coord-meter" aria-hidden="true">
                    <span style={{ width: `${row.availablePercent}%` }} />
                  </span>{' '}
                  <span className="small" data-testid={`coord-available-${row.name}`}>
                    {formatCount(row.available)}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">
          {rate.limitErrorsInWindow} rate-limit error{rate.limitErrorsInWindow === 1 ? '' : 's'} in the last
          60 s{rate.lastAdjustedAt && ` · last adjusted ${formatTime(rate.lastAdjustedAt)}`}
          {coord.meteredKinds.length > 0 && ` · applies to ${coord.meteredKinds.join(', ')} tasks`}
        </p>
      </div>
    </section>
  );
}

function BudgetSection({ coord }: { coord: CoordState }) {
  const { global, workers } = coord.budgets;
  return (
    <section className="card" data-testid="coord-budgets">
      <div className="card-head">
        <h2>Budgets</h2>
        <span className="muted small">warning at 80 %, stop at 100 %</span>
      </div>
      <div className="coord-body">
        <Gauge
          title="Global"
          view={gaugeView(global)}
          tokens={`${formatCount(global.inputTokens)} in / ${formatCount(global.outputTokens)} out`}
          testId="coord-budget-global"
          status={global.status}
        />
        {workers.length === 0 ? (
          <p className="muted small">No worker has spent anything yet.</p>
        ) : (
          workers.map((w) => (
            <Gauge
              key={w.workerId}
              title={w.workerId}
              view={gaugeView(w)}
              tokens={`${formatCount(w.inputTokens)} in / ${formatCount(w.outputTokens)} out`}
              testId={`coord-budget-${w.workerId}`}
              status={w.status}
              small
            />
          ))
        )}
      </div>
    </section>
  );
}

function Gauge(props: {
  title: string;
  view: GaugeView;
  tokens: string;
  testId: string;
  status: string;
  small?: boolean;
}) {
  const { title, view, tokens, testId, status, small } = props;
  return (
    <div
      className={`gauge gauge-${view.tone} ${small ? 'gauge-small' : ''}`}
      data-testid={testId}
      data-status={status}
    >
      <div className="gauge-head">
        <span className={small ? 'mono small' : 'gauge-title'}>{title}</span>
        <span className="small">
          {view.text} · <strong>{view.percentText}</strong>{' '}
          <span className={`pill gauge-pill gauge-pill-${view.tone}`}>{view.statusText}</span>
        </span>
      </div>
      <div className="gauge-track" aria-hidden="true">
        <span className="gauge-fill" style={{ width: `${view.fill}%` }} />
        <span className="gauge-mark" style={{ left: '80%' }} aria-hidden="true" />
      </div>
      <div className="muted small">{tokens} tokens</div>
    </div>
  );
}

function CircuitSection({ coord, now }: { coord: CoordState; now: number }) {
  const rows = circuitRows(coord.circuits, now);
  return (
    <section className="card" data-testid="coord-circuits">
      <div className="card-head">
        <h2>Circuit breakers</h2>
        <span className="muted small">a worker whose last 3 attempts failed is skipped for a cool-down</span>
      </div>
      {rows.length === 0 ? (
        <p className="empty muted" data-testid="coord-circuits-empty">
          No worker has a circuit yet: they appear after a worker's first attempt.
        </p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Circuit</th>
              <th className="num">Failures in a row</th>
              <th>Next</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.workerId} data-testid={`coord-circuit-${c.workerId}`} data-state={c.state}>
                <td className="mono">{c.workerId}</td>
                <td>
                  <span
                    className={`pill ${c.tone === 'ok' ? 'pill-ok' : c.tone === 'bad' ? 'pill-bad' : 'pill-warn'}`}
                  >
                    {c.state}
                  </span>
                </td>
                <td className="num">{c.failures}</td>
                <td className="small">{c.note}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DrainDialog({ onClose }: { onClose: (next: CoordState | undefined) => void }) {
  const { api, notices } = useApp();
  const ids = useId();
  const [timeout, setTimeoutText] = useState('');
  const [reason, setReason] = useState('');
  const { errors, failure, busy, run } = useFormDialog();

  const submit = () =>
    run(buildDrainBody({ timeout, reason }), 'Drain failed', async (body) => {
      const next = await coordApi.drain(api, body);
      notices.action('Draining the coordinator');
      notices.toast('success', 'Draining', 'Nothing new is dispatched; it pauses when running tasks finish.');
      onClose(next);
    });

  return (
    <FormDialog
      title="Drain the coordinator?"
      submitLabel="Drain"
      busy={busy}
      failure={failure}
      onSubmit={() => void submit()}
      onCancel={() => onClose(undefined)}
      testId="coord-drain-dialog"
    >
      <p>Nothing new is dispatched. When no task runs any more, the coordinator is paused.</p>
      <DialogField
        id={`${ids}-timeout`}
        label="Timeout in seconds"
        optional="optional"
        variant="number"
        value={timeout}
        onChange={setTimeoutText}
        placeholder={`1 … ${MAX_DRAIN_SECONDS}`}
        help="After this, what still runs is aborted and requeued. Empty waits for every task."
        error={errors.timeoutSeconds}
        testId="coord-drain-timeout"
        errorTestId="coord-field-error-timeoutSeconds"
      />
      <ReasonField id={`${ids}-reason`} value={reason} onChange={setReason} error={errors.reason} />
    </FormDialog>
  );
}

function PauseDialog({ onClose }: { onClose: (next: CoordState | undefined) => void }) {
  const { api, notices } = useApp();
  const ids = useId();
  const [reason, setReason] = useState('');
  const { errors, failure, busy, run } = useFormDialog();

  const submit = () =>
    run(checkReason(reason), 'Pause failed', async (checked) => {
      const next = await coordApi.pause(api, checked);
      notices.action('Paused the coordinator');
      notices.toast('success', 'Paused', 'Nothing is dispatched until resumed.');
      onClose(next);
    });

  return (
    <FormDialog
      title="Pause the coordinator?"
      submitLabel="Pause"
      danger
      busy={busy}
      failure={failure}
      onSubmit={() => void submit()}
      onCancel={() => onClose(undefined)}
      testId="coord-pause-dialog"
    >
      <p>Nothing is dispatched until it is resumed; tasks that run now go on.</p>
      <ReasonField id={`${ids}-reason`} value={reason} onChange={setReason} error={errors.reason} />
    </FormDialog>
  );
}

function ReasonField(props: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  error: string | undefined;
}) {
  return (
    <DialogField
      {...props}
      label="Reason"
      optional="optional"
      maxLength={MAX_REASON + 1}
      placeholder="e.g. provider outage"
      testId="coord-reason-input"
      errorTestId="coord-field-error-reason"
    />
  );
}
