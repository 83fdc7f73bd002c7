import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ErrorClass, ExecPayload } from '@jousting/contracts';

export type ExecStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Each line the command writes, without its newline. */
  onLine?: (line: string, stream: ExecStream) => void;
  /** Aborting kills the command's process group. */
  signal?: AbortSignal;
  /** The environment the payload's env is merged over; default the worker's, without its secrets. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL of the process group; default 5000. */
  killGraceMs?: number;
}

/** How a command ended; `execVerdict` turns it into a result or a classified failure. */
export type ExecOutcome =
  | { kind: 'exited'; exitCode: number; durationMs: number; lastStderrLine?: string }
  | { kind: 'signaled'; signal: string; durationMs: number; lastStderrLine?: string }
  | { kind: 'spawn-failed'; message: string; durationMs: number }
  | { kind: 'timed-out'; seconds: number; durationMs: number }
  | { kind: 'aborted'; durationMs: number };

export type ExecVerdict =
  | { ok: true; result: { exitCode: number; durationMs: number } }
  | { ok: false; errorClass: ErrorClass; message: string };

/** Variables of the worker that a task's command must not see. */
export const WORKER_SECRET_ENV = ['JOUSTING_WORKER_TOKEN', 'JOUSTING_ADMIN_TOKEN'];
const MAX_LINE = 16_384;

export function execVerdict(outcome: ExecOutcome): ExecVerdict {
  const stderr = (line: string | undefined) => (line ? `: ${line}` : '');
  switch (outcome.kind) {
    case 'exited':
      return outcome.exitCode === 0
        ? { ok: true, result: { exitCode: 0, durationMs: outcome.durationMs } }
        : {
            ok: false,
            errorClass: 'transient',
            message: `exited with code ${outcome.exitCode}${stderr(outcome.lastStderrLine)}`,
          };
    case 'signaled':
      return {
        ok: false,
        errorClass: 'transient',
        message: `killed by ${outcome.signal}${stderr(outcome.lastStderrLine)}`,
      };
    case 'spawn-failed':
      return { ok: false, errorClass: 'fatal', message: outcome.message };
    case 'timed-out':
      return { ok: false, errorClass: 'transient', message: `timed out after ${outcome.seconds} s` };
    case 'aborted':
      return { ok: false, errorClass: 'transient', message: 'aborted' };
  }
}

/**
 * Runs an exec payload: the command with its args, no shell, in a process group of its own so
 * that a timeout or an abort reaches everything it started (SIGTERM, then SIGKILL after the
 * grace). Whatever the command leaves running in its group when it exits is terminated the same
 * way: a task leaves nothing behind. Resolves once the group is gone (or was sent SIGKILL).
 */
export function runExec(payload: ExecPayload, opts: ExecOptions = {}): Promise<ExecOutcome> {
  const startedAt = performance.now();
  const durationMs = () => Math.round(performance.now() - startedAt);
  if (opts.signal?.aborted) return Promise.resolve({ kind: 'aborted', durationMs: 0 });
  if (payload.cwd !== undefined && !isDirectory(payload.cwd)) {
    return Promise.resolve({
      kind: 'spawn-failed',
      message: `cannot start "${payload.command}": working directory ${payload.cwd} does not exist`,
      durationMs: 0,
    });
  }
  const env = { ...withoutSecrets(opts.baseEnv ?? process.env), ...payload.env };
  const killGraceMs = opts.killGraceMs ?? 5000;

  return new Promise<ExecOutcome>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(payload.command, payload.args ?? [], {
        cwd: payload.cwd,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        shell: false,
      });
    } catch (err) {
      resolve({
        kind: 'spawn-failed',
        message: spawnMessage(payload.command, err),
        durationMs: durationMs(),
      });
      return;
    }
    let settled = false;
    let reason: 'timed-out' | 'aborted' | undefined;
    let lastStderrLine: string | undefined;
    const group = child.pid === undefined ? undefined : new ProcessGroup(child.pid, killGraceMs);

    const stdout = new LineSplitter((line) => opts.onLine?.(line, 'stdout'));
    const stderr = new LineSplitter((line) => {
      if (line.trim() !== '') lastStderrLine = line;
      opts.onLine?.(line, 'stderr');
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.write(chunk));

    const stop = (why: 'timed-out' | 'aborted') => {
      reason ??= why;
      group?.terminate();
    };
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout =
      payload.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => stop('timed-out'), payload.timeoutSeconds * 1000);

    const finish = async (outcome: ExecOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      opts.signal?.removeEventListener('abort', onAbort);
      if (group) await group.terminate().done;
      resolve(outcome);
    };

    child.once('error', (err) => {
      // Only a failed spawn has no pid; other errors (a failed kill) are not the command's outcome.
      if (child.pid === undefined) {
        void finish({
          kind: 'spawn-failed',
          message: spawnMessage(payload.command, err),
          durationMs: durationMs(),
        });
      }
    });
    child.once('close', (code, signal) => {
      stdout.end();
      stderr.end();
      const took = durationMs();
      if (reason === 'timed-out') {
        void finish({ kind: 'timed-out', seconds: payload.timeoutSeconds ?? 0, durationMs: took });
      } else if (reason === 'aborted') {
        void finish({ kind: 'aborted', durationMs: took });
      } else if (code !== null) {
        void finish({ kind: 'exited', exitCode: code, durationMs: took, lastStderrLine });
      } else {
        void finish({
          kind: 'signaled',
          signal: signal ?? 'unknown signal',
          durationMs: took,
          lastStderrLine,
        });
      }
    });
    // Something in the group may hold the pipes open after the command exited: end it, so 'close' comes.
    child.once('exit', () => {
      setTimeout(() => group?.terminate(), 200).unref();
    });
  });
}

/** A process group: SIGTERM to all of it, SIGKILL after the grace if anything is left. */
class ProcessGroup {
  private termination: { done: Promise<void> } | undefined;

  constructor(
    private readonly pgid: number,
    private readonly graceMs: number,
  ) {}

  terminate(): { done: Promise<void> } {
    this.termination ??= { done: this.run() };
    return this.termination;
  }

  private async run(): Promise<void> {
    if (!groupAlive(this.pgid)) return;
    signalGroup(this.pgid, 'SIGTERM');
    const deadline = Date.now() + this.graceMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (!groupAlive(this.pgid)) return;
    }
    signalGroup(this.pgid, 'SIGKILL');
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** True while a live (not zombie) process is in the group; reads /proc where there is one. */
export function groupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Splits a byte stream into lines (UTF-8 safe); a line longer than 16 KiB is cut in pieces. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
    while (this.partial.length > MAX_LINE) {
      this.onLine(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emit(rest);
  }

  private emit(line: string): void {
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let i = 0; i < clean.length || i === 0; i += MAX_LINE) this.onLine(clean.slice(i, i + MAX_LINE));
  }
}

function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of WORKER_SECRET_ENV) delete copy[name];
  return copy;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function spawnMessage(command: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `command not found: ${command}`;
  if (code === 'EACCES') return `permission denied: ${command}`;
  return `cannot start "${command}": ${(err as Error).message}`;
}
