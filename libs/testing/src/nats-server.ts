import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServerBinary, freePort, waitForNats } from '@jousting/bus';

export { findNatsServerBinary, freePort, waitForNats };

export interface NatsHandle {
  url: string;
  /** Where the server came from: NATS_URL, the nats-server binary, or a container. */
  kind: 'env' | 'binary' | 'container';
  /** Kill -9 and start again on the same port and store: for crash tests (binary only). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A NATS server with JetStream for one test suite: NATS_URL if set (you then own its state), else
 * the nats-server binary on a free port with a temporary store, else a testcontainers container
 * when a Docker engine is there.
 */
export async function startNats(env: NodeJS.ProcessEnv = process.env): Promise<NatsHandle> {
  if (env.NATS_URL) {
    return { url: env.NATS_URL, kind: 'env', restart: async () => {}, stop: async () => {} };
  }
  const bin = findNatsServerBinary(env);
  if (bin) return startNatsBinary(bin);
  return startNatsContainer();
}

export async function startNatsBinary(bin: string): Promise<NatsHandle> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'jousting-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const launch = async () => {
    proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
    await waitForNats(url);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };
  await launch();
  return {
    url,
    kind: 'binary',
    restart: async () => {
      await kill('SIGKILL');
      await launch();
    },
    stop: async () => {
      await kill('SIGTERM');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

async function startNatsContainer(): Promise<NatsHandle> {
  let mod: typeof import('@testcontainers/nats');
  try {
    mod = await import('@testcontainers/nats');
  } catch {
    throw new Error(
      'no NATS for tests: set NATS_URL, install nats-server (apt-get install nats-server), or run Docker',
    );
  }
  const container = await new mod.NatsContainer('nats:2.10-alpine').withJetStream().start();
  const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  return {
    url,
    kind: 'container',
    restart: async () => {
      throw new Error('restart is only supported with the nats-server binary');
    },
    stop: async () => {
      await container.stop();
    },
  };
}
