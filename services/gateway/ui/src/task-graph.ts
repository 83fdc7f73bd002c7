import type { TaskSummary } from '@jousting/contracts';
import type { Edge, Node } from '@xyflow/react';
import { ApiError } from './api';

/**
 * The dependency graph as React Flow draws it, without React: edges from the tasks' deps (an edge
 * goes from the dependency to its dependent, left to right), the React Flow nodes and edges (reused
 * between renders when nothing about them changed) and the cycles a new dependency would close.
 * The layout is in graph-layout.ts, which only the graph page and its worker load.
 */

export const NODE_WIDTH = 224;
export const NODE_HEIGHT = 76;

export interface DepEdge {
  id: string;
  /** The dependency: runs first. */
  from: string;
  /** The dependent: waits for `from`. */
  to: string;
}

export interface XY {
  x: number;
  y: number;
}

export const edgeId = (from: string, to: string) => `${from}->${to}`;

/** One edge per dependency whose both ends are known tasks. */
export function depEdges(tasks: ReadonlyMap<string, TaskSummary>): DepEdge[] {
  const edges: DepEdge[] = [];
  for (const task of tasks.values()) {
    for (const dep of task.deps) {
      if (tasks.has(dep)) edges.push({ id: edgeId(dep, task.id), from: dep, to: task.id });
    }
  }
  return edges;
}

// --- React Flow nodes and edges ---

export interface TaskNodeData extends Record<string, unknown> {
  task: TaskSummary;
  editing: boolean;
  /** The task the user searched for. */
  found: boolean;
}
export type TaskFlowNode = Node<TaskNodeData, 'task'>;

export interface DepEdgeData extends Record<string, unknown> {
  editing: boolean;
  /** Waiting for a confirm to remove it. */
  marked: boolean;
  /** The dependency finished: the dependent no longer waits for it. */
  satisfied: boolean;
}
export type DepFlowEdge = Edge<DepEdgeData, 'dep'>;

/**
 * Turns tasks and positions into React Flow nodes, returning the same node object as last time
 * for a task whose summary, position and mode did not change, so React Flow and React skip it.
 */
interface CachedNode {
  task: TaskSummary;
  pos: XY;
  /** Edit or view, and whether it is the found task. */
  mode: string;
  node: TaskFlowNode;
}

export class FlowNodeCache {
  private cache = new Map<string, CachedNode>();

  nodes(
    tasks: ReadonlyMap<string, TaskSummary>,
    positions: ReadonlyMap<string, XY>,
    editing: boolean,
    found?: string,
  ): TaskFlowNode[] {
    const next = new Map<string, CachedNode>();
    const nodes: TaskFlowNode[] = [];
    for (const task of tasks.values()) {
      const pos = positions.get(task.id);
      if (!pos) continue;
      const old = this.cache.get(task.id);
      const isFound = found === task.id;
      const mode = `${editing ? 'edit' : 'view'}${isFound ? '+found' : ''}`;
      const same =
        old && old.task === task && old.mode === mode && old.pos.x === pos.x && old.pos.y === pos.y;
      const node: TaskFlowNode = same
        ? old.node
        : {
            id: task.id,
            type: 'task',
            position: pos,
            data: { task, editing, found: isFound },
            width: NODE_WIDTH,
            height: NODE_HEIGHT,
            // Sized from the start: a replaced node object keeps the handle positions React Flow
            // measured, instead of being measured again (edges would blink out meanwhile).
            measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
            draggable: false,
            connectable: editing,
            selectable: !editing,
          };
      next.set(task.id, { task, pos, mode, node });
      nodes.push(node);
    }
    this.cache = next;
    return nodes;
  }
}

export function flowEdges(
  tasks: ReadonlyMap<string, TaskSummary>,
  edges: readonly DepEdge[],
  opts: { editing: boolean; marked?: string | undefined },
): DepFlowEdge[] {
  return edges.map((e) => ({
    id: e.id,
    source: e.from,
    target: e.to,
    type: 'dep',
    selectable: opts.editing,
    focusable: opts.editing,
    data: {
      editing: opts.editing,
      marked: opts.marked === e.id,
      satisfied: tasks.get(e.from)?.status === 'complete',
    },
  }));
}

// --- cycles ---

/**
 * The cycle a refused dependency would have closed, from the server's answer: `details.cycle` as a
 * list or a string, else an "A → B → A" path in the message.
 */
export function cyclePathFrom(err: {
  message: string;
  details?: Record<string, unknown>;
}): string[] | undefined {
  const cycle = err.details?.cycle;
  if (Array.isArray(cycle) && cycle.length > 1 && cycle.every((c) => typeof c === 'string')) return cycle;
  const text = typeof cycle === 'string' ? cycle : err.message;
  const match = /[^\s→>]+(?:\s*(?:→|->)\s*[^\s→>,;)]+)+/u.exec(text);
  if (!match) return undefined;
  return match[0].split(/\s*(?:→|->)\s*/u).map((s) => s.replace(/^["'(]|["'),.;]$/g, ''));
}

/**
 * The cycle that making `id` wait for `depId` would close, as the path of "waits for" steps from
 * `id` back to itself (`[id, depId, …, id]`); undefined when there is none.
 */
export function findCycle(
  tasks: ReadonlyMap<string, Pick<TaskSummary, 'deps'>>,
  id: string,
  depId: string,
): string[] | undefined {
  if (id === depId) return [id, id];
  // Does depId (transitively) wait for id? Breadth first, so the path shown is a shortest one.
  const cameFrom = new Map<string, string>([[depId, '']]);
  const queue = [depId];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    for (const dep of tasks.get(current)?.deps ?? []) {
      if (cameFrom.has(dep)) continue;
      cameFrom.set(dep, current);
      if (dep === id) {
        const path = [id];
        for (let at = current; at !== ''; at = cameFrom.get(at) ?? '') path.push(at);
        // path is id ← current ← … ← depId; read it the other way round and close the loop.
        const forward = path.slice(1).reverse();
        return [id, ...forward, id];
      }
      queue.push(dep);
    }
  }
  return undefined;
}

export const formatPath = (path: readonly string[]) => path.join(' → ');

/**
 * The cycle a refused "add dependency" would have closed, as "A → B → A": from the server's answer,
 * else worked out from the tasks we hold. Undefined when the refusal is not about a cycle.
 */
export function refusedCycle(
  err: unknown,
  tasks: ReadonlyMap<string, Pick<TaskSummary, 'deps'>>,
  id: string,
  depId: string,
): string | undefined {
  if (!(err instanceof ApiError) || err.status < 400 || err.status >= 500) return undefined;
  // Other refusals can hold arrows too ("running → queued is not allowed"): only a cycle counts.
  if (err.details.cycle === undefined && !/cycle|already depends on/i.test(err.message)) return undefined;
  const fromServer = cyclePathFrom(err);
  if (fromServer) return formatPath(fromServer);
  const local = findCycle(tasks, id, depId);
  return local ? formatPath(local) : err.message;
}
