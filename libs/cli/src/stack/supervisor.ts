import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Overrides the supervisor's stopTimeoutMs for this process. */
  stopTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisorOptions {
  /** Every line a child writes on stdout or stderr. */
  onLine(name: string, line: string): void;
  /** What the supervisor does: restarts, kills. */
  onNotice(message: string, level: 'info' | 'warn' | 'error'): void;
  /** A child crashed `crashLimit.count` times within `crashLimit.windowMs`; it is not restarted. */
  onGiveUp(name: string, crashes: number): void;
  /** Restart delay: `initialMs`, doubling per consecutive crash, at most `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
  crashLimit?: { count: number; windowMs: number };
  /** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
  stopTimeoutMs?: number;
}

export const describeExit = ({ code, signal }: ExitInfo) =>
  signal ? `killed by ${signal}` : `exited with code ${code}`;

/** One child under supervision: the spec, its current process, its crash history. */
export class SupervisedProcess {
  child: ChildProcess | undefined;
  stopping = false;
  /** Off while its start is still being checked: a process that cannot start is not retried. */
  restartOnExit = true;
  private crashTimes: number[] = [];
  private consecutiveCrashes = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private exitWaiters: Array<(exit: ExitInfo) => void> = [];

  constructor(
    readonly spec: ProcessSpec,
    private readonly opts: Required<SupervisorOptions>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Resolves when the current process exits (or at once if none runs). */
  nextExit(): Promise<ExitInfo> {
    if (!this.child) return Promise.resolve({ code: null, signal: null });
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  spawn(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const { spec } = this;
    // Own process group: a terminal's Ctrl-C reaches only `up`, which then stops children in order.
    const child = spawn(spec.command, spec.args, {
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      if (stream)
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) =>
          this.opts.onLine(spec.name, l),
        );
    }
    let exited = false;
    const onExit = (exit: ExitInfo) => {
      if (exited) return;
      exited = true;
      if (this.child === child) this.child = undefined;
      for (const resolve of this.exitWaiters.splice(0)) resolve(exit);
      if (!this.stopping && this.restartOnExit) this.crashed(exit);
    };
    child.once('exit', (code, signal) => onExit({ code, signal }));
    child.once('error', (err) => {
      // Only a failed spawn has no pid; other errors (a failed kill) are followed by 'exit' or nothing to do.
      if (child.pid === undefined) {
        this.opts.onNotice(`${spec.name} could not start: ${err.message}`, 'error');
        onExit({ code: null, signal: null });
      }
    });
  }

  private crashed(exit: ExitInfo): void {
    const now = Date.now();
    const { count, windowMs } = this.opts.crashLimit;
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < windowMs), now];
    if (this.crashTimes.length >= count) {
      this.opts.onNotice(
        `${this.spec.name} ${describeExit(exit)}; it crashed ${count} times within ${windowMs / 1000} s`,
        'error',
      );
      this.opts.onGiveUp(this.spec.name, this.crashTimes.length);
      return;
    }
    // A process that ran for a full crash window counts as healthy again.
    if (now - this.startedAt >= windowMs) this.consecutiveCrashes = 0;
    const { initialMs, maxMs } = this.opts.backoff;
    const delay = Math.min(initialMs * 2 ** this.consecutiveCrashes, maxMs);
    this.consecutiveCrashes++;
    this.opts.onNotice(
      `${this.spec.name} ${describeExit(exit)}; restarting in ${formatDelay(delay)}`,
      'warn',
    );
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  /** SIGTERM, then SIGKILL after the stop timeout; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child) return;
    const exited = this.nextExit();
    signal(child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const stopTimeoutMs = this.spec.stopTimeoutMs ?? this.opts.stopTimeoutMs;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.opts.onNotice(
        `${this.spec.name} still running ${formatDelay(stopTimeoutMs)} after SIGTERM; sending SIGKILL`,
        'warn',
      );
      signal(child, 'SIGKILL');
      await exited;
    }
  }

  /** SIGKILL now, no waiting, no restart. */
  kill(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.child) signal(this.child, 'SIGKILL');
  }
}

/** Signals the child's whole process group, so nothing it started itself outlives it. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch {
    try {
      child.kill(sig);
    } catch {}
  }
}

const formatDelay = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * Runs child processes, restarts a crashed one with exponential backoff, gives up on one that
 * crash-loops, and stops them all in reverse start order.
 */
export class Supervisor {
  private readonly procs: SupervisedProcess[] = [];
  private readonly opts: Required<SupervisorOptions>;

  constructor(opts: SupervisorOptions) {
    this.opts = {
      backoff: { initialMs: 1000, maxMs: 30_000 },
      crashLimit: { count: 5, windowMs: 60_000 },
      stopTimeoutMs: 10_000,
      ...opts,
    };
  }

  start(spec: ProcessSpec, opts: { restartOnExit?: boolean } = {}): SupervisedProcess {
    const proc = new SupervisedProcess(spec, this.opts);
    proc.restartOnExit = opts.restartOnExit ?? true;
    this.procs.push(proc);
    proc.spawn();
    return proc;
  }

  /** Pids of the children running now. */
  pids(): number[] {
    return this.procs.flatMap((p) => (p.pid === undefined || !p.running ? [] : [p.pid]));
  }

  /** Stops every child, the last started first, each waited for before the next. */
  async stopAll(): Promise<void> {
    // Mark all first, so a child that dies while an earlier one stops is not restarted.
    for (const proc of this.procs) proc.stopping = true;
    for (const proc of [...this.procs].reverse()) await proc.stop();
  }

  /** SIGKILL to every child now; synchronous, for process exit handlers. */
  killAll(): void {
    for (const proc of this.procs) proc.kill();
  }

  /** SIGKILL to every child, then waits (at most `timeoutMs`) until each is reaped. */
  async killAllAndWait(timeoutMs = 2000): Promise<void> {
    const exits = this.procs.map((p) => p.nextExit());
    this.killAll();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(exits),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
