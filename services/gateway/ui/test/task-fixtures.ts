import type { TaskStatus, TaskSummary, WorkerInfo } from '@jousting/contracts';
import type { CoordEvent } from '../src/coord-events';

/** Fake tasks and coordinator events for the task tests. */

let clock = Date.parse('2025-01-01T00:00:00Z');
/** A later ISO time on every call. */
export function tick(ms = 1000): string {
  clock += ms;
  return new Date(clock).toISOString();
}

export function task(id: string, patch: Partial<TaskSummary> = {}): TaskSummary {
  const at = patch.createdAt ?? tick();
  return {
    id,
    title: `Task ${id}`,
    kind: 'exec',
    priority: 0,
    labels: [],
    deps: [],
    status: 'queued',
    createdAt: at,
    updatedAt: patch.updatedAt ?? at,
    attemptCount: 0,
    ...patch,
  };
}

export function created(t: TaskSummary, time = tick()): CoordEvent {
  return { type: 'coord.task-created', time, data: { task: t } };
}

export function updated(
  id: string,
  from: TaskStatus,
  to: TaskStatus,
  extra: { reason?: string; workerId?: string; attempt?: number; changed?: string[]; time?: string } = {},
): CoordEvent {
  const { time = tick(), ...rest } = extra;
  return { type: 'coord.task-updated', time, data: { id, from, to, ...rest } };
}

export function depAdded(id: string, depId: string, time = tick()): CoordEvent {
  return { type: 'coord.dep-added', time, data: { id, depId } };
}

export function depRemoved(id: string, depId: string, time = tick()): CoordEvent {
  return { type: 'coord.dep-removed', time, data: { id, depId } };
}

export function output(id: string, lines: Array<[string, string]>, attempt = 1): CoordEvent {
  return {
    type: 'coord.task-output',
    time: tick(),
    data: {
      id,
      attempt,
      lines: lines.map(([stream, line]) => ({ at: tick(1), stream: stream as 'stdout', line })),
    },
  };
}

export function worker(id: string, patch: Partial<WorkerInfo> = {}): WorkerInfo {
  const at = tick();
  return {
    id,
    name: `worker ${id}`,
    kinds: ['exec'],
    labels: [],
    capacity: 2,
    running: [],
    status: 'online',
    version: '0.1.0',
    connectedAt: at,
    lastSeenAt: at,
    ...patch,
  };
}

/** The raw live-feed form of an event (what LiveConnection hands to listeners). */
export function raw(event: CoordEvent): { type: string; time: string; data: unknown } {
  return { type: event.type, time: event.time, data: event.data };
}
