import type { EventData, TaskStatus, TaskSummary, WorkerInfo } from '@jousting/contracts';
import { isRecord } from './api';
import { isTaskStatus } from './task-status';

/**
 * The coordinator's events as they arrive on the live feed, checked by hand (the UI bundle has no
 * zod). Anything malformed is dropped rather than half-applied.
 */

export type OutputLine = EventData<'coord.task-output'>['lines'][number];

export type CoordEvent =
  | { type: 'coord.task-created'; time: string; data: { task: TaskSummary } }
  | { type: 'coord.task-updated'; time: string; data: EventData<'coord.task-updated'> }
  | { type: 'coord.dep-added'; time: string; data: { id: string; depId: string } }
  | { type: 'coord.dep-removed'; time: string; data: { id: string; depId: string } }
  | { type: 'coord.task-output'; time: string; data: { id: string; attempt: number; lines: OutputLine[] } }
  | { type: 'coord.all-complete'; time: string; data: EventData<'coord.all-complete'> }
  | { type: 'coord.worker-joined'; time: string; data: { worker: WorkerInfo } }
  | { type: 'coord.worker-left'; time: string; data: EventData<'coord.worker-left'> };

export type CoordEventType = CoordEvent['type'];

const str = (v: unknown): v is string => typeof v === 'string';
const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every(str);
const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The event as a typed CoordEvent, or undefined when it is not a (well-formed) coordinator event. */
export function parseCoordEvent(event: {
  type: string;
  time?: string;
  data: unknown;
}): CoordEvent | undefined {
  const { type, data } = event;
  const time = event.time ?? new Date(0).toISOString();
  if (!type.startsWith('coord.') || !isRecord(data)) return undefined;
  switch (type) {
    case 'coord.task-created': {
      const task = parseTaskSummary(data.task);
      return task ? { type, time, data: { task } } : undefined;
    }
    case 'coord.task-updated': {
      if (!str(data.id) || !isTaskStatus(data.from) || !isTaskStatus(data.to)) return undefined;
      const parsed: EventData<'coord.task-updated'> = { id: data.id, from: data.from, to: data.to };
      if (str(data.reason)) parsed.reason = data.reason;
      if (str(data.workerId)) parsed.workerId = data.workerId;
      if (int(data.attempt)) parsed.attempt = data.attempt;
      if (strings(data.changed)) parsed.changed = data.changed;
      return { type, time, data: parsed };
    }
    case 'coord.dep-added':
    case 'coord.dep-removed':
      return str(data.id) && str(data.depId)
        ? { type, time, data: { id: data.id, depId: data.depId } }
        : undefined;
    case 'coord.task-output': {
      if (!str(data.id) || !Array.isArray(data.lines)) return undefined;
      const lines = data.lines.filter(isOutputLine);
      return { type, time, data: { id: data.id, attempt: int(data.attempt) ? data.attempt : 0, lines } };
    }
    case 'coord.all-complete':
      return int(data.total)
        ? {
            type,
            time,
            data: {
              total: data.total,
              complete: int(data.complete) ? data.complete : 0,
              failed: int(data.failed) ? data.failed : 0,
              canceled: int(data.canceled) ? data.canceled : 0,
            },
          }
        : undefined;
    case 'coord.worker-joined': {
      const worker = parseWorkerInfo(data.worker);
      return worker ? { type, time, data: { worker } } : undefined;
    }
    case 'coord.worker-left':
      return str(data.id)
        ? { type, time, data: { id: data.id, reason: data.reason === 'timeout' ? 'timeout' : 'bye' } }
        : undefined;
    default:
      return undefined;
  }
}

export function parseTaskSummary(value: unknown): TaskSummary | undefined {
  if (!isRecord(value) || !str(value.id) || !isTaskStatus(value.status)) return undefined;
  const now = new Date(0).toISOString();
  const task: TaskSummary = {
    id: value.id,
    title: str(value.title) ? value.title : value.id,
    kind: str(value.kind) ? value.kind : 'exec',
    priority: typeof value.priority === 'number' ? value.priority : 0,
    labels: strings(value.labels) ? value.labels : [],
    deps: strings(value.deps) ? value.deps : [],
    status: value.status as TaskStatus,
    createdAt: str(value.createdAt) ? value.createdAt : now,
    updatedAt: str(value.updatedAt) ? value.updatedAt : str(value.createdAt) ? value.createdAt : now,
    attemptCount: int(value.attemptCount)
      ? value.attemptCount
      : Array.isArray(value.attempts)
        ? value.attempts.length
        : 0,
  };
  if (str(value.statusReason)) task.statusReason = value.statusReason;
  if (str(value.workerId)) task.workerId = value.workerId;
  return task;
}

export function parseWorkerInfo(value: unknown): WorkerInfo | undefined {
  if (!isRecord(value) || !str(value.id)) return undefined;
  const now = new Date(0).toISOString();
  return {
    id: value.id,
    name: str(value.name) ? value.name : value.id,
    kinds: strings(value.kinds) ? value.kinds : [],
    labels: strings(value.labels) ? value.labels : [],
    capacity: int(value.capacity) ? value.capacity : 1,
    running: strings(value.running) ? value.running : [],
    status: value.status === 'offline' ? 'offline' : 'online',
    version: str(value.version) ? value.version : 'unknown',
    connectedAt: str(value.connectedAt) ? value.connectedAt : now,
    lastSeenAt: str(value.lastSeenAt) ? value.lastSeenAt : now,
  };
}

function isOutputLine(value: unknown): value is OutputLine {
  return (
    isRecord(value) &&
    str(value.line) &&
    (value.stream === 'stdout' || value.stream === 'stderr' || value.stream === 'log') &&
    str(value.at)
  );
}
