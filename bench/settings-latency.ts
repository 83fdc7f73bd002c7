// Time from PATCH /api/settings to (a) a NATS subscriber and (b) a WebSocket client receiving
// settings.changed, over N sequential changes, against the real stack started as processes.
// Run: npm run bench:settings  (BENCH_CHANGES=1000 by default)
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CloudEvent } from '@jousting/contracts';
import { startStack } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { percentile } from './stats.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const WARMUP = 50;

type ChangedData = { settings: { maxTurns: number } };

function summary(name: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return {
    name,
    n: samples.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    mean,
  };
}

const stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
const nc = await connect({ servers: stack.nats.url });
const waiters = new Map<number, { nats?: (t: number) => void; ws?: (t: number) => void }>();

nc.subscribe('settings.changed', {
  callback: (_err, msg) => {
    const value = msg.json<CloudEvent<ChangedData>>().data.settings.maxTurns;
    waiters.get(value)?.nats?.(performance.now());
  },
});
await nc.flush();

const ws = new WebSocket(`${stack.baseUrl.replace('http', 'ws')}/ws`, {
  headers: { authorization: `Bearer ${stack.adminToken}` },
});
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
ws.on('message', (raw) => {
  const message = JSON.parse(raw.toString()) as { type: string; event?: CloudEvent<ChangedData> };
  if (message.type === 'event' && message.event?.type === 'settings.changed') {
    waiters.get(message.event.data.settings.maxTurns)?.ws?.(performance.now());
  }
});
ws.send(JSON.stringify({ type: 'subscribe', patterns: ['settings.changed'] }));
await new Promise((r) => setTimeout(r, 200));

const toNats: number[] = [];
const toWs: number[] = [];
const patchRoundTrip: number[] = [];
const started = performance.now();
for (let i = 0; i < CHANGES + WARMUP; i++) {
  const value = 1 + (i % 200);
  const natsAt = new Promise<number>((resolve) =>
    waiters.set(value, { ...waiters.get(value), nats: resolve }),
  );
  const wsAt = new Promise<number>((resolve) => waiters.set(value, { ...waiters.get(value), ws: resolve }));
  const t0 = performance.now();
  const res = await fetch(`${stack.baseUrl}/api/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ maxTurns: value }),
  });
  if (!res.ok) throw new Error(`PATCH failed: ${res.status} ${await res.text()}`);
  const t1 = performance.now();
  const [tNats, tWs] = await Promise.all([natsAt, wsAt]);
  waiters.delete(value);
  if (i < WARMUP) continue;
  patchRoundTrip.push(t1 - t0);
  toNats.push(tNats - t0);
  toWs.push(tWs - t0);
}
const elapsed = (performance.now() - started) / 1000;

const rows = [
  summary('PATCH → NATS subscriber', toNats),
  summary('PATCH → WebSocket client', toWs),
  summary('PATCH round trip', patchRoundTrip),
];
console.log(`\n${CHANGES} sequential settings changes (after ${WARMUP} warm-up) in ${elapsed.toFixed(1)} s`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
console.log('| path | p50 ms | p90 ms | p99 ms | max ms | mean ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${r.mean.toFixed(2)} |`,
  );
}

ws.close();
await nc.close();
await stack.stop();
