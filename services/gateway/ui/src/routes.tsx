import { type ComponentType, lazy } from 'react';
import type { IconName } from './components/icons';
import { CoordinationPage } from './pages/coordination';
import { DeadLettersPage } from './pages/dead-letters';
import { EventsPage } from './pages/events';
import { NotificationsPage } from './pages/notifications';
import { OverviewPage } from './pages/overview';
import { SecretsPage } from './pages/secrets';
import { SettingsPage } from './pages/settings';
import { TaskDetailPage } from './pages/task-detail';
import { TasksPage } from './pages/tasks';
import { TemplatesPage } from './pages/templates';
import { WebhooksPage } from './pages/webhooks';
import { WorkersPage } from './pages/workers';

// React Flow and dagre are most of the bundle: load them with the graph page only.
const GraphPage = lazy(() => import('./pages/graph').then((m) => ({ default: m.GraphPage })));

/** What a page gets from its path: `/tasks/:id` gives `{ id }`. */
export type RouteParams = Record<string, string>;

/** One page of the app. The sidebar is built from this list; add a page by adding an entry. */
export interface PageRoute {
  /** `/tasks` or, with parameters, `/tasks/:id`. */
  path: string;
  title: string;
  icon: IconName;
  component: ComponentType<{ params: RouteParams }>;
  /** Reached from other pages only; the sidebar highlights `section` for it. */
  hidden?: boolean;
  section?: string;
}

export const PAGES: PageRoute[] = [
  { path: '/', title: 'Overview', icon: 'overview', component: OverviewPage },
  { path: '/tasks', title: 'Tasks', icon: 'tasks', component: TasksPage },
  {
    path: '/tasks/:id',
    title: 'Task',
    icon: 'tasks',
    component: TaskDetailPage,
    hidden: true,
    section: '/tasks',
  },
  { path: '/graph', title: 'Graph', icon: 'graph', component: GraphPage },
  { path: '/workers', title: 'Workers', icon: 'workers', component: WorkersPage },
  { path: '/dead-letters', title: 'Dead letters', icon: 'inbox', component: DeadLettersPage },
  { path: '/coordination', title: 'Coordination', icon: 'gauge', component: CoordinationPage },
  { path: '/templates', title: 'Templates', icon: 'template', component: TemplatesPage },
  { path: '/settings', title: 'Settings', icon: 'settings', component: SettingsPage },
  { path: '/secrets', title: 'Secrets', icon: 'lock', component: SecretsPage },
  { path: '/webhooks', title: 'Webhooks', icon: 'webhook', component: WebhooksPage },
  {
    path: '/webhooks/:id',
    title: 'Webhook',
    icon: 'webhook',
    component: WebhooksPage,
    hidden: true,
    section: '/webhooks',
  },
  { path: '/notifications', title: 'Notifications', icon: 'bell', component: NotificationsPage },
  { path: '/events', title: 'Live events', icon: 'events', component: EventsPage },
];

/** Links that leave the app (served by the gateway itself). */
export const EXTERNAL_LINKS: Array<{ href: string; title: string; icon: IconName }> = [
  { href: '/api/docs', title: 'API docs', icon: 'docs' },
];

export interface RouteMatch {
  page: PageRoute;
  params: RouteParams;
}

/** The page for a path and the parameters its pattern captured. */
export function matchRoute(path: string, pages: readonly PageRoute[] = PAGES): RouteMatch | undefined {
  const normalized = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const parts = normalized.split('/');
  for (const page of pages) {
    const pattern = page.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: RouteParams = {};
    const ok = pattern.every((segment, i) => {
      const part = parts[i] ?? '';
      if (segment.startsWith(':')) {
        if (part === '') return false;
        params[segment.slice(1)] = safeDecode(part);
        return true;
      }
      return segment === part;
    });
    if (ok) return { page, params };
  }
  return undefined;
}

export function findPage(path: string): PageRoute | undefined {
  return matchRoute(path)?.page;
}

/** The sidebar entry to highlight for a path. */
export function navSection(path: string): string | undefined {
  const page = findPage(path);
  return page?.section ?? page?.path;
}

export const taskPath = (id: string) => `/tasks/${encodeURIComponent(id)}`;

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
