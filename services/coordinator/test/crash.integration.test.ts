import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand, readEventStream } from '@jousting/bus';
import { type Command, coordCommands, WORKER_TOKEN_HEADER, workerCommands } from '@jousting/contracts';
import { launchService, type NatsHandle, repoRoot, type ServiceProcess, startNats } from '@jousting/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { z } from 'zod';

/**
 * Kill -9 of the coordinator (the built service, a real process) in the middle of a stream of
 * creates and completions: after a restart every acknowledged create is there, every
 * acknowledged completion is complete exactly once, and each fact was announced exactly once.
 */
const TOKEN = 'jsw_crash_test_token';
const built = existsSync(join(repoRoot(), 'services/coordinator/dist/main.js'));
let nats: NatsHandle;
let nc: NatsConnection;
let dataDir: string;
let proc: ServiceProcess | undefined;

const env = () => ({
  JOUSTING_WORKER_TOKEN: TOKEN,
  JOUSTING_DATA_DIR: dataDir,
  COORD_LEASE_MS: '5000',
  // A restart after kill -9 waits for the dead instance's leader lease to run out.
  COORD_LEADER_LEASE_MS: '1000',
  // Snapshots (and journal purges) happen during the run, so recovery is snapshot plus journal.
  COORD_SNAPSHOT_INTERVAL_MS: '300',
  COORD_SNAPSHOT_EVERY_OPS: '1000',
  LOG_LEVEL: process.env.CRASH_DEBUG ? 'info' : 'warn',
});

beforeAll(async () => {
  if (!built) return;
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), 'coord-crash-'));
});
afterAll(async () => {
  await proc?.stop('SIGKILL');
  await nc?.close();
  await nats?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const worker = <C extends Command>(command: C, request: z.input<C['request']>, timeoutMs = 3000) =>
  callCommand(nc, command, request, { headers: { [WORKER_TOKEN_HEADER]: TOKEN }, timeoutMs });

it.skipIf(!built)(
  'loses no acknowledged create and duplicates no completion across kill -9',
  async () => {
    proc = await launchService('coordinator', { natsUrl: nats.url, env: env() });
    const created = new Set<string>();
    const completed = new Map<string, number>();
    let running = true;

    const creator = async (n: number) => {
      for (let round = 0; running; round++) {
        try {
          const reply = await callCommand(
            nc,
            coordCommands.createBatch,
            {
              tasks: Array.from({ length: 20 }, (_, i) => ({ title: `c${n}-${round}-${i}`, kind: 'crash' })),
              idempotencyKey: `crash-${n}-${round}`,
              actor: 'crash-test',
            },
            { timeoutMs: 2000 },
          );
          for (const t of reply.tasks) created.add(t.id);
        } catch {
          // The coordinator died mid-request: this batch was never acknowledged.
        }
      }
    };
    const runWorker = async () => {
      await worker(workerCommands.hello, {
        workerId: 'crash-w',
        name: 'crash',
        kinds: ['crash'],
        capacity: 200,
      });
      while (running) {
        try {
          const { tasks } = await worker(workerCommands.claim, {
            workerId: 'crash-w',
            max: 100,
            waitMs: 100,
          });
          if (tasks.length === 0) continue;
          const { results } = await worker(workerCommands.report, {
            workerId: 'crash-w',
            reports: tasks.map((t) => ({ type: 'completed' as const, taskId: t.taskId, attempt: t.attempt })),
          });
          for (const r of results) if (r.ok) completed.set(r.taskId, r.attempt);
        } catch {
          // Killed meanwhile: whatever was not answered is not counted.
        }
      }
    };
    const loops = [creator(1), creator(2), creator(3), runWorker()];
    // Kill once a good amount of work is acknowledged (or after 4 s).
    const deadline = Date.now() + 4000;
    while ((created.size < 3000 || completed.size < 1500) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await proc.stop('SIGKILL');
    running = false;
    await Promise.all(loops);
    if (process.env.CRASH_DEBUG)
      process.stdout.write(`killed after ${created.size} creates, ${completed.size} completions\n`);
    expect(created.size).toBeGreaterThan(100);
    expect(completed.size).toBeGreaterThan(50);

    proc = await launchService('coordinator', { natsUrl: nats.url, env: env() });

    // Every acknowledged create is there; every acknowledged completion is complete, once.
    const ids = [...created];
    for (let i = 0; i < ids.length; i += 200) {
      const tasks = await Promise.all(
        ids.slice(i, i + 200).map((id) => callCommand(nc, coordCommands.get, { id })),
      );
      for (const task of tasks) {
        const completes = task.attempts.filter((a) => a.outcome === 'complete');
        expect(completes.length).toBeLessThanOrEqual(1);
        const acked = completed.get(task.id);
        if (acked !== undefined) {
          expect(task.status).toBe('complete');
          expect(completes[0]?.number).toBe(acked);
        }
      }
    }
    // A worker re-sending its acknowledged completions is refused: no completion happens twice.
    await worker(workerCommands.hello, {
      workerId: 'crash-w',
      name: 'crash',
      kinds: ['crash'],
      capacity: 200,
    });
    const resent = [...completed].slice(0, 2000);
    const { results } = await worker(workerCommands.report, {
      workerId: 'crash-w',
      reports: resent.map(([taskId, attempt]) => ({ type: 'completed' as const, taskId, attempt })),
    });
    expect(results.every((r) => !r.ok && r.error?.code === 'conflict')).toBe(true);

    // Each task was announced once, and each completion once (re-sent after the crash if it was lost).
    const progress = await callCommand(nc, coordCommands.progress, {});
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.info('EVENTS')).state.last_seq;
    const createdEvents = new Map<string, number>();
    const completeEvents = new Map<string, number>();
    const dbg: string[] = [];
    const reader = await readEventStream(jetstream(nc), { afterSeq: 0 });
    for await (const { seq, event } of reader.events) {
      const data = event.data as { id?: string; to?: string; task?: { id: string } };
      if (process.env.CRASH_DEBUG && event.id.startsWith('coord-'))
        dbg.push(`${seq} ${event.id} ${event.type} ${data.task?.id ?? data.id}`);
      if (event.type === 'coord.task-created' && data.task) {
        createdEvents.set(data.task.id, (createdEvents.get(data.task.id) ?? 0) + 1);
      }
      if (event.type === 'coord.task-updated' && data.to === 'complete' && data.id) {
        completeEvents.set(data.id, (completeEvents.get(data.id) ?? 0) + 1);
      }
      if (seq >= last) break;
    }
    reader.stop();
    if (process.env.CRASH_DEBUG) {
      (await import('node:fs')).writeFileSync('/tmp/crash-events.txt', dbg.join('\n'));
      (await import('node:fs')).writeFileSync('/tmp/crash-coord.txt', proc.output());
    }
    expect(createdEvents.size).toBe(progress.total);
    expect([...createdEvents.values()].every((n) => n === 1)).toBe(true);
    expect(completeEvents.size).toBe(progress.byStatus.complete);
    expect([...completeEvents.values()].every((n) => n === 1)).toBe(true);
    for (const id of completed.keys()) expect(completeEvents.get(id)).toBe(1);
  },
  60_000,
);
