import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api';
import { FAST_RANKER_ABOVE, layoutGraph, placeNewNodes } from '../src/graph-layout';
import {
  cyclePathFrom,
  depEdges,
  FlowNodeCache,
  findCycle,
  flowEdges,
  NODE_HEIGHT,
  NODE_WIDTH,
  refusedCycle,
} from '../src/task-graph';
import { task } from './task-fixtures';

const mapOf = (...tasks: ReturnType<typeof task>[]) => new Map(tasks.map((t) => [t.id, t]));

describe('depEdges', () => {
  it('draws one edge per dependency, from the dependency to the task waiting for it', () => {
    const tasks = mapOf(task('a'), task('b', { deps: ['a'] }), task('c', { deps: ['a', 'b', 'not-loaded'] }));
    expect(depEdges(tasks)).toEqual([
      { id: 'a->b', from: 'a', to: 'b' },
      { id: 'a->c', from: 'a', to: 'c' },
      { id: 'b->c', from: 'b', to: 'c' },
    ]);
  });
});

describe('layoutGraph', () => {
  it('lays dependencies out left of the tasks that wait for them', () => {
    const { positions, engine } = layoutGraph({
      nodes: ['a', 'b', 'c'],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    expect(engine).toBe('dagre');
    const x = (id: string) => positions.get(id)?.x ?? Number.NaN;
    expect(x('a')).toBeLessThan(x('b'));
    expect(x('b')).toBeLessThan(x('c'));
    expect(x('b') - x('a')).toBeGreaterThanOrEqual(NODE_WIDTH);
  });

  it('puts tasks without any dependency in a grid under the graph, not in one tall column', () => {
    const loose = Array.from({ length: 30 }, (_, i) => `loose-${i}`);
    const { positions } = layoutGraph({ nodes: ['a', 'b', ...loose], edges: [{ from: 'a', to: 'b' }] });
    const graphBottom = Math.max(positions.get('a')?.y ?? 0, positions.get('b')?.y ?? 0) + NODE_HEIGHT;
    const ys = loose.map((id) => positions.get(id)?.y ?? -1);
    expect(Math.min(...ys)).toBeGreaterThan(graphBottom);
    const rows = new Set(ys).size;
    expect(rows).toBeGreaterThan(1);
    expect(rows).toBeLessThan(30);
  });

  it('never overlaps two nodes', () => {
    const nodes = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const edges = nodes.slice(1).map((id, i) => ({ from: `t${Math.floor(i / 3)}`, to: id }));
    const { positions } = layoutGraph({ nodes, edges });
    const boxes = [...positions.values()];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        if (!a || !b) continue;
        const overlap = Math.abs(a.x - b.x) < NODE_WIDTH && Math.abs(a.y - b.y) < NODE_HEIGHT;
        expect(overlap).toBe(false);
      }
    }
  });

  it('lays out 1,000 tasks in ten waves of 100 within seconds, with the fast ranker', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    const edges = nodes.slice(100).map((id, i) => ({ from: `t${i - (i % 100) + ((i * 7) % 100)}`, to: id }));
    const started = performance.now();
    const layout = layoutGraph({ nodes, edges });
    const ms = performance.now() - started;
    expect(layout.engine).toBe('dagre-fast');
    expect(layout.positions.size).toBe(1000);
    expect(ms).toBeLessThan(8000);
    expect(nodes.length).toBeGreaterThan(FAST_RANKER_ABOVE);
  });
});

describe('placeNewNodes', () => {
  it('keeps laid-out nodes and puts a new one right of its dependency', () => {
    const base = new Map([['a', { x: 0, y: 100 }]]);
    const placed = placeNewNodes(base, ['a', 'b', 'c'], [{ id: 'a->b', from: 'a', to: 'b' }]);
    expect(placed.get('a')).toEqual({ x: 0, y: 100 });
    expect(placed.get('b')?.x).toBeGreaterThan(NODE_WIDTH);
    expect(placed.get('b')?.y).toBe(100);
    expect(placed.get('c')?.y).toBeGreaterThan(100 + NODE_HEIGHT);
  });
});

