// Starts bench/steady-worker.mts as a child process and collects its latencies.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type FromWorker = { kind: 'ready' } | { kind: 'done'; latencies: number[] };

/** The producer's clock for `sentAt`, comparable with the worker process's. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Resolves once the worker is ready; `latencies` resolves when it has seen `total` tasks. */
async function startSteadyWorker(env: Record<string, string>, total: number) {
  const child = fork(fileURLToPath(new URL('./steady-worker.mts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env, BENCH_TOTAL: String(total) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the steady-latency worker exited with ${code}`))),
  );
  const message = (kind: FromWorker['kind']) =>
    Promise.race([
      new Promise<FromWorker>((resolve) => {
        const on = (m: FromWorker) => {
          if (m.kind !== kind) return;
          child.off('message', on);
          resolve(m);
        };
        child.on('message', on);
      }),
      exited,
    ]);
  const done = message('done');
  done.catch(() => undefined);
  await message('ready');
  return {
    latencies: done.then((m) => (m.kind === 'done' ? m.latencies : [])),
    kill: () => child.kill('SIGKILL'),
  };
}

/**
 * The steady-latency workload of either side: starts the worker process (`workerEnv`), sends
 * `ratePerSecond × seconds` items in ticks of 10 ms through `send(count, first)` (each item's
 * `sentAt` from wallNow()), and resolves with the worker's latencies in ms. `pipelined: false`
 * waits for each send before the next tick.
 */
export async function measureSteadyLatency(opts: {
  workerEnv: Record<string, string>;
  ratePerSecond: number;
  seconds: number;
  pipelined: boolean;
  send: (count: number, first: number) => Promise<unknown>;
}): Promise<number[]> {
  const total = opts.ratePerSecond * opts.seconds;
  const worker = await startSteadyWorker(opts.workerEnv, total);
  try {
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((opts.ratePerSecond * tickMs) / 1000));
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let sent = 0; sent < total; ) {
      const count = Math.min(perTick, total - sent);
      const sending = opts.send(count, sent);
      if (opts.pipelined) pending.push(sending);
      else await sending;
      sent += count;
      const wait = start + (sent / perTick) * tickMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(pending);
    return await worker.latencies;
  } finally {
    worker.kill();
  }
}
