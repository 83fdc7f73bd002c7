import type { Logger } from '@jousting/bus';
import type { Role } from '@jousting/contracts';

/** Who is calling, resolved from a bearer token or a session cookie. */
export interface Principal {
  name: string;
  role: Role;
  via: 'bearer' | 'session';
  /** sha256 of the token: how the principal is re-checked later (revocation). */
  tokenHash: string;
  session?: { id: string; csrfToken: string };
}

/** What middleware puts on the Hono context for the handlers after it. */
export type GatewayEnv = {
  Variables: {
    traceId: string;
    log: Logger;
    principal: Principal | undefined;
  };
};
