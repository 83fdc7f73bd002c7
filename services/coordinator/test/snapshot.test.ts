import { NewTask } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { encodeTask, loadSnapshot, SnapshotBuilder } from '../src/snapshot.js';
import type { Change, TaskTable as Table } from '../src/task-table.js';
import { TaskTable } from '../src/task-table.js';

let clock = 1_700_000_000_000;
const worker = { id: 'w1', kinds: ['job'], labels: [] as string[] };

/** A table of `count` tasks run to the end: every seventh one failed (fatal), the rest complete. */
function finishedTable(count: number): Table {
  let n = 0;
  const table = new TaskTable({ now: () => clock++, newId: () => `t${n++}` });
  const tasks = Array.from({ length: count }, (_, i) =>
    NewTask.parse({ kind: 'job', title: `task ${i} — ✓`, payload: { i } }),
  );
  table.create(tasks, { traceId: 'trace-1', actor: 'tester', field: (i) => `tasks.${i}` });
  for (;;) {
    const { tasks: claimed } = table.claim(worker, 500);
    if (claimed.length === 0) break;
    for (const task of claimed) {
      const attempt = task.currentAttempt!.number;
      table.started('w1', task.id, attempt);
      if (Number(task.id.slice(1)) % 7 === 0) table.failed('w1', task.id, attempt, 'fatal', 'boom');
      else table.completed('w1', task.id, attempt, { ok: task.id });
    }
  }
  return table;
}

/** The snapshot text with nothing cached: the header line, then every task encoded now. */
const fresh = (table: Table, text: string) =>
  `${text.slice(0, text.indexOf('\n'))}\n${table.ordered.map(encodeTask).join('\n')}`;

const piecesText = async (builder: SnapshotBuilder, seq: number, pieceBytes = 4096) => {
  const { pieces, bytes } = await builder.finishPieces(seq, 0);
  expect(pieces.every((p) => p.length <= pieceBytes)).toBe(true);
  const all = Buffer.concat(pieces);
  expect(all.length).toBe(bytes);
  return all.toString('utf8');
};

describe('snapshots reuse the encoded blocks of finished tasks', () => {
  it('a second snapshot equals a fresh encoding after finished tasks were retried and changed', async () => {
    const table = finishedTable(1000);
    const first = await piecesText(new SnapshotBuilder(table, clock, 64, 4096, 256), 1);
    expect(first).toBe(fresh(table, first));

    // Retry two failed tasks in different blocks and run one of them again: their blocks change.
    const changes: Change[] = [table.retry('t7', 'op').change, table.retry('t700', 'op').change];
    const { tasks } = table.claim(worker, 10);
    expect(tasks.map((t) => t.id)).toContain('t7');
    table.started('w1', 't7', 2);
    table.completed('w1', 't7', 2, { again: true });
    expect(changes.every((c) => c.ops.length > 0)).toBe(true);

    const second = await piecesText(new SnapshotBuilder(table, clock, 64, 4096), 2);
    expect(second).toBe(fresh(table, second));
    expect(second).toContain('"{\\"again\\":true}"');

    const restored = new TaskTable({ now: () => clock++ });
    loadSnapshot(restored, second);
    expect(restored.ordered.map(encodeTask)).toEqual(table.ordered.map(encodeTask));
  });

  it('a cached block that changes while the snapshot runs is taken at the cut', async () => {
    const table = finishedTable(600);
    await piecesText(new SnapshotBuilder(table, clock, 256, 512 * 1024, 256), 1, 512 * 1024);
    const builder = new SnapshotBuilder(table, clock, 2, 4096);
    const atCut = fresh(table, 'header\n').split('\n').slice(1);
    builder.step(0);
    table.retry('t511', 'op'); // in the second block, before the builder reaches it
    table.retry('t0', 'op'); // already behind the cursor
    const text = await piecesText(builder, 2);
    expect(text.split('\n').slice(1)).toEqual(atCut);
    // The next snapshot sees both retries.
    const next = await piecesText(new SnapshotBuilder(table, clock), 3, 512 * 1024);
    expect(next).toBe(fresh(table, next));
    expect(table.get('t511')!.status).toBe('queued');
  });

  it('refuses a second snapshot while one is being taken, and allows one after release', () => {
    const table = finishedTable(10);
    const builder = new SnapshotBuilder(table, clock);
    expect(() => new SnapshotBuilder(table, clock)).toThrow('already being taken');
    builder.release();
    expect(new SnapshotBuilder(table, clock).finish(1).split('\n')).toHaveLength(11);
  });
});
