import { createContext, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import type { ApiClient, Session } from './api';
import type { EventLog } from './event-log';
import type { LiveConnection, LiveEvent, LiveSnapshot } from './live';
import type { NoticeState, Notices } from './notices';
import type { OwnWrites } from './settings-form';
import type { TaskSnapshot } from './task-store';
import type { TaskSync } from './task-sync';

/** What every page of the signed-in app can reach. */
export interface AppServices {
  api: ApiClient;
  session: Session;
  live: LiveConnection;
  events: EventLog;
  notices: Notices;
  ownWrites: OwnWrites;
  /** Every task, kept live; loaded by the first page that asks. */
  tasks: TaskSync;
}

const AppContext = createContext<AppServices | null>(null);
export const AppProvider = AppContext.Provider;

export function useApp(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error('useApp outside <AppProvider>');
  return services;
}

export function useLiveSnapshot(): LiveSnapshot {
  const { live } = useApp();
  return useSyncExternalStore(
    (onChange) => live.onStatus(onChange),
    () => live.snapshot,
  );
}

/**
 * Calls `listener` for each live event while the component is mounted. The subscription is made
 * once; the newest listener is read through a ref, so re-renders never add listeners.
 */
export function useLiveEvents(listener: (e: LiveEvent) => void): void {
  const { live } = useApp();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => live.subscribe((e) => latest.current(e)), [live]);
}

export function useNotices(): NoticeState {
  const { notices } = useApp();
  return useSyncExternalStore(notices.subscribe, notices.getSnapshot);
}

export function useEventLog(): LiveEvent[] {
  const { events } = useApp();
  return useSyncExternalStore(events.subscribe, events.getSnapshot);
}

/** Every task, live (re-rendering at most every 100 ms); starts the first load when needed. */
export function useTasks(): TaskSnapshot {
  const { tasks } = useApp();
  useEffect(() => {
    void tasks.ensureLoaded();
  }, [tasks]);
  return useSyncExternalStore(tasks.store.subscribe, tasks.store.getSnapshot);
}

/** Whether the session may change things (operator or admin). */
export function useCanWrite(): boolean {
  const { session } = useApp();
  return session.role === 'operator' || session.role === 'admin';
}
