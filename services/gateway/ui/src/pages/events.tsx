import { SUBJECT_PATTERN_RE, subjectMatches } from '@jousting/contracts/subjects';
import { useId, useMemo, useState } from 'react';
import { SvgIcon } from '../components/icons';
import { useApp, useEventLog, useLiveSnapshot } from '../context';
import { eventActor } from '../event-log';
import type { LiveEvent } from '../live';
import { formatActor } from '../settings-form';

/** Every event the gateway forwards, newest first, with a subject filter and a pause. */
export function EventsPage() {
  const { events: log } = useApp();
  const liveEvents = useEventLog();
  const snap = useLiveSnapshot();
  const [pattern, setPattern] = useState('');
  const [frozen, setFrozen] = useState<LiveEvent[] | undefined>();
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  const filterId = useId();
  const filterHelpId = useId();

  const trimmed = pattern.trim();
  const patternError =
    trimmed === '' || SUBJECT_PATTERN_RE.test(trimmed)
      ? undefined
      : 'Not a subject pattern: use tokens separated by ".", "*" for one token, ">" at the end for the rest.';
  const shown = frozen ?? liveEvents;
  const filtered = useMemo(
    () =>
      trimmed === '' || patternError ? shown : shown.filter((e) => subjectMatches(trimmed, e.event.type)),
    [shown, trimmed, patternError],
  );
  const newWhilePaused = frozen ? countNewer(liveEvents, frozen[0]?.seq) : 0;

  const toggle = (seq: number) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>Live events</h1>
          <p className="muted">
            Every event on the bus as it happens; the newest {log.capacity} are kept. Connection:{' '}
            {snap.status}.
          </p>
        </div>
      </div>

      <div className="toolbar card">
        <div className="toolbar-field">
          <label htmlFor={filterId} className="label">
            Filter by type
          </label>
          <input
            id={filterId}
            name="pattern"
            className="input input-mono"
            placeholder="settings.>  or  *.changed"
            value={pattern}
            onChange={(e) => setPattern(e.target.value)}
            aria-invalid={patternError ? true : undefined}
            aria-describedby={filterHelpId}
            spellCheck={false}
            data-testid="event-filter"
          />
        </div>
        <div className="toolbar-actions">
          <span className="muted small" data-testid="event-count">
            {filtered.length} shown
            {newWhilePaused > 0 && ` · ${newWhilePaused} new while paused`}
          </span>
          <button
            type="button"
            className={`btn ${frozen ? 'btn-primary' : 'btn-secondary'}`}
            onClick={() => setFrozen(frozen ? undefined : liveEvents)}
            aria-pressed={frozen !== undefined}
            data-testid="event-pause"
          >
            <SvgIcon name={frozen ? 'play' : 'pause'} size={14} />
            {frozen ? 'Resume' : 'Pause'}
          </button>
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => {
              log.clear();
              setFrozen(frozen ? [] : undefined);
              setOpen(new Set());
            }}
          >
            Clear
          </button>
        </div>
        <p id={filterHelpId} className={patternError ? 'field-error toolbar-help' : 'help toolbar-help'}>
          {patternError ?? 'NATS subject pattern over the event type; empty shows everything.'}
        </p>
      </div>

      <section className="card">
        {filtered.length === 0 ? (
          <p className="empty muted" data-testid="events-empty">
            {shown.length === 0
              ? 'No events yet. Change a setting to see one arrive.'
              : 'No event matches the filter.'}
          </p>
        ) : (
          <table className="table events-table">
            <thead>
              <tr>
                <th className="col-toggle">
                  <span className="sr-only">Details</span>
                </th>
                <th>Time</th>
                <th className="num">Seq</th>
                <th>Type</th>
                <th>Subject</th>
                <th>Actor</th>
              </tr>
            </thead>
            <tbody>
              {filtered.map((e) => (
                <EventRow key={e.seq} entry={e} open={open.has(e.seq)} onToggle={() => toggle(e.seq)} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function EventRow({ entry, open, onToggle }: { entry: LiveEvent; open: boolean; onToggle: () => void }) {
  const { seq, event, replayed } = entry;
  const actor = eventActor(event);
  const time = new Date(event.time);
  return (
    <>
      <tr className={`event-row ${open ? 'is-open' : ''}`} data-testid="event-row" data-type={event.type}>
        <td className="col-toggle">
          <button
            type="button"
            className="btn btn-ghost btn-icon btn-small chevron"
            onClick={onToggle}
            aria-expanded={open}
            aria-label={`${open ? 'Hide' : 'Show'} event ${seq}`}
          >
            <SvgIcon name="chevron" size={14} />
          </button>
        </td>
        <td className="mono nowrap" title={event.time}>
          {Number.isNaN(time.getTime()) ? event.time : time.toLocaleTimeString([], { hour12: false })}
          <span className="ms">.{String(time.getMilliseconds()).padStart(3, '0')}</span>
        </td>
        <td className="num mono muted">
          {seq}
          {replayed && (
            <span className="replayed" title="Delivered by the replay after a reconnect">
              {' '}
              ↺
            </span>
          )}
        </td>
        <td>
          <span className={`event-type event-${event.type.split('.')[0]}`}>{event.type}</span>
        </td>
        <td className="mono">{event.subject ?? ''}</td>
        <td>{actor ? formatActor(actor) : <span className="muted">—</span>}</td>
      </tr>
      {open && (
        <tr className="event-detail">
          <td colSpan={6}>
            <pre className="json" data-testid="event-json">
              {JSON.stringify(event, null, 2)}
            </pre>
          </td>
        </tr>
      )}
    </>
  );
}

function countNewer(events: LiveEvent[], seq: number | undefined): number {
  if (seq === undefined) return events.length;
  let count = 0;
  for (const e of events) if (e.seq > seq) count++;
  return count;
}
