/**
 * The event thread (see ThreadEventRelay): receives committed journal parts from the coordinator
 * and publishes their events on its own NATS connection, in the order received.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectBus, createLogger, EventPublisher } from '@jousting/bus';
import { jetstream } from '@nats-io/jetstream';
import { emitPartEvents, type PartForEvents } from './event-relay.js';

type ToThread = { kind: 'parts'; parts: PartForEvents[] } | { kind: 'drain'; id: number } | { kind: 'close' };

const port = parentPort!;
const { servers, name, source, logLevel } = workerData as {
  servers: string;
  name: string;
  source: string;
  logLevel: string;
};

const logger = createLogger('coordinator', { level: logLevel }).child({ thread: 'events' });
const nc = await connectBus({ servers, name: `${name}-events`, logger });
const events = new EventPublisher(jetstream(nc), source, nc);

port.on('message', (msg: ToThread) => {
  switch (msg.kind) {
    case 'parts': {
      const failures = emitPartEvents(events, msg.parts);
      if (failures.length) port.postMessage({ kind: 'failed', failures });
      return;
    }
    case 'drain':
      nc.flush().then(
        () => port.postMessage({ kind: 'drained', id: msg.id }),
        (err: Error) => {
          port.postMessage({ kind: 'error', message: `flush failed: ${err.message}` });
          port.postMessage({ kind: 'drained', id: msg.id });
        },
      );
      return;
    case 'close':
      void nc.drain().finally(() => process.exit(0));
      return;
  }
});
port.postMessage({ kind: 'ready' });
