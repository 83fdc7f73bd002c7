import type { CircuitState, CoordLifecycle, CoordState, RateState } from '@jousting/contracts';
import { type FormResult, untilTime } from './dead-letters';
import type { Clock } from './live';

/**
 * The coordination panel without React: which events re-read `GET /api/coord`, a refresher that
 * polls while the page is visible, and what the page shows for the lifecycle, rate limits,
 * budgets and circuits.
 */

export type { CircuitState, CoordLifecycle, CoordState, RateState };
export type BudgetGauge = CoordState['budgets']['global'];
export type Tone = 'ok' | 'warn' | 'bad' | 'off';

/** Events after which the coordinator state (lifecycle, limits, budgets, circuits, counts) may differ. */
export const COORD_STATE_EVENTS: readonly string[] = [
  'coord.rate-adjusted',
  'coord.budget-warning',
  'coord.budget-exceeded',
  'coord.circuit-opened',
  'coord.circuit-closed',
  'coord.task-blocked',
  'coord.started',
  'coord.draining',
  'coord.paused',
  'coord.bulk-applied',
  'coord.reconfigured',
];

export const isCoordStateEvent = (type: string) => COORD_STATE_EVENTS.includes(type);

export interface CoordRefresherOptions {
  clock: Clock;
  /** Reads the state once; the refresher never runs two at a time. */
  fetch: () => Promise<void>;
  /** How often to poll while visible. */
  pollMs: number;
  /** Events within this window make one read. */
  throttleMs: number;
}

/**
 * When to re-read the coordinator state: every `pollMs` while visible, and `throttleMs` after a
 * relevant event (a burst is one read). A read asked for while one runs happens right after it,
 * so the last event is never lost; a hidden page does not poll, and reads at once when shown.
 */
export class CoordRefresher {
  private pollTimer: unknown;
  private eventTimer: unknown;
  private running = false;
  private again = false;
  private visible = true;
  private stopped = true;

  constructor(private readonly opts: CoordRefresherOptions) {}

  start(visible = true): void {
    this.stopped = false;
    this.visible = visible;
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.clear('pollTimer');
    this.clear('eventTimer');
  }

  /** A live event arrived: read soon if it concerns the state. */
  onEvent(type: string): void {
    if (this.stopped || !isCoordStateEvent(type) || this.eventTimer !== undefined) return;
    this.eventTimer = this.opts.clock.setTimeout(() => {
      this.eventTimer = undefined;
      void this.refresh();
    }, this.opts.throttleMs);
  }

  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (this.stopped) return;
    if (visible) void this.refresh();
    else this.clear('pollTimer');
  }

  /** Reads now (or right after the read in flight) and restarts the poll. */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.clear('pollTimer');
    try {
      await this.opts.fetch();
    } catch {
      // The page shows fetch errors itself; the poll goes on.
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      void this.refresh();
      return;
    }
    if (this.visible) {
      this.pollTimer = this.opts.clock.setTimeout(() => {
        this.pollTimer = undefined;
        void this.refresh();
      }, this.opts.pollMs);
    }
  }

  private clear(which: 'pollTimer' | 'eventTimer'): void {
    if (this[which] === undefined) return;
    this.opts.clock.clearTimeout(this[which]);
    this[which] = undefined;
  }
}

// --- lifecycle ---

export const LIFECYCLE_TITLES: Record<CoordLifecycle, string> = {
  running: 'Running',
  draining: 'Draining',
  paused: 'Paused',
};

export const LIFECYCLE_HELP: Record<CoordLifecycle, string> = {
  running: 'Dispatching queued tasks to workers.',
  draining: 'Nothing new is dispatched; it pauses when the running tasks finish.',
  paused: 'Nothing is dispatched until resumed; running tasks go on.',
};

export const lifecycleTone = (state: CoordLifecycle): Tone =>
  state === 'running' ? 'ok' : state === 'draining' ? 'warn' : 'bad';

export interface ActionState {
  enabled: boolean;
  /** Why it is disabled (a tooltip). */
  why?: string;
}

/** Which lifecycle buttons make sense now. */
export function lifecycleActions(s: CoordState): Record<'drain' | 'pause' | 'resume', ActionState> {
  const budgetOut = s.budgets.global.status === 'exceeded';
  return {
    drain: s.state === 'running' ? { enabled: true } : { enabled: false, why: `It is already ${s.state}` },
    pause: s.state === 'paused' ? { enabled: false, why: 'It is already paused' } : { enabled: true },
    resume:
      s.state === 'running'
        ? { enabled: false, why: 'It is already running' }
        : budgetOut
          ? { enabled: false, why: 'The global budget is exceeded: raise coordGlobalBudgetUsd first' }
          : { enabled: true },
  };
}

export const MAX_REASON = 500;
export const MAX_DRAIN_SECONDS = 7 * 24 * 3600;

export interface DrainDraft {
  /** Seconds as typed; empty waits for every running task. */
  timeout: string;
  reason: string;
}

