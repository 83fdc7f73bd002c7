// CPU time of local processes from /proc (Linux), for the benchmarks that split CPU by process.
import { readdirSync, readFileSync } from 'node:fs';

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
