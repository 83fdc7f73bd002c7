import { describe, expect, it } from 'vitest';
import { cycleIfAdded, dependencyOrder, findCycle, formatCycle, levels, reachable } from '../src/dag.js';

const graph = (edges: Record<string, string[]>) => (id: string) => edges[id] ?? [];

describe('dag', () => {
  it('finds the cycle a new dependency through three tasks would close and reports A → B → C → A', () => {
    // B depends on C, C depends on A; making A depend on B closes the loop.
    const deps = graph({ B: ['C'], C: ['A'] });
    const cycle = cycleIfAdded('A', 'B', deps);
    expect(cycle).toEqual(['A', 'B', 'C', 'A']);
    expect(formatCycle(cycle!)).toBe('A → B → C → A');
  });

  it('finds a direct cycle between two tasks', () => {
    expect(cycleIfAdded('A', 'B', graph({ B: ['A'] }))).toEqual(['A', 'B', 'A']);
  });

  it('reports a self-dependency as the cycle A → A', () => {
    expect(cycleIfAdded('A', 'A', graph({}))).toEqual(['A', 'A']);
  });

  it('accepts a dependency that closes no cycle, even across a diamond', () => {
    const deps = graph({ D: ['B', 'C'], B: ['A'], C: ['A'] });
    expect(cycleIfAdded('A', 'X', deps)).toBeUndefined();
    expect(cycleIfAdded('D', 'A', deps)).toBeUndefined();
  });

  it('finds a cycle inside a batch and ignores edges leaving it', () => {
    expect(findCycle(['a', 'b', 'c'], graph({ a: ['b'], b: ['c'], c: ['a'] }))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(['a', 'b'], graph({ a: ['b', 'outside'], b: [] }))).toBeUndefined();
  });

  it('orders a batch so that dependencies come first, otherwise keeping input order', () => {
    expect(dependencyOrder(['c', 'a', 'b'], graph({ c: ['b'], b: ['a'] }))).toEqual(['a', 'b', 'c']);
    expect(dependencyOrder(['x', 'y', 'z'], graph({}))).toEqual(['x', 'y', 'z']);
  });

  it('layers by longest path: a node sits one level above its highest dependency', () => {
    // a → b → c (chain) and a → c directly: c is on level 2, not 1.
    const deps = graph({ b: ['a'], c: ['a', 'b'], d: [] });
    expect(levels(['a', 'b', 'c', 'd'], deps)).toEqual([['a', 'd'], ['b'], ['c']]);
  });

  it('handles a chain of 100,000 tasks without recursion', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    const deps = (id: string) => (id === 't0' ? [] : [`t${Number(id.slice(1)) - 1}`]);
    expect(levels(ids, deps)).toHaveLength(100_000);
    expect(cycleIfAdded('t0', 't99999', deps)).toHaveLength(100_001);
  });

  it('walks every transitive dependent breadth first, naming the node it came through', () => {
    const dependents = graph({ A: ['B', 'C'], B: ['D'], C: ['D'], D: ['E'] });
    expect(reachable('A', dependents, () => true)).toEqual([
      { id: 'B', via: 'A' },
      { id: 'C', via: 'A' },
      { id: 'D', via: 'B' },
      { id: 'E', via: 'D' },
    ]);
    expect(reachable('A', dependents, (id) => id !== 'B')).toEqual([
      { id: 'C', via: 'A' },
      { id: 'D', via: 'C' },
      { id: 'E', via: 'D' },
    ]);
  });
});
