import { Label, WorkerId } from '@jousting/contracts';
import { z } from 'zod';

const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);

/** Environment of the worker service, on top of BaseConfig (NATS_URL, LOG_LEVEL, JOUSTING_DATA_DIR). */
export const WorkerConfig = z.object({
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(4),
  WORKER_PREFETCH: z.coerce.number().int().min(0).max(10_000).default(0),
  WORKER_LABELS: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((label) => label.trim())
        .filter(Boolean),
    )
    .pipe(z.array(Label).max(64)),
  WORKER_NAME: z.preprocess(emptyIsUnset, z.string().max(200).optional()),
  WORKER_ID: z.preprocess(emptyIsUnset, WorkerId.optional()),
  JOUSTING_WORKER_TOKEN: z.preprocess(emptyIsUnset, z.string().optional()),
  WORKER_DRAIN_SECONDS: z.coerce.number().min(0).max(3600).default(20),
});
