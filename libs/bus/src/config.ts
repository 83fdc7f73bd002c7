import { issuesFromZod, JoustingError } from '@jousting/contracts';
import { z } from 'zod';

/** Settings every service reads from its environment. */
export const BaseConfig = z.object({
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  JOUSTING_DATA_DIR: z.string().default('./.data'),
});

/**
 * Reads and validates environment variables; a bad or missing one is named in the thrown error,
 * so a service fails at start with a clear message instead of later with an odd one.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = issuesFromZod(result.error);
    throw new JoustingError(
      'validation_failed',
      `invalid environment: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
      { fields: issues },
    );
  }
  return result.data;
}
