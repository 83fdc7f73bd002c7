import type { ComponentType } from 'react';
import type { IconName } from './components/icons';
import { EventsPage } from './pages/events';
import { OverviewPage } from './pages/overview';
import { SettingsPage } from './pages/settings';

/** One page of the app. The sidebar is built from this list; add a page by adding an entry. */
export interface PageRoute {
  path: string;
  title: string;
  icon: IconName;
  component: ComponentType;
}

export const PAGES: PageRoute[] = [
  { path: '/', title: 'Overview', icon: 'overview', component: OverviewPage },
  { path: '/settings', title: 'Settings', icon: 'settings', component: SettingsPage },
  { path: '/events', title: 'Live events', icon: 'events', component: EventsPage },
];

/** Links that leave the app (served by the gateway itself). */
export const EXTERNAL_LINKS: Array<{ href: string; title: string; icon: IconName }> = [
  { href: '/api/docs', title: 'API docs', icon: 'docs' },
];

export function findPage(path: string): PageRoute | undefined {
  const normalized = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return PAGES.find((p) => p.path === normalized);
}
