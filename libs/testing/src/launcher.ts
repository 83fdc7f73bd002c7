import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callCommand } from '@jousting/bus';
import { healthCommand } from '@jousting/contracts';
import { connect } from '@nats-io/transport-node';

/** The repository root: the nearest folder above this file with a workspaces package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'turbo.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (no turbo.json above)');
    dir = parent;
  }
  return dir;
}

export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and resolves with the exit code (or signal) once it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
  exited: Promise<number | string | null>;
}

export interface LaunchOptions {
  natsUrl: string;
  env?: Record<string, string>;
  /** Resolves true once the process is ready (given its output so far); default: its NATS health command answers. */
  ready?: (output: () => string) => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Script to run instead of services/<name>/dist/main.js. */
  script?: string;
  args?: string[];
  /** Flags for node itself, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

/** Starts a built service as a real process and waits until it answers. */
export async function launchService(name: string, opts: LaunchOptions): Promise<ServiceProcess> {
  const script = opts.script ?? join(repoRoot(), 'services', name, 'dist', 'main.js');
  if (!existsSync(script)) throw new Error(`${script} does not exist: run \`npm run build\` first`);
  let output = '';
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, ...(opts.args ?? [])], {
    env: { ...process.env, NATS_URL: opts.natsUrl, LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const handle: ServiceProcess = {
    name,
    proc,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  const ready = opts.ready ? () => opts.ready!(() => output) : () => answersHealth(opts.natsUrl, name);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${name} exited with ${proc.exitCode} during start:\n${output}`);
    if (await ready().catch(() => false)) return handle;
    if (Date.now() > deadline) {
      await handle.stop('SIGKILL');
      throw new Error(`${name} did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answersHealth(natsUrl: string, service: string): Promise<boolean> {
  const nc = await connect({ servers: natsUrl, reconnect: false });
  try {
    await callCommand(nc, healthCommand(service), {}, { timeoutMs: 500 });
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}
