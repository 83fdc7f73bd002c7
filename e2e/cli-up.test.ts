import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '@jousting/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

// `jousting up` as a user runs it: the built CLI, its own nats-server, every built service.
const bin = join(repoRoot(), 'libs', 'cli', 'dist', 'bin.js');

interface Up {
  proc: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a user with no stack configured: no NATS_URL, no token, own ports and data dir. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['NATS_URL', 'JOUSTING_URL', 'JOUSTING_TOKEN', 'JOUSTING_ADMIN_TOKEN', 'GATEWAY_HOST'])
    delete env[key];
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

function startUp(env: NodeJS.ProcessEnv): Up {
  let output = '';
  const proc = spawn(process.execPath, [bin, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output: () => output, exited };
}

async function waitForOutput(up: Up, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = up.output().match(pattern);
    if (match) return match;
    if (up.proc.exitCode !== null) throw new Error(`up exited with ${up.proc.exitCode}:\n${up.output()}`);
    if (Date.now() > deadline)
      throw new Error(`no ${pattern} from up within ${timeoutMs} ms:\n${up.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function jousting(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every process below `pid`, found through /proc (the comm field may hold spaces and parens). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: { pid: number; comm: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      let comm = '?';
      try {
        comm = readFileSync(`/proc/${child}/comm`, 'utf8').trim();
      } catch {}
      found.push({ pid: child, comm });
      queue.push(child);
    }
  }
  return found;
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const dataDirs: string[] = [];
const tempDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'jousting-cli-up-'));
  dataDirs.push(dir);
  return dir;
};
const running: Up[] = [];
afterEach(() => {
  // A failed test must not leave a stack running: kill what it started, children included.
  for (const up of running.splice(0)) {
    for (const { pid } of descendants(up.proc.pid!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    up.proc.kill('SIGKILL');
  }
});
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('jousting up', () => {
  it('starts nats-server and every service, serves the CLI, and leaves nothing behind on SIGTERM', async () => {
    const dataDir = tempDataDir();
    const gatewayPort = await freePort();
    const env = cleanEnv({
      JOUSTING_DATA_DIR: dataDir,
      JOUSTING_NATS_PORT: String(await freePort()),
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_HOST: '127.0.0.1',
    });
    const up = startUp(env);
    running.push(up);

    const [, uiUrl] = await waitForOutput(up, /UI: +(http:\/\/\S+)/, 90_000);
    expect(uiUrl).toBe(`http://127.0.0.1:${gatewayPort}/`);
    expect(up.output()).toContain(`Admin token: ${join(dataDir, 'admin-token')}`);
    // Service logs come through, each line behind its padded service name.
    for (const name of ['settings', 'coordinator', 'worker', 'gateway']) {
      expect(up.output()).toMatch(new RegExp(`^${name} +\\| \\{`, 'm'));
    }
    expect(up.output()).toMatch(/^nats +\| /m);

    const ready = await fetch(`http://127.0.0.1:${gatewayPort}/api/health/ready`);
    expect(ready.status).toBe(200);

    const tree = descendants(up.proc.pid!);
    expect(tree.map((p) => p.comm)).toContain('nats-server');
    expect(tree.filter((p) => p.comm === 'node').length).toBeGreaterThanOrEqual(2);

    // The CLI finds the gateway from GATEWAY_PORT and the token from the data dir on its own.
    const status = await jousting(['status'], env);
    expect(status, status.stderr).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/^ready\n/);
    expect(status.stdout).toMatch(/^settings +ok/m);

    const set = await jousting(['settings', 'set', 'maxTurns=42'], env);
    expect(set, set.stderr).toMatchObject({ code: 0, stdout: 'maxTurns: 30 \u2192 42\n' });
    const get = await jousting(['settings', 'get', 'maxTurns', '--json'], env);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ maxTurns: 42 });

    const refused = await jousting(['settings', 'set', 'maxTurns=1000'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ {2}maxTurns: /m);

    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);

    up.proc.kill('SIGTERM');
    const exit = await up.exited;
    expect(exit, up.output()).toEqual({ code: 0, signal: null });
    expect(up.output()).toContain('everything stopped');
    const left = tree.filter((p) => !isGone(p.pid));
    expect(left, 'processes left behind').toEqual([]);

    const after = await jousting(['status'], env);
    expect(after.code).toBe(2);
    expect(after.stderr).toContain(`cannot connect to http://127.0.0.1:${gatewayPort}: is it running?`);
  }, 150_000);

  it('refuses to start, saying how to fix it, when the NATS port is taken', async () => {
    const natsPort = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(natsPort, '127.0.0.1', resolve));
    try {
      const up = startUp(
        cleanEnv({
          JOUSTING_DATA_DIR: tempDataDir(),
          JOUSTING_NATS_PORT: String(natsPort),
          GATEWAY_PORT: String(await freePort()),
        }),
      );
      running.push(up);
      const exit = await up.exited;
      expect(exit, up.output()).toEqual({ code: 1, signal: null });
      expect(up.output()).toContain(`NATS port ${natsPort} is already in use`);
      expect(up.output()).toContain('JOUSTING_NATS_PORT');
      expect(up.output()).toContain('NATS_URL');
      expect(up.output()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 30_000);
});
