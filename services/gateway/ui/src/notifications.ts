import type { Notification, NotificationPage, NotificationSeverity } from '@jousting/contracts';
import type { LiveEvent } from './live';

export type { Notification, NotificationPage, NotificationSeverity };

/** How many of the newest the bell's dropdown shows. */
export const BELL_ITEMS = 6;

const SEVERITIES: readonly string[] = ['info', 'warning', 'error'];

/** The notification of a `notify.created` event, checked by hand (no zod in the bundle). */
export function parseNotificationCreated(event: { type: string; data: unknown }): Notification | undefined {
  if (event.type !== 'notify.created') return undefined;
  const data = event.data;
  if (typeof data !== 'object' || data === null || !('notification' in data)) return undefined;
  const n = data.notification as Record<string, unknown> | null;
  if (typeof n !== 'object' || n === null) return undefined;
  const strings = ['id', 'kind', 'title', 'body', 'eventId', 'createdAt'] as const;
  if (!strings.every((k) => typeof n[k] === 'string')) return undefined;
  if (typeof n.severity !== 'string' || !SEVERITIES.includes(n.severity)) return undefined;
  if (n.link !== undefined && typeof n.link !== 'string') return undefined;
  return { ...(n as unknown as Notification), read: n.read === true };
}

/** Only paths inside this app are followed: a link is data from the server, not a place to send people off to. */
export function safeLink(link: string | undefined): string | undefined {
  return link?.startsWith('/') && !link.startsWith('//') ? link : undefined;
}

export const severityTone = (s: NotificationSeverity) =>
  s === 'error' ? 'bad' : s === 'warning' ? 'warn' : 'info';

/** "9+" above nine, as bells do. */
export const badgeText = (unread: number) => (unread > 9 ? '9+' : String(unread));

export interface InboxSnapshot {
  unread: number;
  /** Newest first, at most `BELL_ITEMS`. */
  newest: Notification[];
  loaded: boolean;
  error?: string;
}

/** What the inbox needs of the API. */
export interface InboxApi {
  request<T>(method: 'GET' | 'POST', path: string): Promise<T>;
}

/**
 * The unread count and the newest notifications, shared by the bell and the notifications page:
 * loaded once, then kept current from `notify.created` events and this UI's own mark-read calls.
 */
export class NotificationInbox {
  private state: InboxSnapshot = { unread: 0, newest: [], loaded: false };
  private readonly listeners = new Set<() => void>();
  /** Bumped by every local change: a read started before one may not hold it. */
  private version = 0;

  constructor(private readonly api: InboxApi) {}

  getSnapshot = (): InboxSnapshot => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /**
   * Reads the count and the newest. An answer overtaken by an event or a mark-read may or may not
   * hold that change, so it is read again (up to `retries` times, then taken as it is).
   */
  async load(retries = 3): Promise<void> {
    const started = this.version;
    try {
      const page = await this.api.request<NotificationPage>('GET', `/api/notifications?limit=${BELL_ITEMS}`);
      if (started !== this.version && retries > 0) return this.load(retries - 1);
      this.set({ unread: page.unread, newest: page.items.slice(0, BELL_ITEMS), loaded: true });
    } catch (err) {
      if (started !== this.version && retries > 0) return this.load(retries - 1);
      this.set({ ...this.state, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Feeds one live event; returns the new notification when it was one. */
  apply(e: LiveEvent): Notification | undefined {
    const n = parseNotificationCreated(e.event);
    if (!n) return undefined;
    if (this.state.newest.some((m) => m.id === n.id)) return undefined;
    this.version++;
    this.set({
      ...this.state,
      unread: this.state.unread + (n.read ? 0 : 1),
      newest: [n, ...this.state.newest].slice(0, BELL_ITEMS),
    });
    return n;
  }

  async markRead(id: string): Promise<Notification> {
    const n = await this.api.request<Notification>(
      'POST',
      `/api/notifications/${encodeURIComponent(id)}/read`,
    );
    this.noteRead(id);
    return n;
  }

  async markAllRead(): Promise<{ marked: number; unread: number }> {
    const result = await this.api.request<{ marked: number; unread: number }>(
      'POST',
      '/api/notifications/read-all',
    );
    this.version++;
    this.set({
      ...this.state,
      unread: result.unread,
      newest: this.state.newest.map((n) => ({ ...n, read: true })),
    });
    return result;
  }

  /** An unread notification was marked read (here or from the page): lower the count once. */
  noteRead(id: string): void {
    const listed = this.state.newest.find((n) => n.id === id);
    if (listed?.read) return;
    this.version++;
    this.set({
      ...this.state,
      unread: Math.max(0, this.state.unread - 1),
      newest: this.state.newest.map((n) => (n.id === id ? { ...n, read: true } : n)),
    });
  }

  private set(next: InboxSnapshot): void {
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  }
}

const inboxes = new WeakMap<object, NotificationInbox>();

/** One inbox per signed-in shell (keyed by its live connection), made on first use. */
export function inboxFor(owner: object, api: InboxApi): NotificationInbox {
  let inbox = inboxes.get(owner);
  if (!inbox) {
    inbox = new NotificationInbox(api);
    inboxes.set(owner, inbox);
  }
  return inbox;
}
