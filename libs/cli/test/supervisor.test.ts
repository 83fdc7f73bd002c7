import { describe, expect, it } from 'vitest';
import { type ProcessSpec, Supervisor } from '../src/stack/supervisor.js';

const node = (name: string, code: string): ProcessSpec => ({
  name,
  command: process.execPath,
  args: ['-e', code],
});
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function recorder() {
  const lines: string[] = [];
  const notices: string[] = [];
  const gaveUp: string[] = [];
  return {
    lines,
    notices,
    gaveUp,
    opts: {
      onLine: (name: string, line: string) => lines.push(`${name}: ${line}`),
      onNotice: (message: string) => notices.push(message),
      onGiveUp: (name: string) => gaveUp.push(name),
    },
  };
}

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Supervisor', () => {
  it('passes on each line a child prints', async () => {
    const r = recorder();
    const supervisor = new Supervisor(r.opts);
    supervisor.start(
      node('echo', 'console.log("one\\ntwo"); console.error("three"); setInterval(() => {}, 1000)'),
    );
    await until(() => r.lines.length === 3);
    expect(r.lines.sort()).toEqual(['echo: one', 'echo: three', 'echo: two']);
    await supervisor.stopAll();
  });

  it('restarts a crashed child with doubling delays, then gives up after the crash limit', async () => {
    const r = recorder();
    const supervisor = new Supervisor({
      ...r.opts,
      backoff: { initialMs: 20, maxMs: 50 },
      crashLimit: { count: 4, windowMs: 60_000 },
    });
    supervisor.start(node('flaky', 'process.exit(3)'));
    await until(() => r.gaveUp.length > 0);
    expect(r.gaveUp).toEqual(['flaky']);
    expect(r.notices).toEqual([
      'flaky exited with code 3; restarting in 20 ms',
      'flaky exited with code 3; restarting in 40 ms',
      'flaky exited with code 3; restarting in 50 ms',
      'flaky exited with code 3; it crashed 4 times within 60 s',
    ]);
    expect(supervisor.pids()).toEqual([]);
  });

  it('stops children in reverse start order, each gone before the next is signalled', async () => {
    const r = recorder();
    const supervisor = new Supervisor(r.opts);
    const onTerm = (name: string) =>
      `process.on("SIGTERM", () => { console.log("${name} stopping"); setTimeout(() => process.exit(0), 100); }); console.log("up"); setInterval(() => {}, 1000)`;
    supervisor.start(node('first', onTerm('first')));
    supervisor.start(node('second', onTerm('second')));
    await until(() => r.lines.length === 2);
    const pids = supervisor.pids();
    expect(pids).toHaveLength(2);
    await supervisor.stopAll();
    expect(r.lines.filter((l) => l.includes('stopping'))).toEqual([
      'second: second stopping',
      'first: first stopping',
    ]);
    expect(pids.filter(alive)).toEqual([]);
    expect(r.notices).toEqual([]);
  });

  it('sends SIGKILL to a child that ignores SIGTERM past the stop timeout', async () => {
    const r = recorder();
    const supervisor = new Supervisor({ ...r.opts, stopTimeoutMs: 300 });
    supervisor.start(
      node('stubborn', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'),
    );
    await until(() => r.lines.length === 1);
    const [pid] = supervisor.pids();
    const started = Date.now();
    await supervisor.stopAll();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(alive(pid!)).toBe(false);
    expect(r.notices).toEqual(['stubborn still running 300 ms after SIGTERM; sending SIGKILL']);
  });

  it('stops what a child started itself too: the signal goes to its process group', async () => {
    const r = recorder();
    const supervisor = new Supervisor({ ...r.opts, stopTimeoutMs: 300 });
    const grandchild = `require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })`;
    supervisor.start(
      node('parent', `const c = ${grandchild}; console.log(c.pid); setInterval(() => {}, 1000)`),
    );
    await until(() => r.lines.length === 1);
    const grandchildPid = Number(r.lines[0]?.split(': ')[1]);
    expect(alive(grandchildPid)).toBe(true);
    await supervisor.stopAll();
    await until(() => !alive(grandchildPid), 2000);
  });

  it('leaves a child started with restartOnExit off alone when it exits', async () => {
    const r = recorder();
    const supervisor = new Supervisor({ ...r.opts, backoff: { initialMs: 10, maxMs: 10 } });
    const proc = supervisor.start(node('once', 'process.exit(2)'), { restartOnExit: false });
    expect(await proc.nextExit()).toEqual({ code: 2, signal: null });
    await new Promise((r) => setTimeout(r, 100));
    expect(proc.running).toBe(false);
    expect(r.notices).toEqual([]);
  });

  it('does not restart a child that exits while everything stops', async () => {
    const r = recorder();
    const supervisor = new Supervisor({ ...r.opts, backoff: { initialMs: 10, maxMs: 10 } });
    supervisor.start(node('a', 'setInterval(() => {}, 1000)'));
    supervisor.start(node('b', 'setInterval(() => {}, 1000)'));
    supervisor.killAll();
    await new Promise((r) => setTimeout(r, 200));
    expect(supervisor.pids()).toEqual([]);
    expect(r.notices).toEqual([]);
  });
});
