import dagre from '@dagrejs/dagre';
import { type DepEdge, NODE_HEIGHT, NODE_WIDTH, type XY } from './task-graph';

/**
 * Automatic layout of the dependency graph by dagre, left to right (dependency → dependent), and a
 * quick placement of new tasks while a fresh layout is computed.
 */

const NODE_GAP = 24;
const RANK_GAP = 90;

export interface LayoutInput {
  nodes: readonly string[];
  edges: ReadonlyArray<Pick<DepEdge, 'from' | 'to'>>;
}

export interface Layout {
  /** Top-left corner of each node. */
  positions: Map<string, XY>;
  width: number;
  height: number;
  /** How it was laid out, for the status line. */
  engine: 'dagre' | 'dagre-fast' | 'none';
}

/** Above this many connected nodes dagre ranks by longest path: network simplex takes seconds there. */
export const FAST_RANKER_ABOVE = 150;

/**
 * Lays the graph out left to right with dagre. Tasks with no dependency in either direction do not
 * go through dagre (it would stack them in one tall column): they fill a grid under the rest.
 */
export function layoutGraph(input: LayoutInput): Layout {
  const positions = new Map<string, XY>();
  const linked = new Set<string>();
  const known = new Set(input.nodes);
  const edges = input.edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  for (const e of edges) {
    linked.add(e.from);
    linked.add(e.to);
  }
  let width = 0;
  let height = 0;
  let engine: Layout['engine'] = 'none';
  if (linked.size > 0) {
    const fast = linked.size > FAST_RANKER_ABOVE;
    engine = fast ? 'dagre-fast' : 'dagre';
    const g = new dagre.graphlib.Graph();
    g.setGraph({
      rankdir: 'LR',
      nodesep: NODE_GAP,
      ranksep: RANK_GAP,
      marginx: 0,
      marginy: 0,
      ranker: fast ? 'longest-path' : 'network-simplex',
    });
    g.setDefaultEdgeLabel(() => ({}));
    for (const id of input.nodes)
      if (linked.has(id)) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
    for (const e of edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    for (const id of g.nodes()) {
      const n = g.node(id) as { x: number; y: number } | undefined;
      if (!n) continue;
      const x = Math.round(n.x - NODE_WIDTH / 2);
      const y = Math.round(n.y - NODE_HEIGHT / 2);
      positions.set(id, { x, y });
      width = Math.max(width, x + NODE_WIDTH);
      height = Math.max(height, y + NODE_HEIGHT);
    }
  }
  const loose = input.nodes.filter((id) => !linked.has(id));
  if (loose.length > 0) {
    const cellW = NODE_WIDTH + NODE_GAP;
    const cellH = NODE_HEIGHT + NODE_GAP;
    // About square overall, but at least as wide as the graph above it.
    const square = Math.ceil(Math.sqrt((loose.length * cellH) / cellW));
    const cols = Math.max(
      1,
      Math.min(loose.length, Math.max(square, Math.floor((width + NODE_GAP) / cellW))),
    );
    const top = height > 0 ? height + RANK_GAP : 0;
    loose.forEach((id, i) => {
      positions.set(id, { x: (i % cols) * cellW, y: top + Math.floor(i / cols) * cellH });
    });
    width = Math.max(width, cols * cellW - NODE_GAP);
    height = top + Math.ceil(loose.length / cols) * cellH - NODE_GAP;
  }
  return { positions, width, height, engine };
}

/**
 * Positions for nodes the last layout has not seen yet (a new layout is on its way): right of
 * their dependencies when they have some, else under everything. Known nodes keep their place.
 */
export function placeNewNodes(
  positions: ReadonlyMap<string, XY>,
  nodes: readonly string[],
  edges: readonly DepEdge[],
): Map<string, XY> {
  const result = new Map(positions);
  const missing = nodes.filter((id) => !result.has(id));
  if (missing.length === 0) return result;
  let bottom = 0;
  let left = Number.POSITIVE_INFINITY;
  for (const p of result.values()) {
    bottom = Math.max(bottom, p.y + NODE_HEIGHT);
    left = Math.min(left, p.x);
  }
  if (!Number.isFinite(left)) left = 0;
  const depsOf = new Map<string, string[]>();
  for (const e of edges) depsOf.set(e.to, [...(depsOf.get(e.to) ?? []), e.from]);
  let nextX = left;
  for (const id of missing) {
    const placed = (depsOf.get(id) ?? []).map((d) => result.get(d)).filter((p): p is XY => p !== undefined);
    if (placed.length > 0) {
      const x = Math.max(...placed.map((p) => p.x)) + NODE_WIDTH + RANK_GAP;
      const y = placed.reduce((sum, p) => sum + p.y, 0) / placed.length;
      result.set(id, { x, y: Math.round(y) });
    } else {
      result.set(id, { x: nextX, y: bottom + RANK_GAP });
      nextX += NODE_WIDTH + NODE_GAP;
    }
  }
  return result;
}
