import {
  EVENT_DATA,
  JoustingError,
  NewTask,
  type NewTask as NewTaskInput,
  type TaskStatus,
} from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventFromOp } from '../src/events-from-ops.js';
import type { Op } from '../src/ops.js';
import { encodeTask, loadSnapshot, SnapshotBuilder } from '../src/snapshot.js';
import { type Change, TaskTable } from '../src/task-table.js';

let clock = 1_700_000_000_000;
let table: TaskTable;
let journal: Op[];
const w1 = { id: 'w1', kinds: ['job'], labels: [] as string[] };
const w2 = { id: 'w2', kinds: ['job'], labels: [] as string[] };
/** Tests use a custom kind (any payload) unless they say otherwise. */
const parse = (t: NewTaskInput) => NewTask.parse({ kind: 'job', ...t });

const newTable = () => {
  let n = 0;
  return new TaskTable({ now: () => clock++, newId: () => `gen${n++}` });
};
beforeEach(() => {
  table = newTable();
  journal = [];
});

/** Runs a command and keeps its ops, as the journal would. */
function run<T extends { change: Change } | Change>(result: T): T {
  const change = (result as { change?: Change }).change ?? (result as Change);
  journal.push(...change.ops);
  return result;
}
const create = (tasks: NewTaskInput[], key?: string) =>
  run(
    table.create(tasks.map(parse), {
      traceId: 'trace-1',
      actor: 'tester',
      field: (i) => `tasks.${i}`,
      ...(key ? { idempotencyKey: key } : {}),
    }),
  );
const createOne = (task: NewTaskInput) =>
  run(table.create([parse(task)], { traceId: 'trace-1', actor: 'tester', field: () => 'task' }));
const status = (id: string) => table.get(id)?.status;
const claim = (worker = w1, max = 10) => run(table.claim(worker, max)).tasks.map((t) => t.id);
const start = (id: string, worker = 'w1') =>
  run(table.started(worker, id, table.get(id)!.currentAttempt!.number));
const complete = (id: string, worker = 'w1') =>
  run(table.completed(worker, id, table.get(id)!.currentAttempt!.number, { ok: true }));
const fail = (id: string, worker = 'w1') =>
  run(table.failed(worker, id, table.get(id)!.currentAttempt!.number, 'fatal', 'boom'));

