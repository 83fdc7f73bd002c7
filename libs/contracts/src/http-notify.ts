import type { HttpRoute } from './http-route.js';

/** Webhooks and the notifications inbox (services/notifier). */
export const NOTIFY_ROUTES = [] as const satisfies readonly HttpRoute[];
