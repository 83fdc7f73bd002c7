import { newTraceId, TRACE_HEADER } from '@jousting/bus';
import { type Command, JoustingError, ReplyEnvelope, WORKER_TOKEN_HEADER } from '@jousting/contracts';
import { errors, headers, type NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface CoordinatorRequestOptions {
  token: string;
  timeoutMs: number;
  traceId?: string;
}

/**
 * Sends one worker-protocol request with the worker token header. `body` is the JSON text of the
 * request (reports are pre-serialised one by one, so a batch is joined, not stringified again).
 * Error replies are thrown as their JoustingError; no responder, a timeout or a closed
 * connection as `unavailable`.
 */
export async function requestCoordinator<C extends Command>(
  nc: NatsConnection,
  command: C,
  body: string,
  opts: CoordinatorRequestOptions,
): Promise<z.infer<C['response']>> {
  const hdrs = headers();
  hdrs.set(TRACE_HEADER, opts.traceId ?? newTraceId());
  hdrs.set(WORKER_TOKEN_HEADER, opts.token);
  let data: Uint8Array;
  try {
    const msg = await nc.request(command.subject, encoder.encode(body), {
      timeout: opts.timeoutMs,
      headers: hdrs,
    });
    data = msg.data;
  } catch (err) {
    throw unavailable(command, err);
  }
  let envelope: ReplyEnvelope;
  try {
    envelope = ReplyEnvelope.parse(JSON.parse(decoder.decode(data)));
  } catch {
    throw new JoustingError('internal', `the coordinator sent an unreadable reply to ${command.subject}`);
  }
  if (!envelope.ok) throw JoustingError.fromBody(envelope.error);
  const parsed = command.response.safeParse(envelope.data);
  if (!parsed.success) {
    throw new JoustingError('internal', `the coordinator's reply to ${command.subject} breaks its contract`);
  }
  return parsed.data as z.infer<C['response']>;
}

function unavailable(command: Command, err: unknown): JoustingError {
  if (
    err instanceof errors.NoRespondersError ||
    (err instanceof errors.RequestError && err.isNoResponders())
  ) {
    return new JoustingError('unavailable', `no coordinator answers ${command.subject}`);
  }
  if (err instanceof errors.TimeoutError) {
    return new JoustingError('unavailable', `the coordinator did not answer ${command.subject} in time`);
  }
  return new JoustingError('unavailable', `${command.subject} failed: ${(err as Error).message}`);
}
