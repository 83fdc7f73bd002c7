import { NewTask, type NewTask as NewTaskInput, TaskFilter } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { eventFromOp } from '../src/events-from-ops.js';
import { graphOf, listTasks, progressOf } from '../src/read-model.js';
import { TaskTable } from '../src/task-table.js';

function tableWith(tasks: NewTaskInput[]) {
  let clock = 1_700_000_000_000;
  const table = new TaskTable({ now: () => clock++ });
  table.create(
    tasks.map((t) => NewTask.parse({ kind: 'job', ...t })),
    { traceId: 't', actor: 'a', field: (i) => `tasks.${i}` },
  );
  return table;
}

describe('read model', () => {
  it('lays a diamond out in levels and lists its edges', () => {
    const table = tableWith([
      { id: 'top', title: 'x' },
      { id: 'left', title: 'x', deps: ['top'] },
      { id: 'right', title: 'x', deps: ['top'] },
      { id: 'bottom', title: 'x', deps: ['left', 'right'] },
    ]);
    const graph = graphOf(table);
    expect(graph.levels).toEqual([['top'], ['left', 'right'], ['bottom']]);
    expect(graph.edges).toContainEqual({ from: 'left', to: 'bottom' });
    expect(graph.edges).toHaveLength(4);
    expect(graph.nodes.map((n) => n.id)).toEqual(['top', 'left', 'right', 'bottom']);
  });

  it('keeps only the newest nodes of a big graph, with progress over all tasks', () => {
    const table = tableWith(Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, title: 'x' })));
    const graph = graphOf(table, 10);
    expect(graph.nodes).toHaveLength(10);
    expect(graph.nodes[0]!.id).toBe('t20');
    expect(graph.progress.total).toBe(30);
  });

  it('counts tasks per status and the percent done', () => {
    const table = tableWith([
      { id: 'a', title: 'x' },
      { id: 'b', title: 'x' },
      { id: 'c', title: 'x' },
    ]);
    table.claim({ id: 'w', kinds: ['job'], labels: [] }, 1);
    table.completed('w', 'a', 1, undefined);
    const progress = progressOf(table);
    expect(progress).toMatchObject({ total: 3, percentDone: 33.33 });
    expect(progress.byStatus).toMatchObject({ complete: 1, queued: 2, running: 0 });
  });

  it('lists newest first and filters by status, kind, label and text, with paging', () => {
    const table = tableWith([
      { id: 'a', title: 'build the thing', labels: ['gpu'] },
      { id: 'b', title: 'test', kind: 'agent', payload: { prompt: 'p' } },
      { id: 'c', title: 'deploy', deps: ['a'] },
    ]);
    const list = (f: TaskFilter) => listTasks(table, TaskFilter.parse(f));
    expect(list({}).items.map((t) => t.id)).toEqual(['c', 'b', 'a']);
    expect(list({ status: ['pending'] }).items.map((t) => t.id)).toEqual(['c']);
    expect(list({ kind: 'agent' }).items.map((t) => t.id)).toEqual(['b']);
    expect(list({ label: 'gpu' }).items.map((t) => t.id)).toEqual(['a']);
    expect(list({ q: 'THING' }).items.map((t) => t.id)).toEqual(['a']);
    expect(list({ limit: 1, offset: 1 })).toMatchObject({ total: 3, hasMore: true, items: [{ id: 'b' }] });
    expect(list({ status: ['queued'], limit: 1 })).toMatchObject({
      total: 2,
      hasMore: true,
      items: [{ id: 'b' }],
    });
  });

  it('derives the same event from an op every time', () => {
    const op = {
      o: 'st' as const,
      at: 0,
      id: 'a',
      from: 'queued' as const,
      to: 'assigned' as const,
      w: 'w1',
      a: 1,
    };
    expect(eventFromOp(op)).toEqual(eventFromOp(JSON.parse(JSON.stringify(op))));
    expect(eventFromOp(op)).toMatchObject({
      type: 'coord.task-updated',
      data: { id: 'a', from: 'queued', to: 'assigned', workerId: 'w1', attempt: 1 },
    });
  });
});
