import { type Command, issuesFromZod, JoustingError, parseOrThrow, ReplyEnvelope } from '@jousting/contracts';
import { errors, type NatsConnection, headers as natsHeaders } from '@nats-io/nats-core';
import { type Service, type ServiceMsg, Svcm } from '@nats-io/services';
import type { z } from 'zod';
import { newTraceId } from './ids.js';
import type { Logger } from './logger.js';

export const TRACE_HEADER = 'Jst-Trace-Id';
/** Replicas of a service share requests through this queue group. */
export const SERVICE_QUEUE = 'q';

export interface HandlerContext {
  traceId: string;
  logger: Logger;
  /** A header of the request (e.g. a worker token), undefined when absent. */
  header(name: string): string | undefined;
}

export type CommandHandler<C extends Command> = (
  request: z.infer<C['request']>,
  ctx: HandlerContext,
) => Promise<z.infer<C['response']>>;

export interface Endpoint {
  command: Command;
  handler: (request: never, ctx: HandlerContext) => Promise<unknown>;
  /** Validate the reply against the command's schema before sending it (default true). */
  checkReply?: boolean;
}

export interface EndpointOptions {
  /**
   * false skips the server-side reply check on a hot path whose replies are built from state
   * that was validated on the way in; the caller still parses the reply with the schema.
   */
  checkReply?: boolean;
}

/** Pairs a command with its handler, keeping the handler's types tied to the command's schemas. */
export function endpoint<C extends Command>(
  command: C,
  handler: CommandHandler<C>,
  opts: EndpointOptions = {},
): Endpoint {
  return { command, handler: handler as Endpoint['handler'], checkReply: opts.checkReply ?? true };
}

export interface ServeOptions {
  name: string;
  version: string;
  description?: string;
  logger: Logger;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Registers the endpoints as one NATS service (`$SRV.PING/INFO/STATS` answer for it) in the
 * shared queue group. Requests and replies are validated with the command's schemas; every
 * failure becomes an `{ok:false,error}` reply, never a crash.
 */
export async function serveCommands(
  nc: NatsConnection,
  opts: ServeOptions,
  endpoints: Endpoint[],
): Promise<Service> {
  const service = await new Svcm(nc).add({
    name: opts.name,
    version: opts.version,
    description: opts.description ?? opts.name,
    queue: SERVICE_QUEUE,
  });
  for (const { command, handler, checkReply } of endpoints) {
    service.addEndpoint(command.op, {
      subject: command.subject,
      handler: (err, msg) => {
        if (err) {
          opts.logger.error({ err, subject: command.subject }, 'endpoint stopped');
          return;
        }
        void handle(command, handler, msg, opts.logger, checkReply !== false);
      },
    });
  }
  await nc.flush();
  return service;
}

async function handle(
  command: Command,
  handler: Endpoint['handler'],
  msg: ServiceMsg,
  logger: Logger,
  checkReply: boolean,
) {
  const traceId = msg.headers?.get(TRACE_HEADER) || newTraceId();
  // Made on first use: a pino child with redaction costs ~7 KB of garbage, and most requests log nothing.
  let child: Logger | undefined;
  const log = () => (child ??= logger.child({ subject: command.subject, traceId }));
  try {
    let body: unknown;
    try {
      body = msg.data.length ? JSON.parse(decoder.decode(msg.data)) : {};
    } catch {
      throw new JoustingError('validation_failed', 'request body is not valid JSON', {
        fields: [{ field: '(root)', message: 'not valid JSON' }],
      });
    }
    const request = parseOrThrow(command.request, body);
    const header = (name: string) => msg.headers?.get(name) || undefined;
    const data = await handler(request as never, {
      traceId,
      get logger() {
        return log();
      },
      header,
    });
    let reply = data;
    if (checkReply) {
      const checked = command.response.safeParse(data);
      if (!checked.success) {
        log().error({ issues: issuesFromZod(checked.error) }, 'handler reply breaks its contract');
        throw new JoustingError('internal', 'the service produced an invalid reply');
      }
      reply = checked.data;
    }
    msg.respond(encoder.encode(JSON.stringify({ ok: true, data: reply })));
  } catch (err) {
    const error =
      err instanceof JoustingError
        ? err
        : new JoustingError('internal', 'internal error; see the service log');
    if (error.code === 'internal') log().error({ err }, 'command failed');
    else if (logger.isLevelEnabled('debug'))
      log().debug({ code: error.code, message: error.message }, 'command refused');
    msg.respondError(
      error.httpStatus,
      error.message,
      encoder.encode(JSON.stringify({ ok: false, error: error.toBody() })),
    );
  }
}

export interface CallOptions {
  timeoutMs?: number;
  traceId?: string;
  /** Extra request headers, e.g. the worker token. */
  headers?: Record<string, string>;
}

/**
 * Sends a command and returns its validated reply data; an error reply is thrown as the
 * JoustingError it carries, and no responder or a timeout as `unavailable`.
 */
export async function callCommand<C extends Command>(
  nc: NatsConnection,
  command: C,
  request: z.input<C['request']>,
  opts: CallOptions = {},
): Promise<z.infer<C['response']>> {
  const hdrs = natsHeaders();
  hdrs.set(TRACE_HEADER, opts.traceId ?? newTraceId());
  for (const [name, value] of Object.entries(opts.headers ?? {})) hdrs.set(name, value);
  let reply: Uint8Array;
  try {
    const msg = await nc.request(command.subject, encoder.encode(JSON.stringify(request)), {
      timeout: opts.timeoutMs ?? 5000,
      headers: hdrs,
    });
    reply = msg.data;
  } catch (err) {
    if (isNoResponders(err)) {
      throw new JoustingError(
        'unavailable',
        `the ${command.service} service is not running (no responder on ${command.subject})`,
      );
    }
    if (err instanceof errors.TimeoutError || (err instanceof Error && /timeout/i.test(err.message))) {
      throw new JoustingError(
        'unavailable',
        `the ${command.service} service did not answer ${command.subject} in time`,
      );
    }
    throw new JoustingError('unavailable', `request ${command.subject} failed: ${(err as Error).message}`);
  }
  let envelope: ReplyEnvelope;
  try {
    envelope = ReplyEnvelope.parse(JSON.parse(decoder.decode(reply)));
  } catch {
    throw new JoustingError('internal', `the ${command.service} service sent an unreadable reply`);
  }
  if (!envelope.ok) throw JoustingError.fromBody(envelope.error);
  const data = command.response.safeParse(envelope.data);
  if (!data.success)
    throw new JoustingError(
      'internal',
      `the ${command.service} service sent a reply that breaks its contract`,
    );
  return data.data as z.infer<C['response']>;
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof errors.NoRespondersError) return true;
  if (err instanceof errors.RequestError) return err.isNoResponders();
  return err instanceof Error && /no responders|503/i.test(err.message);
}
