import type { HttpRoute } from './http-route.js';

/** Coordinator policies: lifecycle, limits, budgets, circuits, bulk actions, templates. */
export const COORD_POLICY_ROUTES = [] as const satisfies readonly HttpRoute[];
