import {
  type Progress,
  type TaskFilter,
  type TaskGraph,
  type TaskStatus,
  TaskStatus as TaskStatusEnum,
  type TaskSummary,
} from '@jousting/contracts';
import type { z } from 'zod';
import { levels } from './dag.js';
import { type TaskRecord, toSummary } from './task-record.js';
import type { TaskTable } from './task-table.js';

/** The graph command answers with at most this many nodes (the newest), to fit in one NATS message. */
export const GRAPH_MAX_NODES = 2000;

export function progressOf(table: TaskTable): Progress {
  const byStatus = {} as Record<TaskStatus, number>;
  for (const status of TaskStatusEnum.options) byStatus[status] = table.counts[status];
  const total = table.size;
  return {
    total,
    byStatus,
    percentDone: total === 0 ? 0 : Math.round((table.counts.complete / total) * 10_000) / 100,
  };
}

/** The test of a task filter (status, kind, label, text), without paging. */
export function taskMatcher(
  filter: Pick<z.output<typeof TaskFilter>, 'status' | 'kind' | 'label' | 'q'>,
): (t: TaskRecord) => boolean {
  const statuses = filter.status?.length ? new Set(filter.status) : undefined;
  const q = filter.q?.toLowerCase();
  return (t) =>
    (!statuses || statuses.has(t.status)) &&
    (filter.kind === undefined || t.kind === filter.kind) &&
    (filter.label === undefined || t.labels.includes(filter.label)) &&
    (q === undefined ||
      t.id.toLowerCase().includes(q) ||
      t.title.toLowerCase().includes(q) ||
      t.description.toLowerCase().includes(q));
}

export function listTasks(
  table: TaskTable,
  filter: z.output<typeof TaskFilter>,
): { items: TaskSummary[]; total: number; limit: number; offset: number; hasMore: boolean } {
  const { limit, offset } = filter;
  const statuses = filter.status?.length ? new Set(filter.status) : undefined;
  const q = filter.q?.toLowerCase();
  const matches = taskMatcher(filter);
  const items: TaskSummary[] = [];
  const all = table.ordered;
  let total = 0;
  const unfiltered = !statuses && filter.kind === undefined && filter.label === undefined && q === undefined;
  if (unfiltered) {
    total = all.length;
    for (let i = all.length - 1 - offset; i >= 0 && items.length < limit; i--) items.push(toSummary(all[i]!));
  } else {
    for (let i = all.length - 1; i >= 0; i--) {
      const task = all[i]!;
      if (!matches(task)) continue;
      if (total >= offset && items.length < limit) items.push(toSummary(task));
      total++;
    }
  }
  return { items, total, limit, offset, hasMore: offset + items.length < total };
}

/**
 * Nodes, edges, parallel levels (longest-path layering) and progress. Only the newest
 * GRAPH_MAX_NODES tasks are included (edges and levels among them); progress covers all tasks.
 */
export function graphOf(table: TaskTable, maxNodes = GRAPH_MAX_NODES): TaskGraph {
  const all = table.ordered;
  const included = all.slice(Math.max(0, all.length - maxNodes));
  const ids = new Set(included.map((t) => t.id));
  const edges: TaskGraph['edges'] = [];
  for (const task of included) {
    for (const dep of task.deps) if (ids.has(dep)) edges.push({ from: dep, to: task.id });
  }
  return {
    nodes: included.map(toSummary),
    edges,
    levels: levels(
      included.map((t) => t.id),
      (id) => table.get(id)?.deps ?? [],
    ),
    progress: progressOf(table),
  };
}
