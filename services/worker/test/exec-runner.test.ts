import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecPayload } from '@jousting/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExecOptions, type ExecStream, execVerdict, groupAlive, runExec } from '../src/exec-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'exec-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(payload: ExecPayload, opts: ExecOptions = {}) {
  const lines: { stream: ExecStream; line: string }[] = [];
  const outcome = await runExec(payload, { ...opts, onLine: (line, stream) => lines.push({ stream, line }) });
  return {
    outcome,
    lines,
    text: (stream: ExecStream) => lines.filter((l) => l.stream === stream).map((l) => l.line),
  };
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

describe('runExec', () => {
  it('runs a command without a shell and completes on exit 0 with its output lines', async () => {
    const { outcome, text } = await run({ command: 'echo', args: ['hello', '$HOME', '*'] });
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(text('stdout')).toEqual(['hello $HOME *']);
    const verdict = execVerdict(outcome);
    expect(verdict).toEqual({ ok: true, result: { exitCode: 0, durationMs: outcome.durationMs } });
  });

  it('fails a non-zero exit as transient with the exit code and the last stderr line', async () => {
    const { outcome, text } = await run({
      command: 'sh',
      args: ['-c', 'echo working; echo "first problem" >&2; echo "disk full" >&2; exit 3'],
    });
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 3, lastStderrLine: 'disk full' });
    expect(text('stdout')).toEqual(['working']);
    expect(text('stderr')).toEqual(['first problem', 'disk full']);
    expect(execVerdict(outcome)).toEqual({
      ok: false,
      errorClass: 'transient',
      message: 'exited with code 3: disk full',
    });
  });

  it('streams lines as they come: CRLF, a last line without newline, empty lines, very long lines', async () => {
    const { text } = await run({
      command: 'sh',
      args: ['-c', `printf 'a\\r\\n\\nb\\n'; printf 'x%.0s' $(seq 1 20000); printf '\\nlast'`],
    });
    const out = text('stdout');
    expect(out.slice(0, 3)).toEqual(['a', '', 'b']);
    expect(out[3]?.length).toBe(16_384);
    expect(out[4]?.length).toBe(20_000 - 16_384);
    expect(out[5]).toBe('last');
  });

  it("merges the payload's env over the worker's, without the worker's secrets, and runs in cwd", async () => {
    const { text } = await run(
      {
        command: 'sh',
        args: ['-c', 'echo "$FROM_TASK|$FROM_WORKER|$JOUSTING_WORKER_TOKEN|$OVERRIDDEN"; pwd'],
        env: { FROM_TASK: 'task', OVERRIDDEN: 'by-task' },
        cwd: dir,
      },
      {
        baseEnv: {
          PATH: process.env.PATH,
          FROM_WORKER: 'worker',
          OVERRIDDEN: 'by-worker',
          JOUSTING_WORKER_TOKEN: 'secret',
        },
      },
    );
    expect(text('stdout')).toEqual(['task|worker||by-task', realpathSync(dir)]);
  });

  it('kills the process group on timeout and fails transient "timed out after N s"', async () => {
    const started = Date.now();
    const { outcome } = await run({ command: 'sleep', args: ['30'], timeoutSeconds: 1 });
    expect(outcome.kind).toBe('timed-out');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(execVerdict(outcome)).toEqual({
      ok: false,
      errorClass: 'transient',
      message: 'timed out after 1 s',
    });
  });

  it('sends SIGKILL after the grace when the group ignores SIGTERM', async () => {
    const started = Date.now();
    const { outcome } = await run(
      {
        command: 'sh',
        args: ['-c', 'trap "" TERM; echo $$; while :; do sleep 0.1; done'],
        timeoutSeconds: 1,
      },
      { killGraceMs: 300 },
    );
    expect(outcome.kind).toBe('timed-out');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('on abort kills the whole process group, grandchildren included', async () => {
    const controller = new AbortController();
    let grandchild = 0;
    let leader = 0;
    const outcome = await runExec(
      { command: 'sh', args: ['-c', 'sleep 30 & echo "$$ $!"; wait'] },
      {
        signal: controller.signal,
        onLine: (line) => {
          [leader, grandchild] = line.split(' ').map(Number) as [number, number];
          controller.abort();
        },
      },
    );
    expect(outcome.kind).toBe('aborted');
    expect(grandchild).toBeGreaterThan(0);
    expect(processDead(grandchild)).toBe(true);
    expect(groupAlive(leader)).toBe(false);
  });

  it('ends what the command left running in its group when it exits', async () => {
    const { outcome, text } = await run({ command: 'sh', args: ['-c', 'sleep 30 & echo $!'] });
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(processDead(Number(text('stdout')[0]))).toBe(true);
  });

  it('fails fatal when the command cannot be started', async () => {
    const missing = await run({ command: 'no-such-command-jousting' });
    expect(missing.outcome).toMatchObject({
      kind: 'spawn-failed',
      message: 'command not found: no-such-command-jousting',
    });
    expect(execVerdict(missing.outcome)).toMatchObject({ ok: false, errorClass: 'fatal' });

    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const denied = await run({ command: script });
    expect(denied.outcome).toMatchObject({ kind: 'spawn-failed', message: `permission denied: ${script}` });

    const badCwd = await run({ command: 'echo', cwd: join(dir, 'nope') });
    expect(badCwd.outcome.kind).toBe('spawn-failed');
    expect(execVerdict(badCwd.outcome)).toMatchObject({ errorClass: 'fatal', message: /does not exist/ });
  });

  it('reports a command killed by a signal it did not get from us', async () => {
    const { outcome } = await run({ command: 'sh', args: ['-c', 'kill -9 $$'] });
    expect(outcome).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
    expect(execVerdict(outcome)).toMatchObject({
      ok: false,
      errorClass: 'transient',
      message: 'killed by SIGKILL',
    });
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, lines } = await run({ command: 'echo', args: ['never'] }, { signal: controller.signal });
    expect(outcome.kind).toBe('aborted');
    expect(lines).toEqual([]);
  });
});
