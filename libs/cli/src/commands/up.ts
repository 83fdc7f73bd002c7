import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findNatsServerBinary, isPortFree, waitForNats } from '@jousting/bus';
import type { Readiness } from '@jousting/contracts';
import type { Command } from '../command.js';
import { adminTokenFile, type CommandContext, DEFAULT_GATEWAY_PORT, DEFAULT_NATS_PORT } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { GatewayClient } from '../http-client.js';
import { formatLogLine, formatNotice, type LogLineOptions } from '../stack/log-lines.js';
import { repoRoot, SERVICES, serviceScript } from '../stack/services.js';
import { describeExit, Supervisor } from '../stack/supervisor.js';

const SELF = 'jousting';
const READY_TIMEOUT_MS = 60_000;
const NATS_START_TIMEOUT_MS = 15_000;
// npm forwards the terminal's SIGINT to `up`, which also got it from the terminal: one press, two signals.
const DUPLICATE_SIGNAL_MS = 500;
const FORCED_EXIT = 130;

export const upCommand: Command = {
  path: ['up'],
  summary: 'Run the whole stack on this machine: nats-server and every service',
  usage: 'jousting up [--json]',
  details: [
    'Starts nats-server with JetStream (unless NATS_URL is set), then each service from its built',
    'services/<name>/dist/main.js, prints their logs, and waits until the gateway is ready.',
    'A crashed service is restarted after 1 s, 2 s, 4 s ... (at most 30 s); one that crashes 5',
    'times within a minute stops everything. Ctrl-C stops the services in reverse order, then',
    'nats-server; a second Ctrl-C kills everything at once.',
    '',
    'Environment:',
    '  JOUSTING_DATA_DIR     data folder (default ./.data): NATS store, admin-token',
    '  JOUSTING_NATS_PORT    port of the nats-server `up` starts (default 4222)',
    '  NATS_URL              use this NATS server instead of starting one',
    '  NATS_SERVER_BIN       path of the nats-server binary (default: found on PATH)',
    '  GATEWAY_PORT          gateway HTTP port (default 8080)',
    '  JOUSTING_ADMIN_TOKEN  admin token to use instead of a generated one',
    '',
    'With --json, every line on stdout is a JSON object (service logs as they are).',
    'Exit status: 0 after a requested stop, 1 when the stack cannot start or a service crash-loops,',
    '130 after a forced stop.',
  ].join('\n'),
  async run(ctx, args) {
    if (args.length > 0) throw new UsageError('up takes no arguments', 'up');
    return runUp(ctx);
  },
};

function parsePort(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new CliError(`${name} must be a port number (1-65535), got "${value}"`);
  }
  return port;
}

