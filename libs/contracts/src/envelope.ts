import { z } from 'zod';

/** CloudEvents 1.0 structured-mode JSON envelope, plus the `traceid` extension. */
export const CloudEvent = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1).describe('The emitting service, e.g. "/jousting/settings"'),
    type: z
      .string()
      .min(1)
      .describe('The event type, which is also its NATS subject, e.g. "settings.changed"'),
    time: z.iso.datetime(),
    subject: z.string().optional().describe('What the event is about, e.g. a setting key or task id'),
    datacontenttype: z.literal('application/json').optional(),
    traceid: z.string().min(1),
    data: z.unknown(),
  })
  .meta({ id: 'CloudEvent' });
export type CloudEvent<D = unknown> = Omit<z.infer<typeof CloudEvent>, 'data'> & { data: D };

/** Envelope schema with a typed `data`, for consumers that know the event type. */
export function cloudEventOf<T extends string, D extends z.ZodType>(type: T, data: D) {
  return CloudEvent.extend({ type: z.literal(type), data });
}
