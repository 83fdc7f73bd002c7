import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCommand } from '@jousting/bus';
import { coordCommands, coordPolicyCommands, healthCommand } from '@jousting/contracts';
import { launchService, type NatsHandle, repoRoot, type ServiceProcess, startNats } from '@jousting/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until, WORKER_TOKEN } from './fixture.js';

/**
 * Two coordinator processes on one NATS: one holds the leader lease and serves, the other stands
 * by; kill -9 of the leader hands everything to the standby within about a lease.
 */
const LEADER_LEASE_MS = 1000;
const built = existsSync(join(repoRoot(), 'services/coordinator/dist/main.js'));
let nats: NatsHandle;
let nc: NatsConnection;
const dataDirs: string[] = [];
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  if (!built) return;
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await nc?.close();
  await nats?.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** Launches a coordinator; `standby`: ready once it says it stands by (the leader answers health). */
const launch = (standby = false) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-failover-'));
  dataDirs.push(dataDir);
  return launchService('coordinator', {
    natsUrl: nats.url,
    env: {
      JOUSTING_WORKER_TOKEN: WORKER_TOKEN,
      JOUSTING_DATA_DIR: dataDir,
      COORD_LEADER_LEASE_MS: String(LEADER_LEASE_MS),
      LOG_LEVEL: 'info',
    },
    ...(standby ? { ready: async (output: () => string) => output().includes('standing by') } : {}),
  }).then((p) => {
    procs.push(p);
    return p;
  });
};

/** The health of whichever coordinator answers; undefined while none does. */
const health = () =>
  callCommand(nc, healthCommand('coordinator'), {}, { timeoutMs: 500 }).catch(() => undefined);

it.skipIf(!built)(
  'a standby coordinator serves nothing until the leader dies, then takes over with every task',
  async () => {
    const leader = await launch();
    const { task } = await callCommand(nc, coordCommands.create, {
      task: { title: 'made before the failover', kind: 'exec', payload: { command: 'true' } },
      actor: 'test',
    });

    const standby = await launch(true);
    const leaderInstance = (await callCommand(nc, healthCommand('coordinator'), {})).instance;
    // Only the leader answers, however often we ask.
    for (let i = 0; i < 10; i++) {
      expect((await callCommand(nc, healthCommand('coordinator'), {})).instance).toBe(leaderInstance);
    }
    const standbyInstance = /"instance":"(coordinator-[0-9a-f]+)"/.exec(standby.output())?.[1];
    // The leader's state lists the standby (GET /api/coord, `jousting coord status`, the UI).
    const replicas = await until(async () => {
      const listed = (await callCommand(nc, coordPolicyCommands.state, {})).replicas;
      return listed?.standbys.some((s) => s.instance === standbyInstance) && listed;
    }, 'the standby in the replica list');
    expect(replicas?.leader).toBe(leaderInstance);

    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    const answered = await until(
      async () => {
        const h = await health();
        return h?.instance !== leaderInstance && h;
      },
      'the standby to answer',
      10_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(LEADER_LEASE_MS + 6000);
    expect(standby.output()).toContain('took over the leader lease');
    expect(answered.instance).toBe(standbyInstance);
    expect((await callCommand(nc, coordPolicyCommands.state, {})).replicas).toEqual({
      leader: standbyInstance,
      standbys: [],
    });

    const after = await callCommand(nc, coordCommands.get, { id: task.id });
    expect(after.title).toBe('made before the failover');
    const { task: next } = await callCommand(nc, coordCommands.create, {
      task: { title: 'made after the failover', kind: 'exec', payload: { command: 'true' } },
      actor: 'test',
    });
    expect((await callCommand(nc, coordCommands.progress, {})).total).toBe(2);
    expect(next.id).not.toBe(task.id);
  },
  40_000,
);

it.skipIf(!built)('a coordinator stopped cleanly hands the lease over at once', async () => {
  const first = await until(health, 'a coordinator', 10_000);
  const standby = await launch(true);
  const current = procs.find((p) => p !== standby && p.proc.exitCode === null && p.proc.signalCode === null);
  if (!current) throw new Error('no running leader');
  const stoppedAt = Date.now();
  expect(await current.stop('SIGTERM')).toBe(0);
  await until(
    async () => {
      const h = await health();
      return h?.instance !== first.instance && h;
    },
    'the standby to answer',
    10_000,
  );
  // Released on stop: no waiting for the lease to run out.
  expect(Date.now() - stoppedAt).toBeLessThan(LEADER_LEASE_MS + 4000);
  expect(standby.output()).not.toContain('took over the leader lease');
  expect(standby.output()).toContain('holding the leader lease');
});
