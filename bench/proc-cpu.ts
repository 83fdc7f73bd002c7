// CPU time of local processes from /proc (Linux), for the benchmarks that split CPU by process.
import { readdirSync, readFileSync } from 'node:fs';

/** User + system CPU seconds in a /proc `stat` file (a process's or one of its threads'). */
function statCpuSeconds(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** The pid of the local process whose command line names `program` and contains `mark` (e.g. its port). */
export function findPid(program: string, mark: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(program) && cmdline.includes(mark)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no ${program} process with ${mark} in its command line`);
}

/** Runs `work` and returns what it returned with the CPU seconds each process used meanwhile. */
export async function cpuDuring<T, K extends string>(
  pids: Record<K, number>,
  work: () => Promise<T>,
): Promise<{ result: T; wallSeconds: number; cpu: Record<K, number> }> {
  const keys = Object.keys(pids) as K[];
  const before = keys.map((k) => cpuSeconds(pids[k]));
  const started = performance.now();
  const result = await work();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = Object.fromEntries(
    keys.map((k, i) => [k, +(cpuSeconds(pids[k]) - before[i]!).toFixed(2)]),
  ) as Record<K, number>;
  return { result, wallSeconds, cpu };
}

/** CPU seconds used so far by each thread of a process, by thread id. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), statCpuSeconds(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // The thread ended while we looked.
    }
  }
  return threads;
}

/**
 * How a Node process's CPU between two `threadCpuSeconds` readings splits: its main thread, its
 * busiest other thread (in the coordinator, the event thread), and the rest (V8's garbage
 * collection and compiler helpers, libuv's pool).
 */
export function nodeThreadSplit(pid: number, before: Map<number, number>, after: Map<number, number>) {
  const used = [...after].map(([tid, s]) => ({ tid, seconds: s - (before.get(tid) ?? 0) }));
  const main = used.find((t) => t.tid === pid)?.seconds ?? 0;
  const others = used.filter((t) => t.tid !== pid).sort((a, b) => b.seconds - a.seconds);
  const busiest = others[0]?.seconds ?? 0;
  const rest = others.slice(1).reduce((sum, t) => sum + t.seconds, 0);
  const round = (s: number) => +s.toFixed(2);
  return { main: round(main), busiestOther: round(busiest), rest: round(rest) };
}
