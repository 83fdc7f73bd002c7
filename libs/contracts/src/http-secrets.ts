import type { HttpRoute } from './http-route.js';

/** The secrets vault (services/settings). */
export const SECRET_ROUTES = [] as const satisfies readonly HttpRoute[];
