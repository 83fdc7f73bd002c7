// Time from a settings change to the coordinator applying it: PATCH /api/settings →
// coord.reconfigured on NATS, and settings.changed → coord.reconfigured (the coordinator's own
// share), over N sequential changes, against the real stack started as processes.
// Run: npm run bench:reconfigure  (BENCH_CHANGES=1000 by default)
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CloudEvent } from '@jousting/contracts';
import { startStack } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { percentile } from './stats.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const WARMUP = 50;

type Applied = { applied: { coordMaxRequestsPerMinute?: number } };
type Changed = { settings: { coordMaxRequestsPerMinute: number } };

function row(name: string, samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2);
  return `| ${name} | ${f(percentile(s, 50))} | ${f(percentile(s, 90))} | ${f(percentile(s, 99))} | ${f(s.at(-1) ?? 0)} |`;
}

const stack = await startStack({
  services: ['settings', 'coordinator', 'gateway'],
  env: { LOG_LEVEL: 'warn' },
});
const nc = await connect({ servers: stack.nats.url });
const waiters = new Map<number, { changed?: (t: number) => void; applied?: (t: number) => void }>();
nc.subscribe('settings.changed', {
  callback: (_e, msg) => {
    const value = msg.json<CloudEvent<Changed>>().data.settings.coordMaxRequestsPerMinute;
    waiters.get(value)?.changed?.(performance.now());
  },
});
nc.subscribe('coord.reconfigured', {
  callback: (_e, msg) => {
    const value = msg.json<CloudEvent<Applied>>().data.applied.coordMaxRequestsPerMinute;
    if (value !== undefined) waiters.get(value)?.applied?.(performance.now());
  },
});
await nc.flush();

const patchToApplied: number[] = [];
const changedToApplied: number[] = [];
for (let i = 0; i < CHANGES + WARMUP; i++) {
  // 100…899, never the value in force, so every change is a real one.
  const value = 100 + (i % 800);
  const changed = new Promise<number>((resolve) =>
    waiters.set(value, { ...waiters.get(value), changed: resolve }),
  );
  const applied = new Promise<number>((resolve) =>
    waiters.set(value, { ...waiters.get(value), applied: resolve }),
  );
  const t0 = performance.now();
  const res = await fetch(`${stack.baseUrl}/api/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ coordMaxRequestsPerMinute: value }),
  });
  if (!res.ok) throw new Error(`PATCH failed: ${res.status} ${await res.text()}`);
  const [tChanged, tApplied] = await Promise.all([changed, applied]);
  waiters.delete(value);
  if (i < WARMUP) continue;
  patchToApplied.push(tApplied - t0);
  changedToApplied.push(tApplied - tChanged);
}

console.log(`\n${CHANGES} sequential settings changes (after ${WARMUP} warm-up)`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
console.log('| path | p50 ms | p90 ms | p99 ms | max ms |');
console.log('| --- | --- | --- | --- | --- |');
console.log(row('PATCH → coord.reconfigured', patchToApplied));
console.log(row('settings.changed → coord.reconfigured', changedToApplied));
await nc.close();
await stack.stop();
