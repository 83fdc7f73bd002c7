/**
 * Measures the coordinator's memory per held task: 100,000 no-op tasks created in batches of
 * 1,000, half of them run to completion (claim + complete, one attempt each). Run with
 *   node --expose-gc --import tsx services/coordinator/scripts/memory-per-task.ts
 */
import { newId } from '@jousting/bus';
import { NewTask } from '@jousting/contracts';
import { TaskTable } from '../src/task-table.js';

const TASKS = Number(process.env.TASKS ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const before = heap();
const table = new TaskTable({ newId: () => newId() });
const worker = { id: 'w1', kinds: ['noop'], labels: [] };
for (let i = 0; i < TASKS; i += 1000) {
  const batch = Array.from({ length: 1000 }, (_, j) =>
    NewTask.parse({ title: `noop ${i + j}`, kind: 'noop' }),
  );
  table.create(batch, {
    traceId: newId().toLowerCase().padEnd(32, '0'),
    actor: 'token:bench',
    field: (n) => `tasks.${n}`,
  });
}
const queued = heap();
for (let done = 0; done < TASKS / 2; ) {
  const { tasks } = table.claim(worker, 1000);
  for (const t of tasks) table.completed('w1', t.id, 1, undefined);
  done += tasks.length;
}
const mixed = heap();
const perQueued = (queued - before) / TASKS;
const perMixed = (mixed - before) / TASKS;
console.log(
  JSON.stringify({
    tasks: table.size,
    complete: table.counts.complete,
    heapMiB: Math.round(((mixed - before) / 1024 / 1024) * 10) / 10,
    bytesPerTaskQueued: Math.round(perQueued),
    bytesPerTaskHalfComplete: Math.round(perMixed),
  }),
);
