// Starts bench/steady-worker.mts as a child process and collects its latencies.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type FromWorker = { kind: 'ready' } | { kind: 'done'; latencies: number[] };

/** The producer's clock for `sentAt`, comparable with the worker process's. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Resolves once the worker is ready; `latencies` resolves when it has seen `total` tasks. */
export async function startSteadyWorker(env: Record<string, string>, total: number) {
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