/** Where `up` itself reaches the gateway, and the URL it shows for the UI. */
function localGatewayUrl(env: NodeJS.ProcessEnv, port: number): string {
  const host = env.GATEWAY_HOST;
  if (!host || host === '0.0.0.0' || host === '::') return `http://127.0.0.1:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

async function runUp(ctx: CommandContext): Promise<number> {
  const { env } = ctx.io;
  const stdout = ctx.io.stdout;
  const root = repoRoot();
  const dataDir = ctx.dataDir;
  const gatewayPort = parsePort(env.GATEWAY_PORT, DEFAULT_GATEWAY_PORT, 'GATEWAY_PORT');
  const natsPort = parsePort(env.JOUSTING_NATS_PORT, DEFAULT_NATS_PORT, 'JOUSTING_NATS_PORT');

  const missing = SERVICES.map((name) => serviceScript(root, name)).filter((script) => !existsSync(script));
  if (missing.length > 0) {
    throw new CliError(
      `${missing.map((s) => relative(ctx.io.cwd, s) || s).join(', ')} not found: run \`npm run build\` first`,
    );
  }
  const gatewayUrl = localGatewayUrl(env, gatewayPort);
  if (!(await isPortFree(gatewayPort))) {
    throw new CliError(
      `port ${gatewayPort} is already in use, so the gateway cannot listen on it: stop what uses it or set GATEWAY_PORT to a free port`,
    );
  }
  let natsUrl = env.NATS_URL;
  let natsBin: string | undefined;
  if (!natsUrl) {
    natsBin = findNatsServerBinary(env);
    if (!natsBin) {
      throw new CliError(
        'nats-server not found on PATH: install it (Debian/Ubuntu: `apt-get install nats-server`; others: https://docs.nats.io/running-a-nats-service/introduction/installation) or set NATS_URL to a running NATS server with JetStream',
      );
    }
    if (!(await isPortFree(natsPort))) {
      throw new CliError(
        `NATS port ${natsPort} is already in use: stop what uses it, set JOUSTING_NATS_PORT to a free port, or set NATS_URL to use the NATS server already running there`,
      );
    }
    natsUrl = `nats://127.0.0.1:${natsPort}`;
  }
  mkdirSync(dataDir, { recursive: true });

  const names = ['nats', SELF, ...SERVICES];
  const log: LogLineOptions = {
    mode: ctx.flags.json ? 'json' : stdout.isTTY ? 'pretty' : 'raw',
    width: Math.max(...names.map((n) => n.length)),
    color: stdout.isTTY === true && !env.NO_COLOR,
    names,
  };
  const notice = (message: string, level: 'info' | 'warn' | 'error' = 'info', fields = {}) =>
    stdout.write(`${formatNotice(SELF, message, log, level, fields)}\n`);

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let stopping: Promise<void> | undefined;
  let failure: string | undefined;
  const supervisor = new Supervisor({
    onLine: (name, line) => stdout.write(`${formatLogLine(name, line, log)}\n`),
    onNotice: (message, level) => notice(message, level),
    onGiveUp: (name, crashes) => {
      failure = `${name} crashed ${crashes} times within a minute; stopped everything`;
      void shutdown(EXIT.failure, `${name} keeps crashing: stopping everything`);
    },
  });
  const shutdown = (code: number, reason: string): Promise<void> => {
    stopping ??= (async () => {
      notice(reason);
      await supervisor.stopAll();
      notice('everything stopped');
      finish(code);
    })();
    return stopping;
  };
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void shutdown(EXIT.ok, `${sig} received: stopping (press Ctrl-C again to kill everything at once)`);
    } else if (Date.now() - firstSignalAt > DUPLICATE_SIGNAL_MS) {
      notice(`${sig} received again: killing everything`, 'warn');
      void supervisor.killAllAndWait().then(() => finish(FORCED_EXIT));
    }
  };
  // Whatever ends this process, no child outlives it.
  const killOnExit = () => supervisor.killAll();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  process.on('exit', killOnExit);

  try {
    await startStack();
    const code = await finished;
    if (failure) ctx.out.error(`error: ${failure}`);
    return code;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    process.off('exit', killOnExit);
  }

  async function startStack(): Promise<void> {
    try {
      if (natsBin) {
        const storeDir = join(dataDir, 'nats');
        notice(`starting nats-server on ${natsUrl} (JetStream store ${storeDir})`);
        const nats = supervisor.start(
          {
            name: 'nats',
            command: natsBin,
            args: ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(natsPort)],
            env,
          },
          { restartOnExit: false },
        );
        const exit = nats.nextExit();
        await Promise.race([
          waitForNats(natsUrl!, NATS_START_TIMEOUT_MS).catch((err: Error) => {
            throw new CliError(`nats-server did not accept connections: ${err.message}`);
          }),
          exit.then((e) => {
            throw new CliError(`nats-server ${describeExit(e)} during start (its output is above)`);
          }),
        ]);
        nats.restartOnExit = true;
      } else {
        notice(`using NATS at ${natsUrl} (NATS_URL)`);
        await waitForNats(natsUrl!, NATS_START_TIMEOUT_MS).catch((err: Error) => {
          throw new CliError(`cannot reach NATS at ${natsUrl} (NATS_URL): ${err.message}`);
        });
      }
      if (stopping) return;
      const serviceEnv: NodeJS.ProcessEnv = {
        ...env,
        NATS_URL: natsUrl,
        JOUSTING_DATA_DIR: dataDir,
        GATEWAY_PORT: String(gatewayPort),
      };
      for (const name of SERVICES) {
        supervisor.start({
          name,
          command: process.execPath,
          args: [serviceScript(root, name)],
          env: serviceEnv,
          cwd: root,
          // The worker lets running tasks finish first (WORKER_DRAIN_SECONDS, default 20).
          ...(name === 'worker'
            ? { stopTimeoutMs: Number(serviceEnv.WORKER_DRAIN_SECONDS ?? 20) * 1000 + 25_000 }
            : {}),
        });
      }
      notice(`started ${SERVICES.join(', ')}; waiting for the gateway at ${gatewayUrl}`);
      const readiness = await waitUntilReady();
      if (stopping) return;
      if (readiness !== true) {
        failure = `the stack was not ready after ${READY_TIMEOUT_MS / 1000} s; missing: ${readiness}`;
        void shutdown(EXIT.failure, 'not ready in time: stopping everything');
        return;
      }
      announceReady();
    } catch (err) {
      // A stop requested mid-start makes the start fail; that is not an error.
      if (stopping) return;
      // Nothing may outlive a failed start.
      await supervisor.stopAll();
      throw err;
    }
  }

  /** true once /api/health/ready answers 200, else (after the timeout) what was missing. */
  async function waitUntilReady(): Promise<true | string> {
    const client = new GatewayClient({ baseUrl: gatewayUrl, timeoutMs: 2000 });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastMissing = 'the gateway (no answer)';
    while (!stopping && Date.now() < deadline) {
      try {
        const { status, readiness } = await client.readiness();
        if (status === 200 && readiness.ready) return true;
        lastMissing = describeMissing(readiness);
      } catch (err) {
        lastMissing = `the gateway (${(err as Error).message})`;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return lastMissing;
  }

  function announceReady(): void {
    const tokenFile = adminTokenFile(dataDir);
    const token = env.JOUSTING_ADMIN_TOKEN ? 'the value of JOUSTING_ADMIN_TOKEN' : tokenFile;
    if (log.mode === 'json') {
      const tokenField = env.JOUSTING_ADMIN_TOKEN
        ? { adminTokenFrom: 'JOUSTING_ADMIN_TOKEN' }
        : { adminTokenFile: tokenFile };
      notice('ready', 'info', { event: 'ready', url: `${gatewayUrl}/`, ...tokenField });
      return;
    }
    stdout.write(
      [
        '',
        `  Jousting is ready.`,
        `  UI:          ${gatewayUrl}/`,
        `  Admin token: ${token}`,
        `  Stop:        Ctrl-C`,
        '',
        '',
      ].join('\n'),
    );
  }
}

function describeMissing(r: Readiness): string {
  if (r.missing.length > 0) return r.missing.join(', ');
  if (!r.nats.connected) return 'NATS (the gateway is not connected)';
  return 'unknown (the gateway says it is not ready)';
}
