import type { BulkResult, CoordState, Task, Template } from '@jousting/contracts';
import { formatTable } from './output.js';
import { formatAge, formatTime } from './task-output.js';

const NONE = '-';
const MAX_TEXT = 60;

const truncate = (text: string, max = MAX_TEXT) =>
  text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const usd = (n: number) => `$${n.toFixed(2)}`;
const whole = (n: number) => String(Math.floor(n));

/** `coord status`: lifecycle, rate limits with their level, budgets, circuits and counts. */
export function formatCoordState(s: CoordState, now = Date.now()): string {
  const lines: string[] = [];
  const reason = s.reason ? ` (${s.reason})` : '';
  lines.push(`state: ${s.state}${reason} since ${formatTime(s.since)} (${formatAge(s.since, now)})`);
  if (s.drainDeadline) lines.push(`drain deadline: ${formatTime(s.drainDeadline)}`);
  lines.push(`tasks: ${s.counts.queued} queued, ${s.counts.running} running, ${s.counts.blocked} blocked`);
  if (s.replicas) {
    const standbys = s.replicas.standbys.map((r) => `${r.instance} (since ${formatTime(r.since)})`);
    lines.push(
      `replicas: leader ${s.replicas.leader}; ${standbys.length ? `standing by: ${standbys.join(', ')}` : 'no standby'}`,
    );
  }
  lines.push('');

  const r = s.rate;
  const level = r.level === 0 ? 'level 0 (configured limits)' : `level ${r.level} (halved ${r.level}\u00d7)`;
  lines.push(`rate limits: ${level}, ${plural(r.limitErrorsInWindow, 'limit error')} in the last 60 s`);
  lines.push(
    formatTable([
      ['  LIMIT', 'CONFIGURED', 'EFFECTIVE', 'AVAILABLE'],
      [
        '  requests/min',
        whole(r.configured.requestsPerMinute),
        whole(r.effective.requestsPerMinute),
        whole(r.requestsAvailable),
      ],
      [
        '  tokens/min',
        whole(r.configured.tokensPerMinute),
        whole(r.effective.tokensPerMinute),
        whole(r.tokensAvailable),
      ],
    ]),
  );
  if (r.lastAdjustedAt) lines.push(`  last adjusted ${formatTime(r.lastAdjustedAt)}`);
  if (s.meteredKinds.length > 0) lines.push(`  metered kinds: ${s.meteredKinds.join(', ')}`);
  lines.push('');

  lines.push('budgets:');
  const budgetRows = [['  SCOPE', 'SPENT', 'BUDGET', 'USED', 'STATUS', 'TOKENS IN/OUT']];
  for (const [scope, g] of [
    ['global', s.budgets.global] as const,
    ...s.budgets.workers.map((w) => [w.workerId, w] as const),
  ]) {
    budgetRows.push([
      `  ${scope}`,
      usd(g.spentUsd),
      g.budgetUsd === 0 ? 'unlimited' : usd(g.budgetUsd),
      g.budgetUsd === 0 ? NONE : `${Math.round(g.percent)}%`,
      g.status === 'ok' ? 'ok' : g.status.toUpperCase(),
      `${g.inputTokens}/${g.outputTokens}`,
    ]);
  }
  lines.push(formatTable(budgetRows), '');

  if (s.circuits.length === 0) {
    lines.push('circuits: none tracked yet');
  } else {
    lines.push('circuits:');
    const rows = [['  WORKER', 'STATE', 'FAILURES', 'RETRY AT']];
    for (const c of s.circuits) {
      rows.push([
        `  ${c.workerId}`,
        c.state === 'closed' ? 'closed' : c.state.toUpperCase(),
        String(c.consecutiveFailures),
        formatTime(c.retryAt),
      ]);
    }
    lines.push(formatTable(rows));
  }
  lines.push(
    '',
    `settings: maxTaskRetries ${s.settings.maxTaskRetries}, staleTaskMinutes ${s.settings.staleTaskMinutes}`,
  );
  return lines.join('\n');
}

/** One line after drain/pause/resume: what the coordinator does now. */
export function formatLifecycleChange(s: CoordState): string {
  const reason = s.reason ? ` (${s.reason})` : '';
  if (s.state === 'draining') {
    const deadline = s.drainDeadline ? `, at the latest at ${formatTime(s.drainDeadline)}` : '';
    return `draining${reason}: no new dispatch; pauses when ${plural(s.counts.running, 'running task')} finish${s.counts.running === 1 ? 'es' : ''}${deadline}`;
  }
  if (s.state === 'paused') return `paused${reason}: nothing is dispatched until \`jousting coord resume\``;
  return `running: dispatching (${s.counts.queued} queued)`;
}

const BULK_VERB = { cancel: 'canceled', retry: 'retried', reprioritize: 'reprioritized' } as const;

/** A bulk reply: how many were done, then each refused task with its reason. */
export function formatBulkResult(action: keyof typeof BULK_VERB, result: BulkResult): string {
  const lines = [
    `${BULK_VERB[action]} ${result.done.length} of ${plural(result.matched, 'matched task')}` +
      (result.refused.length > 0 ? `; refused ${result.refused.length}:` : ''),
  ];
  if (result.refused.length > 0) {
    const rows = [['  ID', 'CODE', 'REASON']];
    for (const r of result.refused) rows.push([`  ${r.id}`, r.code, r.message]);
    lines.push(formatTable(rows));
  }
  return lines.join('\n');
}

/** `templates ls`: one row per template. */
export function formatTemplateList(templates: Template[], now = Date.now()): string {
  if (templates.length === 0) return 'no templates';
  const rows = [['NAME', 'TASKS', 'VARIABLES', 'UPDATED', 'DESCRIPTION']];
  for (const t of templates) {
    rows.push([
      t.name,
      String(t.tasks.length),
      t.variables.length > 0 ? t.variables.map((v) => v.name).join(', ') : NONE,
      formatAge(t.updatedAt, now),
      truncate(t.description) || NONE,
    ]);
  }
  return formatTable(rows);
}

/** `templates show`: the template, its variables (required ones marked) and its tasks. */
export function formatTemplate(t: Template): string {
  const out = [
    formatTable([
      ['name', t.name],
      ['description', t.description || NONE],
      ['updated', `${formatTime(t.updatedAt)} by ${t.updatedBy}`],
    ]),
    '',
  ];
  if (t.variables.length === 0) {
    out.push('variables: none');
  } else {
    out.push('variables:');
    const rows = [['  NAME', 'DEFAULT', 'DESCRIPTION']];
    for (const v of t.variables) {
      rows.push([
        `  ${v.name}`,
        v.default === undefined ? '(required)' : JSON.stringify(v.default),
        v.description ?? '',
      ]);
    }
    out.push(formatTable(rows));
  }
  out.push('', 'tasks:');
  const rows = [['  ID', 'KIND', 'PRIORITY', 'DEPS', 'TITLE']];
  for (const task of t.tasks) {
    rows.push([
      `  ${task.id}`,
      task.kind,
      String(task.priority),
      task.deps.length > 0 ? task.deps.join(', ') : NONE,
      truncate(task.title),
    ]);
  }
  out.push(formatTable(rows));
  return out.join('\n');
}

/** `templates run`: the tasks just created. */
export function formatInstantiated(template: string, tasks: Task[]): string {
  const rows = [['  ID', 'STATUS', 'PRIORITY', 'TITLE']];
  for (const task of tasks)
    rows.push([`  ${task.id}`, task.status, String(task.priority), truncate(task.title)]);
  return [`created ${plural(tasks.length, 'task')} from ${template}:`, formatTable(rows)].join('\n');
}
