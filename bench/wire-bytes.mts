// Messages and bytes per task on the wire, by subject group, for N no-op tasks through the
// coordinator and the SDK worker (a '>' subscriber sees every core message, JetStream API
// requests and replies included). Run after `npm run build`: npx tsx bench/wire-bytes.mts
import { randomBytes } from 'node:crypto';
import { launchService, startNats } from '@jousting/testing';
import { connect } from '@nats-io/transport-node';
import { joustingIndependent } from './jousting-workloads.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 5000);
const nats = await startNats({ ...process.env, NATS_URL: '' });
const workerToken = `jsw_${randomBytes(32).toString('hex')}`;
const coord = await launchService('coordinator', {
  natsUrl: nats.url,
  env: { LOG_LEVEL: 'warn', JOUSTING_WORKER_TOKEN: workerToken, JOUSTING_DATA_DIR: '/tmp/wire-data' },
});
const nc = await connect({ servers: nats.url });
const spy = await connect({ servers: nats.url });
const tally = new Map<string, { msgs: number; bytes: number; headers: number; sample: string }>();
const group = (subject: string) =>
  subject.startsWith('_INBOX.') ? '_INBOX (replies)' : subject.replace(/\.[A-Za-z0-9_-]{20,}.*$/, '.<id>');
let counting = false;
spy.subscribe('>', {
  callback: (_err, msg) => {
    if (!counting) return;
    const key = group(msg.subject);
    const entry = tally.get(key) ?? { msgs: 0, bytes: 0, headers: 0, sample: '' };
    entry.msgs++;
    entry.bytes += msg.data.length;
    entry.headers += msg.headers ? msg.headers.toString().length : 0;
    if (!entry.sample && msg.data.length < 2000)
      entry.sample = new TextDecoder().decode(msg.data).slice(0, 600);
    tally.set(key, entry);
  },
});
await spy.flush();
const bench = { nc, natsUrl: nats.url, workerToken };
await joustingIndependent(bench, 1000);
counting = true;
await joustingIndependent(bench, TASKS);
await new Promise((r) => setTimeout(r, 500));
counting = false;
let msgs = 0;
let bytes = 0;
for (const [key, e] of [...tally].sort((a, b) => b[1].bytes + b[1].headers - a[1].bytes - a[1].headers)) {
  msgs += e.msgs;
  bytes += e.bytes + e.headers;
  console.log(
    `${key.padEnd(40)} ${(e.msgs / TASKS).toFixed(3).padStart(8)} msgs/task ${((e.bytes + e.headers) / TASKS).toFixed(0).padStart(6)} B/task (payload ${Math.round(e.bytes / e.msgs)} B + headers ${Math.round(e.headers / e.msgs)} B each)`,
  );
}
console.log(`total ${(msgs / TASKS).toFixed(2)} msgs/task, ${(bytes / TASKS).toFixed(0)} B/task`);
if (process.env.BENCH_SAMPLES) for (const [key, e] of tally) console.log(`\n${key}: ${e.sample}`);
await nc.close();
await spy.close();
await coord.stop('SIGTERM');
await nats.stop();
process.exit(0);
