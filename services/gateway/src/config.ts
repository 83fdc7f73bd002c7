import { fileURLToPath } from 'node:url';
import { ApiToken } from '@jousting/contracts';
import { z } from 'zod';

/** The built operator UI, next to the compiled gateway (services/gateway/ui/dist). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../ui/dist', import.meta.url));

// `FOO=` in a compose file means "not set", not "set to the empty string".
const unsetWhenEmpty = (value: unknown) => (value === '' ? undefined : value);

/** Environment variables of the gateway, on top of BaseConfig (NATS_URL, LOG_LEVEL, JOUSTING_DATA_DIR). */
export const GatewayConfig = z.object({
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
  JOUSTING_ADMIN_TOKEN: z.preprocess(unsetWhenEmpty, ApiToken.optional()),
  JOUSTING_UI_DIR: z.preprocess(unsetWhenEmpty, z.string().default(DEFAULT_UI_DIR)),
  GATEWAY_WS_PING_MS: z.coerce.number().int().min(100).default(30_000),
  GATEWAY_WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  GATEWAY_SECURE_COOKIES: z.preprocess(unsetWhenEmpty, z.stringbool().default(false)),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;
