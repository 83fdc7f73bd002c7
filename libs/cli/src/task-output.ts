import type { TaskDetail, TaskSummary, WorkerInfo } from '@jousting/contracts';
import type { DeadLetterPage, TaskPage } from './http-client.js';
import { formatTable } from './output.js';

const MAX_TITLE = 60;
const NONE = '-';

const truncate = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
const joined = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : NONE);

/** An ISO time without milliseconds: `2026-01-02T03:04:05Z`. */
export const formatTime = (iso: string | undefined) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : NONE);

/** How long ago `iso` was, in the largest whole unit: `4s ago`, `12m ago`, `3h ago`, `2d ago`. */
export function formatAge(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** `tasks ls`: one row per task, then where the page sits in the whole list. */
export function formatTaskPage(page: TaskPage): string {
  if (page.items.length === 0) {
    return page.total > 0 ? `no tasks from offset ${page.offset} (${page.total} in all)` : 'no tasks';
  }
  const rows = [['ID', 'STATUS', 'PRIORITY', 'KIND', 'TITLE', 'DEPS', 'WORKER']];
  for (const task of page.items) rows.push(taskRow(task));
  const lines = [formatTable(rows)];
  if (page.offset > 0 || page.hasMore) {
    const last = page.offset + page.items.length;
    lines.push(
      `${page.offset + 1}-${last} of ${page.total}${page.hasMore ? `; next page: --offset ${last}` : ''}`,
    );
  }
  return lines.join('\n');
}

const taskRow = (task: TaskSummary) => [
  task.id,
  task.status,
  String(task.priority),
  task.kind,
  truncate(task.title, MAX_TITLE),
  String(task.deps.length),
  task.workerId ?? NONE,
];

/** `tasks show`: the fields, deps and dependents, the attempts, and the last `lines` of output. */
export function formatTaskDetail(task: TaskDetail, lines = 20): string {
  const status = task.statusReason ? `${task.status} (${task.statusReason})` : task.status;
  const fields: string[][] = [
    ['id', task.id],
    ['title', task.title],
    ['status', status],
    ['kind', task.kind],
    ['priority', String(task.priority)],
    ['labels', joined(task.labels)],
    ['worker', task.workerId ?? NONE],
    ['created', formatTime(task.createdAt)],
    ['updated', formatTime(task.updatedAt)],
    ['source', task.source],
    ['trace', task.traceId],
    ['payload', JSON.stringify(task.payload)],
  ];
  if (task.error) fields.push(['error', `${task.error.class}: ${task.error.message}`]);
  if (task.result !== undefined) fields.push(['result', JSON.stringify(task.result)]);
  const { usd, inputTokens, outputTokens } = task.cost;
  if (usd > 0 || inputTokens > 0 || outputTokens > 0) {
    fields.push(['cost', `$${usd.toFixed(4)}, ${inputTokens} input / ${outputTokens} output tokens`]);
  }
  fields.push(['deps', joined(task.deps)], ['dependents', joined(task.dependents)]);

  const out = [formatTable(fields)];
  if (task.description) out.push('', 'description:', indent(task.description));
  out.push('', task.attempts.length > 0 ? 'attempts:' : 'attempts: none');
  if (task.attempts.length > 0) {
    const rows = [['#', 'WORKER', 'OUTCOME', 'ASSIGNED', 'STARTED', 'ENDED', 'ERROR']];
    for (const a of task.attempts) {
      rows.push([
        String(a.number),
        a.workerId,
        a.outcome,
        formatTime(a.assignedAt),
        formatTime(a.startedAt),
        formatTime(a.endedAt),
        a.error ? `${a.error.class}: ${a.error.message}` : '',
      ]);
    }
    out.push(indent(formatTable(rows)));
  }
  if (task.output.length > 0) {
    const shown = task.output.slice(-lines);
    out.push(
      '',
      shown.length < task.output.length
        ? `output (last ${shown.length} of ${task.output.length} lines):`
        : 'output:',
      ...shown.map((o) => `  ${o.stream === 'stdout' ? '' : `[${o.stream}] `}${o.line}`),
    );
  }
  return out.join('\n');
}

/** `workers ls`: one row per worker. */
export function formatWorkers(workers: WorkerInfo[], now = Date.now()): string {
  if (workers.length === 0) return 'no workers';
  const rows = [['ID', 'STATUS', 'KINDS', 'LABELS', 'CAPACITY', 'RUNNING', 'LAST SEEN']];
  for (const w of workers) {
    rows.push([
      w.id,
      w.status,
      joined(w.kinds),
      joined(w.labels),
      String(w.capacity),
      String(w.running.length),
      formatAge(w.lastSeenAt, now),
    ]);
  }
  return formatTable(rows);
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

/** `dlq ls`: one row per dead letter, then where the page sits in the whole list. */
export function formatDeadLetterPage(page: DeadLetterPage, now = Date.now()): string {
  if (page.items.length === 0) {
    return page.total > 0
      ? `no dead letters from offset ${page.offset} (${page.total} in all)`
      : 'no dead letters';
  }
  const rows = [['ID', 'STATUS', 'KIND', 'ATTEMPTS', 'ERROR', 'AGE', 'TITLE']];
  for (const d of page.items) {
    rows.push([
      d.id,
      d.status,
      d.kind,
      String(d.attempts),
      truncate(`${d.lastError.class}: ${d.lastError.message}`, MAX_TITLE),
      formatAge(d.createdAt, now),
      truncate(d.title, MAX_TITLE),
    ]);
  }
  const lines = [formatTable(rows)];
  if (page.offset > 0 || page.hasMore) {
    const last = page.offset + page.items.length;
    lines.push(
      `${page.offset + 1}-${last} of ${page.total}${page.hasMore ? `; next page: --offset ${last}` : ''}`,
    );
  }
  return lines.join('\n');
}