/** The body of `POST /api/coord/drain`, or what is wrong with the draft, by field. */
export function buildDrainBody(draft: DrainDraft): FormResult<{ timeoutSeconds?: number; reason?: string }> {
  const errors: Record<string, string> = {};
  const body: { timeoutSeconds?: number; reason?: string } = {};
  const timeout = draft.timeout.trim();
  if (timeout !== '') {
    const n = Number(timeout);
    if (!/^\d+$/.test(timeout) || !Number.isSafeInteger(n)) errors.timeoutSeconds = 'Whole seconds';
    else if (n < 1 || n > MAX_DRAIN_SECONDS)
      errors.timeoutSeconds = `From 1 to ${MAX_DRAIN_SECONDS} (7 days)`;
    else body.timeoutSeconds = n;
  }
  const reason = checkReason(draft.reason);
  if (!reason.ok) Object.assign(errors, reason.errors);
  else if (reason.value !== undefined) body.reason = reason.value;
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value: body };
}

/** An optional reason, trimmed; undefined when empty. */
export function checkReason(raw: string): FormResult<string | undefined> {
  const reason = raw.trim();
  if (reason.length > MAX_REASON)
    return { ok: false, errors: { reason: `At most ${MAX_REASON} characters` } };
  return { ok: true, value: reason === '' ? undefined : reason };
}

// --- rate limits ---

export interface RateRow {
  name: 'requests' | 'tokens';
  title: string;
  configured: number;
  effective: number;
  available: number;
  /** Share of the effective limit available now, 0–100. */
  availablePercent: number;
  /** The effective limit is below the configured one. */
  reduced: boolean;
}

export const MAX_RATE_LEVEL = 4;

export function rateRows(rate: RateState): RateRow[] {
  const row = (
    name: RateRow['name'],
    title: string,
    key: 'requestsPerMinute' | 'tokensPerMinute',
    available: number,
  ): RateRow => {
    const effective = rate.effective[key];
    return {
      name,
      title,
      configured: rate.configured[key],
      effective,
      available: Math.max(0, Math.floor(available)),
      availablePercent: effective > 0 ? clampPercent((available / effective) * 100) : 0,
      reduced: effective < rate.configured[key],
    };
  };
  return [
    row('requests', 'Requests / min', 'requestsPerMinute', rate.requestsAvailable),
    row('tokens', 'Tokens / min', 'tokensPerMinute', rate.tokensAvailable),
  ];
}

/** "Configured limits" or "Level 2 of 4: limits halved twice". */
export function levelText(level: number): string {
  if (level <= 0) return 'Level 0: the configured limits';
  const times = level === 1 ? 'once' : level === 2 ? 'twice' : `${level} times`;
  return `Level ${level} of ${MAX_RATE_LEVEL}: limits halved ${times} after rate-limit errors`;
}

export const rateTone = (rate: RateState): Tone =>
  rate.level === 0 ? 'ok' : rate.level >= 3 ? 'bad' : 'warn';

// --- budgets ---

export interface GaugeView {
  tone: Tone;
  /** Bar width, 0–100. */
  fill: number;
  unlimited: boolean;
  /** "$8.50 of $10.00" or "$8.50 (no budget)". */
  text: string;
  percentText: string;
  statusText: string;
}

export const formatUsd = (n: number) => `$${n.toFixed(2)}`;

export function gaugeView(g: BudgetGauge): GaugeView {
  const unlimited = g.budgetUsd <= 0;
  const tone: Tone =
    g.status === 'exceeded' ? 'bad' : g.status === 'warning' ? 'warn' : unlimited ? 'off' : 'ok';
  return {
    tone,
    fill: unlimited ? 0 : clampPercent(g.percent),
    unlimited,
    text: unlimited
      ? `${formatUsd(g.spentUsd)} spent, no budget`
      : `${formatUsd(g.spentUsd)} of ${formatUsd(g.budgetUsd)}`,
    percentText: unlimited ? '—' : `${Math.round(g.percent)}%`,
    statusText: g.status === 'ok' ? (unlimited ? 'unlimited' : 'ok') : g.status,
  };
}

/** Compact token counts: 950, 12.3k, 4.1M. */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1_000_000) return `${trimZero((n / 1000).toFixed(1))}k`;
  return `${trimZero((n / 1_000_000).toFixed(1))}M`;
}

// --- circuits ---

export interface CircuitRow {
  workerId: string;
  state: CircuitState['state'];
  tone: Tone;
  failures: number;
  /** "retry in 12 s" for an open circuit, "trial task next" when half-open. */
  note: string;
}

const CIRCUIT_ORDER = { open: 0, 'half-open': 1, closed: 2 } as const;

/** Open circuits first, then half-open, then closed; by worker within each. */
export function circuitRows(circuits: readonly CircuitState[], now = Date.now()): CircuitRow[] {
  return [...circuits]
    .sort((a, b) => CIRCUIT_ORDER[a.state] - CIRCUIT_ORDER[b.state] || a.workerId.localeCompare(b.workerId))
    .map((c) => ({
      workerId: c.workerId,
      state: c.state,
      tone: c.state === 'open' ? 'bad' : c.state === 'half-open' ? 'warn' : 'ok',
      failures: c.consecutiveFailures,
      note:
        c.state === 'open'
          ? c.retryAt
            ? `retry ${untilTime(c.retryAt, now)}`
            : 'skipped'
          : c.state === 'half-open'
            ? 'one trial task next'
            : '',
    }));
}

function clampPercent(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.min(100, Math.max(0, n));
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}
