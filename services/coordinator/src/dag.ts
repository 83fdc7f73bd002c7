/**
 * Dependency-graph algorithms over task ids. An edge `a → b` means "a depends on b". Everything
 * is iterative (no recursion), so a chain of 100k tasks does not overflow the stack.
 */
export type Edges = (id: string) => readonly string[];

/** The shortest path from `from` to `to` following edges, both ends included; undefined if none. */
export function findPath(from: string, to: string, next: Edges): string[] | undefined {
  if (from === to) return [from];
  const parent = new Map<string, string>([[from, from]]);
  let frontier = [from];
  while (frontier.length > 0) {
    const following: string[] = [];
    for (const node of frontier) {
      for (const n of next(node)) {
        if (parent.has(n)) continue;
        parent.set(n, node);
        if (n === to) {
          const path = [n];
          let at = node;
          while (at !== from) {
            path.push(at);
            at = parent.get(at)!;
          }
          path.push(from);
          return path.reverse();
        }
        following.push(n);
      }
    }
    frontier = following;
  }
  return undefined;
}

/**
 * The cycle that making `id` depend on `depId` would close, as `[id, depId, …, id]`, or undefined.
 * A self-dependency is the cycle `[id, id]`.
 */
export function cycleIfAdded(id: string, depId: string, depsOf: Edges): string[] | undefined {
  if (id === depId) return [id, id];
  const path = findPath(depId, id, depsOf);
  return path ? [id, ...path] : undefined;
}

/** Any cycle among `nodes` (edges leaving the set are ignored), as `[a, b, …, a]`, or undefined. */
export function findCycle(nodes: Iterable<string>, depsOf: Edges): string[] | undefined {
  const inSet = new Set(nodes);
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of inSet) {
    if (state.has(start)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = depsOf(top.id);
      if (top.next >= deps.length) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const dep = deps[top.next++]!;
      if (!inSet.has(dep)) continue;
      const s = state.get(dep);
      if (s === 1) {
        const from = stack.findIndex((f) => f.id === dep);
        return [...stack.slice(from).map((f) => f.id), dep];
      }
      if (s === undefined) {
        state.set(dep, 1);
        stack.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}

export const formatCycle = (cycle: readonly string[]) => cycle.join(' → ');

/**
 * `nodes` ordered so that every node comes after the nodes of the set it depends on, otherwise
 * keeping the given order. Assumes no cycle (nodes on a cycle are appended at the end).
 */
export function dependencyOrder(nodes: readonly string[], depsOf: Edges): string[] {
  const inSet = new Set(nodes);
  const placed = new Set<string>();
  const order: string[] = [];
  for (const root of nodes) {
    if (placed.has(root)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: root, next: 0 }];
    const onPath = new Set([root]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = depsOf(top.id);
      let pushed = false;
      while (top.next < deps.length) {
        const dep = deps[top.next++]!;
        if (inSet.has(dep) && !placed.has(dep) && !onPath.has(dep)) {
          stack.push({ id: dep, next: 0 });
          onPath.add(dep);
          pushed = true;
          break;
        }
      }
      if (pushed) continue;
      stack.pop();
      onPath.delete(top.id);
      placed.add(top.id);
      order.push(top.id);
    }
  }
  return order;
}

/**
 * Longest-path layering: a node without dependencies in the set is on level 0, any other one
 * level above its highest dependency. Nodes of one level can run in parallel. Dependencies
 * outside the set are ignored.
 */
export function levels(nodes: readonly string[], depsOf: Edges): string[][] {
  const level = new Map<string, number>();
  const inSet = new Set(nodes);
  for (const id of dependencyOrder(nodes, depsOf)) {
    let l = 0;
    for (const dep of depsOf(id)) {
      if (!inSet.has(dep)) continue;
      const d = level.get(dep);
      if (d !== undefined && d + 1 > l) l = d + 1;
    }
    level.set(id, l);
  }
  const layers: string[][] = [];
  for (const id of nodes) {
    const l = level.get(id)!;
    while (layers.length <= l) layers.push([]);
    layers[l]!.push(id);
  }
  return layers;
}

/**
 * Every node reachable from `root` through `next` (dependents), breadth first, each with the node
 * it was reached through; `include` stops the walk at nodes it refuses.
 */
export function reachable(
  root: string,
  next: Edges,
  include: (id: string) => boolean,
): Array<{ id: string; via: string }> {
  const seen = new Set([root]);
  const found: Array<{ id: string; via: string }> = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const following: string[] = [];
    for (const node of frontier) {
      for (const n of next(node)) {
        if (seen.has(n)) continue;
        seen.add(n);
        if (!include(n)) continue;
        found.push({ id: n, via: node });
        following.push(n);
      }
    }
    frontier = following;
  }
  return found;
}
