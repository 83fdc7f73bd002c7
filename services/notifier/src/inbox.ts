import { decodeJson, type EventPublisher, type KV, type Logger } from '@jousting/bus';
import {
  type CloudEvent,
  JoustingError,
  MAX_NOTIFICATIONS,
  Notification,
  type NotificationPage,
} from '@jousting/contracts';
import { derivedUlid } from './ids.js';
import { KvBatcher } from './kv-batcher.js';
import type { NotificationDraft } from './notification-rules.js';

export const INBOX_BUCKET = 'notifier-inbox';

interface Entry {
  notification: Notification;
  /** notify.created is out; a redelivered event whose notification exists but was not announced retries it. */
  announced: boolean;
  stored: Promise<void>;
}

/**
 * The notifications inbox: the newest 500, one key per notification in `notifier-inbox`. A
 * notification's id derives from its event's id, so an event handled twice makes one notification.
 */
export class Inbox {
  private readonly entries = new Map<string, Entry>();
  /** Ids oldest first (ULIDs sort by the event's time). */
  private order: string[] = [];
  private unread = 0;
  private readonly writes: KvBatcher;

  private constructor(
    private readonly events: EventPublisher,
    private readonly logger: Logger,
    kv: KV,
  ) {
    this.writes = new KvBatcher(kv, 2);
  }

  static async open(kv: KV, events: EventPublisher, logger: Logger): Promise<Inbox> {
    const inbox = new Inbox(events, logger, kv);
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    const found = await Promise.all(keys.map((k) => kv.get(k)));
    inbox.writes.known(keys);
    for (const entry of found) {
      const parsed = Notification.safeParse(decodeJson(entry));
      if (!parsed.success) continue;
      inbox.entries.set(parsed.data.id, {
        notification: parsed.data,
        announced: true,
        stored: Promise.resolve(),
      });
    }
    inbox.order = [...inbox.entries.keys()].sort();
    inbox.unread = [...inbox.entries.values()].filter((e) => !e.notification.read).length;
    await inbox.trim();
    return inbox;
  }

  /** Adds the notification an event calls for and announces it; resolves once both are durable. */
  async add(draft: NotificationDraft, event: CloudEvent): Promise<void> {
    const id = derivedUlid(Date.parse(event.time), `notification:${event.id}`);
    let entry = this.entries.get(id);
    if (!entry) {
      const notification: Notification = {
        id,
        ...draft,
        eventId: event.id,
        createdAt: event.time,
        read: false,
      };
      entry = { notification, announced: false, stored: this.writes.put(id, notification) };
      this.entries.set(id, entry);
      this.insert(id);
      this.unread++;
      await this.trim();
    }
    try {
      await entry.stored;
    } catch (err) {
      // Try again at once: the event is not acknowledged, comes again and waits for this write.
      const failed = entry;
      failed.stored = this.writes.put(id, failed.notification);
      failed.stored.catch(() => undefined);
      throw err;
    }
    if (!entry.announced) {
      await this.events.publish(
        'notify.created',
        { notification: entry.notification },
        {
          id: `notify-created-${id}`,
          subject: entry.notification.kind,
          traceId: event.traceid,
        },
      );
      entry.announced = true;
    }
  }

  list(filter: { unread?: boolean; limit: number; offset: number }): NotificationPage {
    const all: Notification[] = [];
    for (let i = this.order.length - 1; i >= 0; i--) {
      const n = this.entries.get(this.order[i]!)!.notification;
      if (!filter.unread || !n.read) all.push(n);
    }
    const items = all.slice(filter.offset, filter.offset + filter.limit);
    return {
      items,
      total: all.length,
      limit: filter.limit,
      offset: filter.offset,
      hasMore: filter.offset + items.length < all.length,
      unread: this.unread,
    };
  }

  unreadCount(): number {
    return this.unread;
  }

  async markRead(id: string): Promise<Notification> {
    const entry = this.entries.get(id);
    if (!entry) throw new JoustingError('not_found', `notification ${id} does not exist`);
    if (entry.notification.read) return entry.notification;
    const notification = { ...entry.notification, read: true };
    await this.writes.put(id, notification);
    entry.notification = notification;
    this.unread--;
    return notification;
  }

  async markAllRead(): Promise<{ marked: number; unread: number }> {
    const unread = [...this.entries.values()].filter((e) => !e.notification.read);
    await Promise.all(
      unread.map(async (entry) => {
        const notification = { ...entry.notification, read: true };
        await this.writes.put(notification.id, notification);
        if (!entry.notification.read) this.unread--;
        entry.notification = notification;
      }),
    );
    return { marked: unread.length, unread: this.unread };
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  private insert(id: string) {
    // Almost always the newest: append, or walk back the few places it belongs.
    let i = this.order.length;
    while (i > 0 && this.order[i - 1]! > id) i--;
    this.order.splice(i, 0, id);
  }

  private async trim() {
    const drop = this.order.length - MAX_NOTIFICATIONS;
    if (drop <= 0) return;
    const removed = this.order.splice(0, drop);
    for (const id of removed) {
      const entry = this.entries.get(id);
      if (entry && !entry.notification.read) this.unread--;
      this.entries.delete(id);
    }
    await Promise.all(
      removed.map((id) =>
        this.writes
          .delete(id)
          .catch((err: unknown) => this.logger.warn({ err, id }, 'could not drop an old notification')),
      ),
    );
  }
}
