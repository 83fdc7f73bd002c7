import { z } from 'zod';
import { CloudEvent } from './envelope.js';
import { SUBJECT_PATTERN_RE } from './subjects.js';

export const SubjectPattern = z
  .string()
  .regex(SUBJECT_PATTERN_RE, 'must be a NATS subject pattern such as "settings.>" or "coord.*"');

/** Messages a WebSocket client sends to `/ws`. */
export const WsClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), patterns: z.array(SubjectPattern).min(1).max(64) }).strict(),
  z.object({ type: z.literal('unsubscribe'), patterns: z.array(SubjectPattern).min(1).max(64) }).strict(),
  z.object({ type: z.literal('replay'), afterSeq: z.number().int().min(0) }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);
export type WsClientMessage = z.infer<typeof WsClientMessage>;

/** Messages the gateway sends on `/ws`. */
export const WsServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), seq: z.number().int(), patterns: z.array(z.string()) }),
  z.object({ type: z.literal('subscribed'), patterns: z.array(z.string()) }),
  z.object({ type: z.literal('event'), seq: z.number().int(), event: CloudEvent }),
  z.object({ type: z.literal('replay-done'), seq: z.number().int() }),
  z.object({
    type: z.literal('replay-gap'),
    afterSeq: z.number().int(),
    firstAvailableSeq: z.number().int(),
    message: z.string(),
  }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('error'), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type WsServerMessage = z.infer<typeof WsServerMessage>;
