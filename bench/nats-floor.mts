// What nats-server itself costs on this machine, under the coordinator's figures:
// 1. round trips at the steady-latency pattern (a message every 10 ms, so each hop wakes an idle
//    process): core request/reply to another process, and a JetStream publish with its ack;
// 2. nats-server CPU per message stored in a file stream (a CloudEvent-sized message published
//    without Nats-Msg-Id, as the coordinator sends its events), and per message routed to a
//    subject no stream captures.
// Run: npx tsx bench/nats-floor.mts   (BENCH_ROUND_TRIPS, default 1000; BENCH_MESSAGES, default 200000)
import { fork } from 'node:child_process';
import { startNats } from '@jousting/testing';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { cpuDuring, findPid } from './proc-cpu.ts';
import { percentile } from './stats.ts';

if (process.env.BENCH_ECHO_URL) {
  const nc = await connect({ servers: process.env.BENCH_ECHO_URL });
  nc.subscribe('floor.echo', {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  process.send!('ready');
} else {
  const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 1000);
  const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
  const nats = await startNats({ ...process.env, NATS_URL: '' });
  const natsPid = findPid('nats-server', new URL(nats.url).port);
  const echo = fork(process.argv[1]!, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_ECHO_URL: nats.url },
  });
  await new Promise((resolve) => echo.once('message', resolve));
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'FLOOR', subjects: ['floor.stored.>'], storage: StorageType.File });
  const js = jetstream(nc);

  const timings = async (once: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = performance.now();
      await once();
      ms.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
    ms.sort((a, b) => a - b);
    return `p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms, max ${ms[ms.length - 1]!.toFixed(2)} ms`;
  };
  console.log(
    `request/reply to another process, one every 10 ms: ${await timings(() => nc.request('floor.echo', new Uint8Array(300)))}`,
  );
  console.log(
    `JetStream publish (3 KB) and its ack, one every 10 ms: ${await timings(() => js.publish('floor.stored.journal', new Uint8Array(3000)))}`,
  );

  const event = new TextEncoder().encode(
    JSON.stringify({
      specversion: '1.0',
      id: 'coord-123456-789',
      source: '/jousting/coordinator',
      type: 'coord.task-updated',
      time: new Date().toISOString(),
      subject: '01KBX7Q2M4N5P6R7S8T9V0W1X2',
      datacontenttype: 'application/json',
      data: {
        id: '01KBX7Q2M4N5P6R7S8T9V0W1X2',
        from: 'assigned',
        to: 'running',
        workerId: 'w-01KBX7Q2M4N5P6R7S8T9V0W1X2',
        attempt: 1,
      },
      traceid: '4bf92f3577b34da6a3ce929d0e0e4736',
    }),
  );
  const perMessage = async (subject: string, stored: boolean) => {
    const run = await cpuDuring({ nats: natsPid }, async () => {
      for (let i = 0; i < MESSAGES; i++) {
        nc.publish(subject, event);
        if (i % 1000 === 999) await nc.flush();
      }
      await nc.flush();
      while (stored && (await jsm.streams.info('FLOOR')).state.messages < MESSAGES)
        await new Promise((r) => setTimeout(r, 20));
    });
    return `${((run.cpu.nats / MESSAGES) * 1e6).toFixed(1)} µs of nats-server CPU per message (${MESSAGES} in ${run.wallSeconds.toFixed(2)} s)`;
  };
  await jsm.streams.purge('FLOOR');
  console.log(
    `${event.length}-byte event stored in a file stream: ${await perMessage('floor.stored.event', true)}`,
  );
  console.log(
    `${event.length}-byte event to a subject no stream or subscriber takes: ${await perMessage('floor.unstored.event', false)}`,
  );

  echo.kill();
  await nc.close();
  await nats.stop();
  process.exit(0);
}
