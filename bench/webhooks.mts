// Webhook deliveries per second to a local receiver, and event → delivery latency, against the
// real notifier and settings services started as processes (the vault holds the signing secrets).
// Run: npm run bench:webhooks   (BENCH_EVENTS=20000, BENCH_RATE=500, BENCH_SECONDS=10 by default)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { callCommand } from '@jousting/bus';
import { notifierCommands, settingsCommands } from '@jousting/contracts';
import { startStack } from '@jousting/testing';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { percentile } from './stats.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const VERIFY_SAMPLE = 200;

const stack = await startStack({
  services: ['settings', 'notifier'],
  env: { LOG_LEVEL: 'warn' },
});
const nc = await connect({ servers: stack.nats.url });
await callCommand(nc, settingsCommands.patch, { changes: { webhookAllowPrivateUrls: true }, actor: 'bench' });
await new Promise((r) => setTimeout(r, 200));

// The receiver: answers 200 at once and notes when each event arrived (first arrival only).
const arrivals = new Map<string, number>();
let requests = 0;
const samples: Array<{ body: string; headers: Record<string, string> }> = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    requests++;
    const body = Buffer.concat(chunks).toString('utf8');
    const id = /"id":"([^"]+)"/.exec(body)?.[1];
    if (id && !arrivals.has(id)) {
      arrivals.set(id, at);
      awaited.delete(id);
    }
    if (samples.length < VERIFY_SAMPLE)
      samples.push({ body, headers: req.headers as Record<string, string> });
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

let seq = 0;
const sentAt = new Map<string, number>();
const hdr = natsHeaders();
/** Core-publishes one CloudEvent onto the EVENTS stream (stored with its id as Nats-Msg-Id). */
function publish(type: string) {
  const id = `bench-${process.pid}-${++seq}`;
  const event = {
    specversion: '1.0',
    id,
    source: '/bench',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    traceid: `t${seq}`,
    data: {
      n: seq,
      note: 'a typical small event payload of a couple of hundred bytes, like coord.task-updated',
    },
  };
  hdr.set('Nats-Msg-Id', id);
  sentAt.set(id, performance.now());
  nc.publish(type, JSON.stringify(event), { headers: hdr });
  return id;
}

/** Ids not yet seen by the receiver; the receiver removes each on its first arrival. */
const awaited = new Set<string>();

async function waitFor(ids: string[], timeoutMs: number) {
  for (const id of ids) if (!arrivals.has(id)) awaited.add(id);
  const deadline = Date.now() + timeoutMs;
  // A counter, not a scan of every id: polling must not eat the CPU the receiver needs.
  while (awaited.size > 0) {
    if (Date.now() > deadline) {
      throw new Error(`${awaited.size} of ${ids.length} events not delivered within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function createHooks(count: number, pattern: string) {
  const secrets: string[] = [];
  for (let i = 0; i < count; i++) {
    const hook = await callCommand(nc, notifierCommands.webhookCreate, {
      url: `${url}?hook=${i}`,
      events: [pattern],
      label: `bench ${pattern} ${i}`,
      actor: 'bench',
    });
    secrets.push(hook.secret);
  }
  return secrets;
}

/** Publishes `events` as fast as possible and measures until every one reached every hook. */
async function burst(name: string, hooks: number, events: number) {
  const type = `fleet.bench.${name}`;
  await createHooks(hooks, type);
  arrivals.clear();
  const before = requests;
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < events; i++) {
    ids.push(publish(type));
    if (i % 1000 === 999) await nc.flush();
  }
  await nc.flush();
  const published = performance.now();
  // With several hooks the same id arrives once per hook: wait for the request count too.
  await waitFor(ids, 120_000);
  while (requests - before < events * hooks) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - t0) / 1000;
  return {
    name,
    hooks,
    events,
    deliveries: requests - before,
    publishSeconds: (published - t0) / 1000,
    seconds: elapsed,
    perSecond: (requests - before) / elapsed,
  };
}

/** A steady stream at `rate` events/s to one hook; latency = publish → first arrival. */
async function steady(rate: number, seconds: number) {
  const type = `fleet.bench.steady${rate}`;
  await createHooks(1, type);
  arrivals.clear();
  const ids: string[] = [];
  const total = rate * seconds;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    ids.push(publish(type));
  }
  await nc.flush();
  await waitFor(ids, 60_000);
  const latencies = ids.map((id) => arrivals.get(id)! - sentAt.get(id)!).sort((a, b) => a - b);
  return {
    rate,
    n: latencies.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
  };
}

// Warm-up: connections, JIT, the vault reveal.
await burst('warmup', 1, 500);
const bursts = [await burst('one', 1, EVENTS), await burst('four', 4, Math.round(EVENTS / 4))];
const latency = [
  await steady(RATE, SECONDS),
  await steady(Math.min(RATE * 2, 2000), Math.max(3, SECONDS / 2)),
];

// Every sampled request carried a signature the standard library accepts with the hook's secret.
const hooks = (await callCommand(nc, notifierCommands.webhookList, {})).items.length;
let verified = 0;
for (const s of samples) {
  if (s.headers['webhook-signature']?.startsWith('v1,')) verified++;
}

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other work on the machine shows here)`,
);
console.log(`${hooks} webhooks registered; ${verified}/${samples.length} sampled requests signed v1\n`);
console.log('| burst | webhooks | events | deliveries | publish s | total s | deliveries/s |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const b of bursts) {
  console.log(
    `| ${b.name} | ${b.hooks} | ${b.events} | ${b.deliveries} | ${b.publishSeconds.toFixed(2)} | ${b.seconds.toFixed(2)} | ${Math.round(b.perSecond)} |`,
  );
}
console.log('\n| steady rate (events/s) | n | p50 ms | p90 ms | p99 ms | max ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const l of latency) {
  console.log(
    `| ${l.rate} | ${l.n} | ${l.p50.toFixed(2)} | ${l.p90.toFixed(2)} | ${l.p99.toFixed(2)} | ${l.max.toFixed(2)} |`,
  );
}

// Signature check against the standard library, on the first sampled request of the warm-up hook.
const first = samples[0];
if (first) {
  const created = await callCommand(nc, notifierCommands.webhookCreate, {
    url,
    events: ['fleet.bench.verify'],
    label: 'bench verify',
    actor: 'bench',
  });
  samples.length = 0;
  const id = publish('fleet.bench.verify');
  await waitFor([id], 10_000);
  const s = samples.find((x) => x.body.includes(id));
  if (!s) throw new Error('the verify delivery was not sampled');
  new Webhook(created.secret).verify(s.body, s.headers);
  console.log('\nstandardwebhooks verified a delivery signed by the notifier');
}

server.closeAllConnections();
server.close();
await nc.close();
await stack.stop();
