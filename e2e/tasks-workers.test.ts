import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callCommand } from '@jousting/bus';
import {
  coordCommands,
  JoustingError,
  type NewTask,
  type TaskDetail,
  WORKER_TOKEN_HEADER,
  workerCommands,
} from '@jousting/contracts';
import { launchService, type ServiceProcess } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

const LEASE_MS = 1500;
let stack: Stack;
let nc: NatsConnection;
let secondWorker: ServiceProcess | undefined;
/** Commands left behind by a SIGKILLed worker, killed after the tests. */
const orphans: number[] = [];

beforeAll(async () => {
  stack = await startStack({
    services: ['settings', 'coordinator', 'worker'],
    env: { COORD_LEASE_MS: String(LEASE_MS), WORKER_ID: 'worker-one', WORKER_DRAIN_SECONDS: '2' },
  });
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  for (const pid of orphans) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  await secondWorker?.stop();
  await nc?.close();
  await stack?.stop();
});

const create = async (task: NewTask) =>
  (await callCommand(nc, coordCommands.create, { task, actor: 'e2e' })).task.id;
const get = (id: string) => callCommand(nc, coordCommands.get, { id });

/** Polls the task until `predicate` holds; returns it. */
async function waitForTask(
  id: string,
  predicate: (t: TaskDetail) => boolean,
  what: string,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await get(id);
    if (predicate(task)) return task;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; task: ${JSON.stringify(task)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the process is gone or only a zombie waiting to be reaped. */
function processDead(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pidFromOutput = (task: TaskDetail) => Number(task.output.find((o) => /^\d+$/.test(o.line))?.line);

describe('tasks run by the worker service, through the real coordinator', () => {
  it('an exec task `echo hello` completes, with its output lines kept', async () => {
    const id = await create({ title: 'say hello', payload: { command: 'echo', args: ['hello'] } });
    const task = await waitForTask(id, (t) => t.status === 'complete', 'complete');
    expect(task.result).toMatchObject({ exitCode: 0 });
    expect(task.output.map((o) => [o.stream, o.line])).toEqual([['stdout', 'hello']]);
    expect(task.attempts).toMatchObject([{ number: 1, workerId: 'worker-one', outcome: 'complete' }]);
  });

  it('a failing command fails with its exit code and last stderr line', async () => {
    const id = await create({
      title: 'fail',
      payload: { command: 'sh', args: ['-c', 'echo "disk full" >&2; exit 3'] },
    });
    const task = await waitForTask(id, (t) => t.attempts[0]?.outcome === 'failed', 'first attempt failed');
    expect(task.attempts[0]?.error).toEqual({ class: 'transient', message: 'exited with code 3: disk full' });
    expect(task.output).toMatchObject([{ stream: 'stderr', line: 'disk full' }]);
  });

  it('a command that does not exist fails fatal', async () => {
    const id = await create({ title: 'missing', payload: { command: 'no-such-command-jousting' } });
    const task = await waitForTask(id, (t) => t.status === 'failed', 'failed');
    expect(task.error).toEqual({ class: 'fatal', message: 'command not found: no-such-command-jousting' });
  });

  it('cancel of a running task kills its process on the worker', async () => {
    const id = await create({
      title: 'long sleep',
      payload: { command: 'sh', args: ['-c', 'echo $$; exec sleep 30'] },
    });
    const running = await waitForTask(id, (t) => t.status === 'running' && pidFromOutput(t) > 0, 'running');
    const pid = pidFromOutput(running);
    expect(processDead(pid)).toBe(false);
    const canceled = await callCommand(nc, coordCommands.cancel, { id, actor: 'e2e', reason: 'enough' });
    expect(canceled.task.status).toBe('canceled');
    await until(() => processDead(pid), `process ${pid} killed`, 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await get(id)).status).toBe('canceled');
  });

  it('a running task survives a coordinator restart: the worker says hello again and reports', async () => {
    const id = await create({
      title: 'outlives the coordinator',
      payload: { command: 'sh', args: ['-c', 'echo started; sleep 2; echo finished'] },
    });
    await waitForTask(id, (t) => t.status === 'running' && t.output.length > 0, 'running');
    const old = stack.services.coordinator;
    if (!old) throw new Error('no coordinator in the stack');
    expect(await old.stop('SIGTERM')).toBe(0);
    stack.services.coordinator = await launchService('coordinator', {
      natsUrl: stack.nats.url,
      env: { JOUSTING_DATA_DIR: stack.dataDir, COORD_LEASE_MS: String(LEASE_MS) },
    });
    const done = await waitForTask(id, (t) => t.status === 'complete', 'complete after the restart');
    expect(done.output.map((o) => o.line)).toContain('finished');
    // The same attempt finished: the worker kept running it and its reports reached the new coordinator.
    expect(done.attempts).toMatchObject([{ number: 1, workerId: 'worker-one', outcome: 'complete' }]);
    const workers = await callCommand(nc, coordCommands.workers, {});
    expect(workers.items).toMatchObject([{ id: 'worker-one', status: 'online' }]);
  });

  it('a worker killed with SIGKILL mid-task loses nothing: after the lease a second worker completes it', async () => {
    const mark = join(stack.dataDir, 'first-run-happened');
    const id = await create({
      title: 'sleeps the first time',
      payload: {
        command: 'sh',
        args: [
          '-c',
          'if [ -e "$MARK" ]; then echo "second run"; else touch "$MARK"; echo $$; exec sleep 30; fi',
        ],
        env: { MARK: mark },
      },
    });
    const running = await waitForTask(id, (t) => t.status === 'running' && pidFromOutput(t) > 0, 'running');
    orphans.push(pidFromOutput(running));

    const worker = stack.services.worker;
    if (!worker) throw new Error('no worker in the stack');
    const killedAt = Date.now();
    await worker.stop('SIGKILL');
    const lost = await waitForTask(id, (t) => t.attempts[0]?.outcome === 'lost', 'the lease to run out');
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(LEASE_MS - 600);
    expect(['queued', 'assigned', 'running', 'complete']).toContain(lost.status);

    secondWorker = await launchService('worker', {
      natsUrl: stack.nats.url,
      env: { JOUSTING_DATA_DIR: stack.dataDir, WORKER_ID: 'worker-two', WORKER_DRAIN_SECONDS: '1' },
    });
    const done = await waitForTask(id, (t) => t.status === 'complete', 'completed by the second worker');
    expect(done.attempts).toMatchObject([
      { number: 1, workerId: 'worker-one', outcome: 'lost' },
      { number: 2, workerId: 'worker-two', outcome: 'complete' },
    ]);
    expect(done.output.map((o) => o.line)).toContain('second run');

    // The dead worker comes back (hello again, as the SDK does) and reports its old attempt: refused.
    const token = readFileSync(join(stack.dataDir, 'worker-token'), 'utf8').trim();
    const headers = { [WORKER_TOKEN_HEADER]: token };
    await callCommand(
      nc,
      workerCommands.hello,
      { workerId: 'worker-one', name: 'worker-one', kinds: ['exec'], capacity: 1 },
      { headers },
    );
    const late = await callCommand(
      nc,
      workerCommands.report,
      {
        workerId: 'worker-one',
        reports: [{ type: 'completed', taskId: id, attempt: 1, result: { exitCode: 0 } }],
      },
      { headers },
    );
    expect(late.results).toMatchObject([{ taskId: id, attempt: 1, ok: false, error: { code: 'conflict' } }]);
    await callCommand(nc, workerCommands.bye, { workerId: 'worker-one', release: true }, { headers });
    expect((await get(id)).attempts).toHaveLength(2);
  });

  it('a worker stopped with SIGTERM kills what outlives its drain time and releases it at once', async () => {
    const worker = secondWorker;
    if (!worker) throw new Error('the second worker is not running');
    const id = await create({
      title: 'too long to drain',
      payload: { command: 'sh', args: ['-c', 'echo $$; exec sleep 30'] },
    });
    const running = await waitForTask(id, (t) => t.status === 'running' && pidFromOutput(t) > 0, 'running');
    const pid = pidFromOutput(running);
    const stoppedAt = Date.now();
    expect(await worker.stop('SIGTERM')).toBe(0);
    // Drain (1 s), then the worker's own waiting claim ends (≤ 5 s), then the command is killed.
    expect(Date.now() - stoppedAt).toBeLessThan(9000);
    expect(processDead(pid)).toBe(true);
    const task = await get(id);
    expect(task.status).toBe('queued');
    expect(task.attempts).toMatchObject([{ number: 1, workerId: 'worker-two', outcome: 'released' }]);
    const workers = await callCommand(nc, coordCommands.workers, {});
    expect(workers.items.find((w) => w.id === 'worker-two')?.status).toBe('offline');
  });

  it('refuses worker requests without the token', async () => {
    const refused = await callCommand(nc, workerCommands.claim, { workerId: 'worker-two', max: 1 }).catch(
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(JoustingError);
    expect((refused as JoustingError).code).toBe('unauthorized');
  });
});
