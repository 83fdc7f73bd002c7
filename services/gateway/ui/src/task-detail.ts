import type { TaskCost, TaskDetail } from '@jousting/contracts';
import type { CoordEvent, OutputLine } from './coord-events';

/**
 * The task detail page without React: live events applied to the loaded TaskDetail, output lines
 * merged without repeats, and the formatting of times, durations and costs.
 */

/** The most output lines kept in the page; older ones are dropped first. */
export const MAX_OUTPUT_LINES = 5000;

const lineKey = (l: OutputLine) => `${l.at}\u0000${l.stream}\u0000${l.line}`;

/**
 * `existing` followed by the lines of `incoming` it does not hold yet (the API's kept output and the
 * live lines overlap around the moment the page loaded), capped at `max` newest lines.
 */
export function mergeOutput(
  existing: readonly OutputLine[],
  incoming: readonly OutputLine[],
  max = MAX_OUTPUT_LINES,
): OutputLine[] {
  if (incoming.length === 0) return existing as OutputLine[];
  // Only lines as old as the oldest incoming one can repeat it: look at the tail only.
  const oldest = incoming.reduce((min, l) => (l.at < min ? l.at : min), incoming[0]?.at ?? '');
  const seen = new Set<string>();
  for (let i = existing.length - 1; i >= 0; i--) {
    const line = existing[i] as OutputLine;
    if (line.at < oldest) break;
    seen.add(lineKey(line));
  }
  const added: OutputLine[] = [];
  for (const line of incoming) {
    const key = lineKey(line);
    if (seen.has(key)) continue;
    seen.add(key);
    added.push(line);
  }
  if (added.length === 0) return existing as OutputLine[];
  const merged = [...existing, ...added];
  return merged.length > max ? merged.slice(merged.length - max) : merged;
}

export interface DetailChange {
  detail: TaskDetail;
  /** Something changed that only a fresh read shows in full (attempts, edited fields). */
  refetch: boolean;
}

/** Applies one live event to the task shown; the same object back when it is not about it. */
export function applyToDetail(detail: TaskDetail, event: CoordEvent): DetailChange {
  const same = { detail, refetch: false };
  switch (event.type) {
    case 'coord.task-updated': {
      const d = event.data;
      if (d.id !== detail.id) return same;
      if (d.from === d.to) return { detail, refetch: true };
      const next: TaskDetail = { ...detail, status: d.to, updatedAt: event.time };
      if (d.reason) next.statusReason = d.reason;
      else delete next.statusReason;
      if (d.workerId) next.workerId = d.workerId;
      return { detail: next, refetch: true };
    }
    case 'coord.task-output': {
      if (event.data.id !== detail.id) return same;
      const output = mergeOutput(detail.output, event.data.lines);
      return { detail: output === detail.output ? detail : { ...detail, output }, refetch: false };
    }
    case 'coord.dep-added':
    case 'coord.dep-removed': {
      const { id, depId } = event.data;
      const adding = event.type === 'coord.dep-added';
      if (id === detail.id) {
        const deps = toggle(detail.deps, depId, adding);
        return deps === detail.deps ? same : { detail: { ...detail, deps }, refetch: false };
      }
      if (depId === detail.id) {
        const dependents = toggle(detail.dependents, id, adding);
        return dependents === detail.dependents
          ? same
          : { detail: { ...detail, dependents }, refetch: false };
      }
      return same;
    }
    case 'coord.task-created': {
      const { task } = event.data;
      if (!task.deps.includes(detail.id) || detail.dependents.includes(task.id)) return same;
      return { detail: { ...detail, dependents: [...detail.dependents, task.id] }, refetch: false };
    }
    default:
      return same;
  }
}

function toggle(list: string[], value: string, present: boolean): string[] {
  const has = list.includes(value);
  if (has === present) return list;
  return present ? [...list, value] : list.filter((v) => v !== value);
}

/**
 * A fresh read of the task, keeping output lines that arrived live but are not in the read yet
 * (the read may be older than the newest event).
 */
export function withFreshRead(current: TaskDetail | undefined, fresh: TaskDetail): TaskDetail {
  if (!current || current.id !== fresh.id) return fresh;
  return { ...fresh, output: mergeOutput(fresh.output, current.output) };
}

// --- formatting ---

/** 14:03:07 today, else 2025-03-04 14:03. */
export function formatTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const time = t.toLocaleTimeString('en-GB', { hour12: false });
  const sameDay = new Date(now).toDateString() === t.toDateString();
  if (sameDay) return time;
  const date = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  return `${date} ${time.slice(0, 5)}`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long from `from` to `to` (or now, while it runs). */
export function durationBetween(from: string | undefined, to: string | undefined, now = Date.now()): string {
  if (!from) return '—';
  const start = Date.parse(from);
  const end = to ? Date.parse(to) : now;
  return formatDuration(end - start);
}

/** "5 s ago", "3 min ago", "2 h ago", else the time. */
export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return formatTime(iso, now);
}

/** $0.0123 · 1,200 in / 350 out tokens; "—" for nothing spent. */
export function formatCost(cost: Partial<TaskCost> | undefined): string {
  if (!cost) return '—';
  const usd = cost.usd ?? 0;
  const input = cost.inputTokens ?? 0;
  const output = cost.outputTokens ?? 0;
  if (usd === 0 && input === 0 && output === 0) return '—';
  const parts: string[] = [];
  if (usd > 0) parts.push(`$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`);
  if (input > 0 || output > 0)
    parts.push(`${input.toLocaleString('en-US')} in / ${output.toLocaleString('en-US')} out tokens`);
  return parts.join(' · ');
}