function refusal(fn: () => unknown): JoustingError {
  try {
    fn();
  } catch (err) {
    if (err instanceof JoustingError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Everything a snapshot would store, plus the derived parts that must agree after a replay. */
function stateOf(t: TaskTable) {
  return {
    tasks: t.ordered.map(encodeTask),
    counts: { ...t.counts },
    ready: [...t.ready.items()].map((i) => i.id).sort(),
    unmet: t.ordered.map((x) => x.unmet),
    dependents: t.ordered.map((x) => [...x.dependents].sort()),
    armed: t.armed,
  };
}

describe('creating tasks', () => {
  it('queues a task without dependencies and holds one with an unfinished dependency as pending', () => {
    create([
      { id: 'a', title: 'A' },
      { id: 'b', title: 'B', deps: ['a'] },
    ]);
    expect(status('a')).toBe('queued');
    expect(status('b')).toBe('pending');
    expect(table.get('a')!.source).toBe('tester');
  });

  it('makes a sortable id when none is given', () => {
    const { tasks } = createOne({ title: 'no id' });
    expect(tasks[0]!.id).toBe('gen0');
  });

  it('refuses an unknown dependency naming the field, and creates nothing', () => {
    const err = refusal(() => createOne({ title: 'x', deps: ['nope'] }));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('task.deps.0: unknown task "nope"');
    expect(table.size).toBe(0);
  });

  it('creates a batch whose members depend on each other, in any order, all or nothing', () => {
    const { tasks } = create([
      { id: 'c', title: 'C', deps: ['b'] },
      { id: 'b', title: 'B', deps: ['a'] },
      { id: 'a', title: 'A' },
    ]);
    expect(tasks.map((t) => t.id)).toEqual(['c', 'b', 'a']);
    expect([status('a'), status('b'), status('c')]).toEqual(['queued', 'pending', 'pending']);

    const err = refusal(() =>
      create([
        { id: 'd', title: 'D' },
        { id: 'e', title: 'E', deps: ['missing'] },
      ]),
    );
    expect(err.message).toContain('tasks.1.deps.0: unknown task "missing"');
    expect(table.get('d')).toBeUndefined();
    expect(table.size).toBe(3);
  });

  it('refuses a cycle inside a batch and shows it', () => {
    const err = refusal(() =>
      create([
        { id: 'a', title: 'A', deps: ['c'] },
        { id: 'b', title: 'B', deps: ['a'] },
        { id: 'c', title: 'C', deps: ['b'] },
      ]),
    );
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('a → c → b → a');
    expect(err.details?.cycle).toEqual(['a', 'c', 'b', 'a']);
    expect(table.size).toBe(0);
  });

  it('refuses duplicate ids in a batch and ids that exist already', () => {
    expect(
      refusal(() =>
        create([
          { id: 'a', title: 'A' },
          { id: 'a', title: 'A again' },
        ]),
      ).message,
    ).toContain('tasks.1.id: duplicate id "a"');
    create([{ id: 'a', title: 'A' }]);
    const err = refusal(() => createOne({ id: 'a', title: 'again' }));
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('task "a" already exists');
  });

  it('returns the original tasks for a repeated idempotency key instead of creating duplicates', () => {
    const first = create([{ title: 'one' }, { title: 'two' }], 'key-1');
    const again = create([{ title: 'one' }, { title: 'two' }], 'key-1');
    expect(again.created).toBe(false);
    expect(again.change.ops).toEqual([]);
    expect(again.tasks.map((t) => t.id)).toEqual(first.tasks.map((t) => t.id));
    expect(table.size).toBe(2);
  });

  it('refuses a dependency on a canceled task, naming it', () => {
    create([{ id: 'a', title: 'A' }]);
    run(table.cancel('a', undefined));
    const err = refusal(() => createOne({ title: 'x', deps: ['a'] }));
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('dependency "a" is canceled');
  });
});

describe('status transitions', () => {
  it('cannot complete a task whose id is unknown', () => {
    const err = refusal(() => table.completed('w1', 'ghost', 1, undefined));
    expect(err.code).toBe('not_found');
  });

  it('runs a task through queued → assigned → running → complete and never back', () => {
    create([{ id: 'a', title: 'A' }]);
    expect(claim()).toEqual(['a']);
    expect(status('a')).toBe('assigned');
    start('a');
    expect(status('a')).toBe('running');
    complete('a');
    expect(status('a')).toBe('complete');
    expect(table.get('a')!.attempts!.map((x) => x.outcome)).toEqual(['complete']);
    // A repeated completion or start of the finished attempt is stale, and nothing moves back.
    expect(refusal(() => table.started('w1', 'a', 1)).code).toBe('conflict');
    expect(refusal(() => table.completed('w1', 'a', 1, undefined)).message).toMatch(
      /stale: the task is complete/,
    );
    expect(refusal(() => table.cancel('a', undefined)).message).toBe(
      'task a is complete; complete → canceled is not allowed',
    );
    expect(
      refusal(() => table.apply({ o: 'st', at: 1, id: 'a', from: 'complete', to: 'running' })).message,
    ).toBe('task a is complete; complete → running is not allowed');
    expect(status('a')).toBe('complete');
  });

  it('refuses a report from another worker or for an older attempt', () => {
    create([{ id: 'a', title: 'A' }]);
    claim();
    expect(refusal(() => table.started('w2', 'a', 1)).code).toBe('conflict');
    expect(refusal(() => table.started('w1', 'a', 2)).code).toBe('conflict');
    expect(status('a')).toBe('assigned');
  });

  it('completes an assigned task reported done without a start, through running', () => {
    create([{ id: 'a', title: 'A' }]);
    claim();
    const change = complete('a');
    expect(
      change.ops.filter((o) => o.o === 'st').map((o) => (o.o === 'st' ? `${o.from}>${o.to}` : '')),
    ).toEqual(['assigned>running', 'running>complete']);
  });

  it('releases dependents when their last dependency completes', () => {
    create([
      { id: 'a', title: 'A' },
      { id: 'b', title: 'B' },
      { id: 'c', title: 'C', deps: ['a', 'b'] },
    ]);
    claim();
    complete('a');
    expect(status('c')).toBe('pending');
    complete('b');
    expect(status('c')).toBe('queued');
  });

  it('puts a released task back in the queue with the attempt recorded as released', () => {
    create([{ id: 'a', title: 'A' }]);
    claim();
    run(table.released('w1', 'a', 1, 'shutting down'));
    expect(status('a')).toBe('queued');
    expect(table.get('a')!.attempts![0]!.outcome).toBe('released');
    expect(claim(w2)).toEqual(['a']);
    expect(table.get('a')!.currentAttempt!.number).toBe(2);
  });

  it('requeues a task whose lease expired, records the attempt as lost, and refuses the late completion', () => {
    create([{ id: 'a', title: 'A' }]);
    claim();
    start('a');
    const change = run(table.expireLease('a', 1, 'w1'));
    expect(change.aborts).toEqual([
      { workerId: 'w1', taskId: 'a', attempt: 1, reason: expect.stringContaining('lease expired') },
    ]);
    expect(status('a')).toBe('queued');
    expect(table.get('a')!.attempts![0]!.outcome).toBe('lost');
    expect(refusal(() => table.completed('w1', 'a', 1, undefined)).code).toBe('conflict');
    expect(claim(w2)).toEqual(['a']);
    start('a', 'w2');
    complete('a', 'w2');
    expect(table.get('a')!.attempts!.map((x) => [x.workerId, x.outcome])).toEqual([
      ['w1', 'lost'],
      ['w2', 'complete'],
    ]);
    // An expiry for an attempt that already ended does nothing.
    expect(table.expireLease('a', 1, 'w1').ops).toEqual([]);
  });

  it('routes a failure through the failure policy', () => {
    let n = 0;
    const retrying = new TaskTable({
      now: () => clock++,
      newId: () => `r${n++}`,
      decideFailure: () => ({ retry: true, waitMs: 0, retriesLeft: 1 }),
    });
    retrying.create([parse({ id: 'a', title: 'A' })], { traceId: 't', actor: 'x', field: () => 'task' });
    retrying.claim(w1, 1);
    retrying.failed('w1', 'a', 1, 'transient', 'flaky');
    expect(retrying.get('a')!.status).toBe('queued');
    expect(retrying.get('a')!.attempts![0]!.outcome).toBe('failed');
  });
});

describe('ready order and claims', () => {
  it('hands out ready tasks by priority, then age', () => {
    create([
      { id: 'low-old', title: 'x', priority: 0 },
      { id: 'high', title: 'x', priority: 10 },
      { id: 'low-new', title: 'x', priority: 0 },
      { id: 'mid', title: 'x', priority: 5 },
    ]);
    expect(claim(w1, 4)).toEqual(['high', 'mid', 'low-old', 'low-new']);
  });

  it('honours kinds and labels', () => {
    create([
      { id: 'gpu', title: 'x', labels: ['gpu'] },
      { id: 'agent', title: 'x', kind: 'agent', payload: { prompt: 'hi' } },
      { id: 'plain', title: 'x' },
    ]);
    expect(claim({ id: 'w1', kinds: ['job'], labels: [] })).toEqual(['plain']);
    expect(claim({ id: 'w2', kinds: ['job', 'agent'], labels: ['gpu'] })).toEqual(['gpu', 'agent']);
  });
});

describe('dependencies', () => {
  beforeEach(() => {
    create([
      { id: 'A', title: 'A' },
      { id: 'B', title: 'B' },
      { id: 'C', title: 'C' },
    ]);
  });

  it('addDep rejects a cycle through three tasks and reports A → B → C → A', () => {
    run(table.addDep('B', 'C'));
    run(table.addDep('C', 'A'));
    const err = refusal(() => table.addDep('A', 'B'));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('A → B → C → A');
    expect(err.details?.fields).toEqual([
      { field: 'depId', message: 'B already depends on A: A → B → C → A' },
    ]);
    expect(err.details?.cycle).toEqual(['A', 'B', 'C', 'A']);
    expect(table.get('A')!.deps).toEqual([]);
  });

  it('addDep rejects a direct cycle', () => {
    run(table.addDep('A', 'B'));
    const err = refusal(() => table.addDep('B', 'A'));
    expect(err.details?.cycle).toEqual(['B', 'A', 'B']);
  });

  it('refuses a self-dependency', () => {
    const err = refusal(() => table.addDep('A', 'A'));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('A → A');
    expect(err.details?.cycle).toEqual(['A', 'A']);
  });

  it('adding a dependency is idempotent and removing a missing one is a no-op', () => {
    run(table.addDep('B', 'A'));
    expect(table.addDep('B', 'A').change.ops).toEqual([]);
    expect(table.removeDep('B', 'C').change.ops).toEqual([]);
    expect(table.get('B')!.deps).toEqual(['A']);
  });

  it('moves a queued task back to pending when it gains an unfinished dependency, and back when it loses it', () => {
    run(table.addDep('B', 'A'));
    expect(status('B')).toBe('pending');
    run(table.removeDep('B', 'A'));
    expect(status('B')).toBe('queued');
  });

  it('releases an assigned task that gains a dependency and tells its worker to abort', () => {
    expect(claim(w1, 1)).toEqual(['A']);
    const { change } = run(table.addDep('A', 'B'));
    expect(status('A')).toBe('pending');
    expect(table.get('A')!.attempts![0]!.outcome).toBe('released');
    expect(change.aborts).toEqual([
      { workerId: 'w1', taskId: 'A', attempt: 1, reason: 'dependency B was added' },
    ]);
  });

  it('refuses dependency changes on running and complete tasks, naming the status', () => {
    claim(w1, 2);
    start('A');
    expect(refusal(() => table.addDep('A', 'C')).message).toBe(
      'task A is running; dependencies can change only before it starts',
    );
    complete('A');
    expect(refusal(() => table.removeDep('A', 'C')).message).toBe(
      'task A is complete; dependencies can change only before it starts',
    );
  });

  it('refuses a dependency on a canceled task, naming it', () => {
    run(table.cancel('C', undefined));
    const err = refusal(() => table.addDep('A', 'C'));
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('dependency C is canceled');
  });

  it('accepts a dependency on a complete task without holding the task back', () => {
    claim(w1, 1);
    complete('A');
    run(table.addDep('B', 'A'));
    expect(status('B')).toBe('queued');
  });
});

describe('cancel and retry', () => {
  it('cancels every transitive dependent that can no longer run, each naming its dependency', () => {
    create([
      { id: 'root', title: 'x' },
      { id: 'mid', title: 'x', deps: ['root'] },
      { id: 'leaf', title: 'x', deps: ['mid'] },
      { id: 'other', title: 'x' },
    ]);
    const { cascaded } = run(table.cancel('root', 'not needed'));
    expect(cascaded).toEqual([
      { id: 'mid', reason: 'dependency root was canceled' },
      { id: 'leaf', reason: 'dependency mid was canceled' },
    ]);
    expect(table.get('root')!.statusReason).toBe('not needed');
    expect(table.get('leaf')!.statusReason).toBe('dependency mid was canceled');
    expect(status('other')).toBe('queued');
  });

  it('aborts a running task on its worker and records the attempt as canceled', () => {
    create([{ id: 'a', title: 'x' }]);
    claim();
    start('a');
    const { change } = run(table.cancel('a', undefined));
    expect(change.aborts).toEqual([{ workerId: 'w1', taskId: 'a', attempt: 1, reason: 'canceled' }]);
    expect(table.get('a')!.attempts![0]!.outcome).toBe('canceled');
    expect(table.tasksOf('w1').size).toBe(0);
  });

  it('leaves dependents of a failed task waiting, visibly, and lets them go on after a retry', () => {
    create([
      { id: 'dep', title: 'x' },
      { id: 'child', title: 'x', deps: ['dep'] },
    ]);
    claim();
    fail('dep');
    expect(status('dep')).toBe('failed');
    expect(status('child')).toBe('pending');
    expect(table.get('child')!.statusReason).toBe('waiting on failed dependency dep');
    run(table.retry('dep'));
    expect(status('dep')).toBe('queued');
    expect(table.get('dep')!.error).toBeUndefined();
    expect(table.get('child')!.statusReason).toBeUndefined();
    claim();
    complete('dep');
    expect(status('child')).toBe('queued');
    expect(table.get('dep')!.attempts!.map((a) => a.outcome)).toEqual(['failed', 'complete']);
  });

  it('retries only failed or canceled tasks, and not while a dependency is canceled', () => {
    create([
      { id: 'a', title: 'x' },
      { id: 'b', title: 'x', deps: ['a'] },
    ]);
    expect(refusal(() => table.retry('a')).message).toContain(
      'task a is queued; only a failed or canceled task can be retried',
    );
    run(table.cancel('a', undefined));
    expect(refusal(() => table.retry('b')).message).toContain(
      'dependency a of task b is canceled; retry it first',
    );
    run(table.retry('a'));
    expect(status('a')).toBe('queued');
    run(table.retry('b'));
    expect(status('b')).toBe('pending');
  });

  it('announces all-complete once when nothing is left to run, and again after new work', () => {
    const allOps = () => journal.filter((o) => o.o === 'all');
    create([
      { id: 'a', title: 'x' },
      { id: 'b', title: 'x' },
    ]);
    claim();
    complete('a');
    expect(allOps()).toHaveLength(0);
    run(table.cancel('b', undefined));
    expect(allOps()).toEqual([expect.objectContaining({ total: 2, complete: 1, canceled: 1, failed: 0 })]);
    create([{ id: 'c', title: 'x' }]);
    claim();
    complete('c');
    expect(allOps()).toHaveLength(2);
  });
});

describe('editing', () => {
  it('changes a task that has not started and refuses one that runs', () => {
    create([
      { id: 'a', title: 'x', priority: 1 },
      { id: 'b', title: 'y' },
    ]);
    run(table.update('b', { priority: 5, title: 'renamed' }));
    expect(table.get('b')!.title).toBe('renamed');
    expect(claim(w1, 1)).toEqual(['b']);
    start('b');
    expect(refusal(() => table.update('b', { title: 'z' })).code).toBe('conflict');
  });

  it('checks the payload against the kind and names the field', () => {
    create([{ id: 'a', title: 'x', kind: 'exec', payload: { command: 'true' } }]);
    const err = refusal(() => table.update('a', { payload: { command: '' } }));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('patch.payload.command');
    const unknown = refusal(() => table.update('a', { payload: { command: 'x', bogus: 1 } }));
    expect(unknown.message).toContain('patch.payload.bogus: unknown field');
  });

  it('releases an assigned task whose payload changed', () => {
    create([{ id: 'a', title: 'x' }]);
    claim();
    const { change } = run(table.update('a', { payload: { command: 'echo new' } }));
    expect(status('a')).toBe('queued');
    expect(change.aborts).toHaveLength(1);
  });

  it('changes nothing for a patch equal to the task', () => {
    create([{ id: 'a', title: 'x' }]);
    expect(table.update('a', { title: 'x', labels: [] }).change.ops).toEqual([]);
  });
});

describe('journal replay and snapshots', () => {
  function busyHistory() {
    create(
      [
        { id: 'a', title: 'A', priority: 3, labels: ['gpu'] },
        { id: 'b', title: 'B', deps: ['a'] },
        { id: 'c', title: 'C', deps: ['b'] },
        { id: 'd', title: 'D' },
        { id: 'e', title: 'E', deps: ['d'] },
      ],
      'k1',
    );
    claim({ id: 'w1', kinds: ['job'], labels: ['gpu'] }, 1);
    start('a');
    complete('a');
    claim(w1, 1);
    fail('b');
    run(table.addDep('e', 'a'));
    run(table.update('e', { priority: 7 }));
    run(table.cancel('d', 'obsolete'));
    run(table.retry('b'));
    claim(w2, 5);
  }

  it('replaying the ops of every command rebuilds exactly the same state', () => {
    busyHistory();
    const replayed = newTable();
    for (const op of JSON.parse(JSON.stringify(journal)) as Op[]) replayed.apply(op);
    expect(stateOf(replayed)).toEqual(stateOf(table));
    expect(replayed.idempotency.lookup('k1')?.ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(replayed.tasksOf('w2').size).toBe(table.tasksOf('w2').size);
  });

  it('a snapshot taken while the table keeps changing holds the state at its cut', () => {
    busyHistory();
    const atCut = stateOf(table);
    const opsAtCut = journal.length;
    const builder = new SnapshotBuilder(table, clock, 2);
    builder.step(0); // serializes a and b only; then tasks before and after the cursor change
    start('b', 'w2');
    complete('b', 'w2');
    create([{ id: 'late', title: 'after the cut' }]);
    run(table.update('c', { title: 'edited after the cut' }));
    expect(builder.done).toBe(false);
    const text = builder.finish(42);

    const restored = newTable();
    const header = loadSnapshot(restored, text);
    expect(header.seq).toBe(42);
    expect(stateOf(restored)).toEqual(atCut);
    // Replaying the ops after the cut brings it to the current state.
    for (const op of journal.slice(opsAtCut)) restored.apply(op);
    expect(stateOf(restored)).toEqual(stateOf(table));
  });

  it('a snapshot encoded in pieces holds exactly the bytes of its text', async () => {
    busyHistory();
    create([{ id: 'wide', title: 'größer — 漢字 ✓' }]);
    const expected = new SnapshotBuilder(table, clock).finish(7);
    const builder = new SnapshotBuilder(table, clock, 2, 7);
    builder.step(0);
    start('b', 'w2');
    run(table.update('wide', { title: 'edited after the cut' }));
    // Pieces of 7 bytes cut lines and multi-byte characters; concatenation must undo it.
    const { pieces, bytes } = await builder.finishPieces(7, 0);
    expect(pieces.every((p) => p.length <= 7)).toBe(true);
    const all = Buffer.concat(pieces);
    expect(all.length).toBe(bytes);
    expect(all.toString('utf8')).toBe(expected);
    const restored = newTable();
    loadSnapshot(restored, all.toString('utf8'));
    expect(restored.size).toBe(table.size);
  });

  it('coordinator events match their schemas exactly, so production may skip the check', () => {
    busyHistory();
    create([{ id: 'f', title: 'F', description: 'why not', deps: ['c'] }]);
    run(table.removeDep('f', 'c'));
    const types = new Set<string>();
    for (const op of JSON.parse(JSON.stringify(journal)) as Op[]) {
      const derived = eventFromOp(op);
      if (!derived) continue;
      types.add(derived.type);
      const parsed = EVENT_DATA[derived.type].parse(derived.data);
      // Same fields in the same order: emitting it unchecked puts the same bytes on the wire.
      expect(JSON.stringify(derived.data)).toBe(JSON.stringify(parsed));
    }
    // The failed b is dead-lettered, and its retry removes the dead letter.
    expect([...types].sort()).toEqual([
      'coord.dead-letter-retried',
      'coord.dead-lettered',
      'coord.dep-added',
      'coord.dep-removed',
      'coord.task-created',
      'coord.task-updated',
    ]);
  });

  it('a refused command leaves no trace', () => {
    busyHistory();
    const before = stateOf(table);
    const ops = journal.length;
    refusal(() =>
      create([
        { id: 'new1', title: 'x' },
        { id: 'new2', title: 'y', deps: ['nope'] },
      ]),
    );
    refusal(() => table.addDep('a', 'c'));
    refusal(() => table.retry('a'));
    refusal(() => table.update('a', { title: 'z' }));
    expect(stateOf(table)).toEqual(before);
    expect(journal.length).toBe(ops);
  });
});

it('keeps the status counters equal to the tasks', () => {
  create(
    Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, title: 'x', deps: i % 5 ? [`t${i - 1}`] : [] })),
  );
  claim(w1, 7);
  run(table.cancel('t10', undefined));
  const counted: Partial<Record<TaskStatus, number>> = {};
  for (const t of table.ordered) counted[t.status] = (counted[t.status] ?? 0) + 1;
  for (const [s, n] of Object.entries(table.counts)) expect(n).toBe(counted[s as TaskStatus] ?? 0);
});

describe('retry waits and dead letters', () => {
  const retryIn = (waitMs: number) => () => ({ retry: true as const, waitMs, retriesLeft: 1 });
  const failWith = (t: TaskTable, id: string, errorClass: 'transient' | 'fatal' = 'transient') =>
    t.failed('w1', id, t.get(id)!.currentAttempt!.number, errorClass, 'flaky');
  const ops: Op[] = [];
  const tableWith = (decideFailure: ConstructorParameters<typeof TaskTable>[0]) => {
    ops.length = 0;
    const t = new TaskTable({ now: () => clock, ...decideFailure });
    const record = (c: Change) => ops.push(...c.ops);
    return { t, record };
  };

  it('a retry waits in queued outside the ready queue until its time, then is handed out', () => {
    const { t, record } = tableWith({ decideFailure: retryIn(1000) });
    record(
      t.create([parse({ id: 'a', title: 'A' })], { traceId: 't', actor: 'x', field: () => 'task' }).change,
    );
    record(t.claim(w1, 1).change);
    const change = failWith(t, 'a');
    record(change);
    expect(change.ops.map((o) => o.o)).toEqual(['st', 'wait']);
    expect(eventFromOp(change.ops[1]!)).toMatchObject({
      type: 'coord.task-retrying',
      data: {
        id: 'a',
        attempt: 1,
        errorClass: 'transient',
        retriesLeft: 1,
        retryAt: new Date(clock + 1000).toISOString(),
      },
    });
    expect(t.get('a')!.status).toBe('queued');
    expect(t.claim(w1, 1).tasks).toEqual([]);
    expect(t.releaseDue(clock + 999)).toBe(0);
    expect(t.nextDue()).toBe(clock + 1000);
    // Replay and snapshot keep the wait.
    const replayed = new TaskTable({ now: () => clock });
    for (const op of JSON.parse(JSON.stringify(ops)) as Op[]) replayed.apply(op);
    expect(replayed.nextDue()).toBe(clock + 1000);
    const restored = new TaskTable({ now: () => clock });
    loadSnapshot(restored, new SnapshotBuilder(t, clock).finish(1));
    expect(restored.nextDue()).toBe(clock + 1000);
    expect(restored.get('a')!.failures).toBe(1);
    expect(restored.claim(w1, 1).tasks).toEqual([]);

    expect(t.releaseDue(clock + 1000)).toBe(1);
    expect(t.claim(w1, 1).tasks.map((x) => [x.id, x.currentAttempt!.number])).toEqual([['a', 2]]);
  });

  it('a task that fails for good is dead-lettered; an operator retry removes it and resets the count', () => {
    const { t } = tableWith({});
    t.create([parse({ id: 'a', title: 'A' })], { traceId: 't', actor: 'x', field: () => 'task' });
    t.claim(w1, 1);
    const change = failWith(t, 'a', 'fatal');
    expect(change.ops.map((o) => o.o)).toEqual(['st', 'dl', 'all']);
    expect(t.deadLetters.get('a')).toMatchObject({
      attempts: 1,
      status: 'open',
      lastError: { class: 'fatal' },
    });
    expect(t.get('a')!.failures).toBe(1);
    const dismissed = t.dismissDeadLetter('a', 'looked at it', 'op');
    expect(eventFromOp(dismissed.ops[0]!)).toMatchObject({
      type: 'coord.dead-letter-dismissed',
      data: { id: 'a', reason: 'looked at it', actor: 'op' },
    });
    const retried = t.retryDeadLetter('a', { priority: 7, labels: ['gpu'] }, 'op');
    expect(retried.change.ops.map((o) => o.o)).toEqual(['st', 'dl-', 'edit']);
    expect(t.get('a')).toMatchObject({ status: 'queued', priority: 7, labels: ['gpu'], failures: 0 });
    expect(t.deadLetters.get('a')).toBeUndefined();
    expect(refusal(() => t.retryDeadLetter('a', {}, 'op')).code).toBe('not_found');
    expect(refusal(() => t.dismissDeadLetter('nope', 'x', 'op')).code).toBe('not_found');
  });

  it('retry and dead-letter events match their schemas exactly', () => {
    const { t, record } = tableWith({ decideFailure: retryIn(10) });
    record(
      t.create([parse({ id: 'a', title: 'A' })], { traceId: 't', actor: 'x', field: () => 'task' }).change,
    );
    record(t.claim(w1, 1).change);
    record(failWith(t, 'a'));
    record(t.cancel('a', 'enough').change);
    // A canceled retry no longer waits.
    expect(t.waiting.size).toBe(0);
    expect(t.nextDue()).toBeUndefined();
    const all = [...ops];
    const fatal = tableWith({});
    fatal.t.create([parse({ id: 'b', title: 'B' })], { traceId: 't', actor: 'x', field: () => 'task' });
    fatal.t.claim(w1, 1);
    all.push(...failWith(fatal.t, 'b', 'fatal').ops, ...fatal.t.dismissDeadLetter('b', 'seen', 'op').ops);
    const types: string[] = [];
    for (const op of JSON.parse(JSON.stringify(all)) as Op[]) {
      const derived = eventFromOp(op);
      if (!derived) continue;
      types.push(derived.type);
      expect(JSON.stringify(derived.data)).toBe(JSON.stringify(EVENT_DATA[derived.type].parse(derived.data)));
    }
    expect(types).toContain('coord.task-retrying');
    expect(types).toContain('coord.dead-lettered');
    expect(types).toContain('coord.dead-letter-dismissed');
  });
});