describe('React Flow nodes and edges', () => {
  it('reuses the node object of a task that did not change', () => {
    const a = task('a');
    const b = task('b');
    const positions = new Map([
      ['a', { x: 0, y: 0 }],
      ['b', { x: 300, y: 0 }],
    ]);
    const cache = new FlowNodeCache();
    const first = cache.nodes(mapOf(a, b), positions, false);
    const b2 = { ...b, status: 'running' as const };
    const second = cache.nodes(mapOf(a, b2), positions, false);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[1]?.data.task.status).toBe('running');
    const editing = cache.nodes(mapOf(a, b2), positions, true);
    expect(editing[0]).not.toBe(second[0]);
    expect(editing[0]).toMatchObject({ connectable: true, draggable: false, type: 'task' });
  });

  it('marks the task that was searched for, and only that node changes', () => {
    const positions = new Map([
      ['a', { x: 0, y: 0 }],
      ['b', { x: 300, y: 0 }],
    ]);
    const tasks = mapOf(task('a'), task('b'));
    const cache = new FlowNodeCache();
    const before = cache.nodes(tasks, positions, false);
    const after = cache.nodes(tasks, positions, false, 'b');
    expect(after[0]).toBe(before[0]);
    expect(after[1]?.data.found).toBe(true);
  });

  it('leaves out tasks that have no position yet', () => {
    const nodes = new FlowNodeCache().nodes(
      mapOf(task('a'), task('b')),
      new Map([['a', { x: 0, y: 0 }]]),
      false,
    );
    expect(nodes.map((n) => n.id)).toEqual(['a']);
  });

  it('marks the edge waiting for a confirm and the edges whose dependency is complete', () => {
    const tasks = mapOf(
      task('a', { status: 'complete' }),
      task('b', { deps: ['a'] }),
      task('c', { deps: ['b'] }),
    );
    const edges = flowEdges(tasks, depEdges(tasks), { editing: true, marked: 'b->c' });
    expect(edges.map((e) => [e.id, e.source, e.target, e.data?.satisfied, e.data?.marked])).toEqual([
      ['a->b', 'a', 'b', true, false],
      ['b->c', 'b', 'c', false, true],
    ]);
  });
});

describe('cycles', () => {
  it('finds the cycle a new dependency would close, as "waits for" steps', () => {
    // c waits for b, b waits for a: making a wait for c closes a → c → b → a.
    const tasks = mapOf(task('a'), task('b', { deps: ['a'] }), task('c', { deps: ['b'] }));
    expect(findCycle(tasks, 'a', 'c')).toEqual(['a', 'c', 'b', 'a']);
    expect(findCycle(tasks, 'c', 'a')).toBeUndefined();
    expect(findCycle(tasks, 'a', 'a')).toEqual(['a', 'a']);
  });

  it('reads the cycle from the server answer: details.cycle, or the path in the message', () => {
    expect(cyclePathFrom({ message: 'x', details: { cycle: ['A', 'B', 'C', 'A'] } })).toEqual([
      'A',
      'B',
      'C',
      'A',
    ]);
    expect(cyclePathFrom({ message: 'making A depend on C would close a cycle: A → C → B → A' })).toEqual([
      'A',
      'C',
      'B',
      'A',
    ]);
    expect(cyclePathFrom({ message: 'cycle A -> B -> A.' })).toEqual(['A', 'B', 'A']);
    expect(cyclePathFrom({ message: 'no such task' })).toBeUndefined();
  });

  it('explains a refused dependency only when it is about a cycle', () => {
    const tasks = mapOf(task('a'), task('b', { deps: ['a'] }));
    const withPath = new ApiError(400, 'validation_failed', 'would close a cycle', [], {
      cycle: ['a', 'b', 'a'],
    });
    expect(refusedCycle(withPath, tasks, 'a', 'b')).toBe('a → b → a');
    const withoutPath = new ApiError(400, 'validation_failed', 'dependency cycle');
    expect(refusedCycle(withoutPath, tasks, 'a', 'b')).toBe('a → b → a');
    expect(
      refusedCycle(new ApiError(409, 'conflict', 'task a is running; running → queued'), tasks, 'a', 'b'),
    ).toBeUndefined();
    expect(
      refusedCycle(new ApiError(400, 'validation_failed', 'no task zz'), tasks, 'a', 'zz'),
    ).toBeUndefined();
    expect(refusedCycle(new Error('network'), tasks, 'a', 'b')).toBeUndefined();
  });
});
