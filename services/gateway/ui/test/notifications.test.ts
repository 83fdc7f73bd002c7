import type { Notification, NotificationPage } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../src/live';
import {
  BELL_ITEMS,
  badgeText,
  type InboxApi,
  inboxFor,
  NotificationInbox,
  parseNotificationCreated,
  safeLink,
} from '../src/notifications';

const T0 = '2026-01-02T03:04:05.000Z';
const note = (id: string, read = false): Notification => ({
  id,
  kind: 'dead-lettered',
  severity: 'error',
  title: `dead-lettered ${id}`,
  body: 'exited with code 3',
  link: `/tasks/${id}`,
  eventId: `ev-${id}`,
  createdAt: T0,
  read,
});

let seq = 0;
const created = (n: unknown): LiveEvent => ({
  seq: ++seq,
  replayed: false,
  event: {
    specversion: '1.0',
    id: `e${seq}`,
    source: 'notifier',
    type: 'notify.created',
    time: T0,
    datacontenttype: 'application/json',
    data: { notification: n },
  } as LiveEvent['event'],
});

/** A stand-in for the three /api/notifications calls, with answers the test can hold back. */
function fakeApi(page: NotificationPage) {
  const calls: string[] = [];
  const held: Array<() => void> = [];
  let hold = false;
  const api: InboxApi = {
    async request<T>(method: string, path: string): Promise<T> {
      calls.push(`${method} ${path}`);
      let answer: unknown;
      if (method === 'GET') answer = structuredClone(page);
      else if (path.endsWith('/read-all')) answer = { marked: page.unread, unread: 0 };
      else answer = { ...note(path.split('/')[3] ?? ''), read: true };
      if (hold) await new Promise<void>((resolve) => held.push(resolve));
      return answer as T;
    },
  };
  return {
    api,
    calls,
    holdAnswers: () => {
      hold = true;
    },
    release: () => {
      for (const r of held.splice(0)) r();
    },
  };
}

const page = (items: Notification[], unread: number): NotificationPage => ({
  items,
  total: items.length,
  limit: BELL_ITEMS,
  offset: 0,
  hasMore: false,
  unread,
});

describe('NotificationInbox', () => {
  it('loads the count and the newest few, then counts each notify.created once', async () => {
    const fake = fakeApi(page([note('N2'), note('N1', true)], 1));
    const inbox = new NotificationInbox(fake.api);
    let renders = 0;
    inbox.subscribe(() => renders++);
    await inbox.load();
    expect(fake.calls).toEqual([`GET /api/notifications?limit=${BELL_ITEMS}`]);
    expect(inbox.getSnapshot()).toMatchObject({ unread: 1, loaded: true });

    const event = created(note('N3'));
    expect(inbox.apply(event)?.id).toBe('N3');
    expect(inbox.apply({ ...event, seq: ++seq, replayed: true })).toBeUndefined();
    expect(inbox.getSnapshot().unread).toBe(2);
    expect(inbox.getSnapshot().newest.map((n) => n.id)).toEqual(['N3', 'N2', 'N1']);
    expect(renders).toBe(2);
  });

  it('keeps only the newest BELL_ITEMS', () => {
    const inbox = new NotificationInbox(fakeApi(page([], 0)).api);
    for (let i = 0; i < BELL_ITEMS + 3; i++) inbox.apply(created(note(`N${i}`)));
    expect(inbox.getSnapshot().newest).toHaveLength(BELL_ITEMS);
    expect(inbox.getSnapshot().newest[0]?.id).toBe(`N${BELL_ITEMS + 2}`);
    expect(inbox.getSnapshot().unread).toBe(BELL_ITEMS + 3);
  });

  it('a read overtaken by a live notification is read again, so the count neither drops nor doubles', async () => {
    const served = page([note('N1')], 1);
    const fake = fakeApi(served);
    const inbox = new NotificationInbox(fake.api);
    fake.holdAnswers();
    const loading = inbox.load();
    await Promise.resolve();
    // The server answered before N2 existed; the event arrives before the answer does.
    served.items = [note('N2'), note('N1')];
    served.unread = 2;
    inbox.apply(created(note('N2')));
    expect(inbox.getSnapshot().unread).toBe(1);
    fake.release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    fake.release();
    await loading;
    expect(fake.calls).toHaveLength(2);
    expect(inbox.getSnapshot()).toMatchObject({ unread: 2, loaded: true });
    expect(inbox.getSnapshot().newest.map((n) => n.id)).toEqual(['N2', 'N1']);
  });

  it('mark read lowers the count once; mark all read sets what the server says', async () => {
    const fake = fakeApi(page([note('N2'), note('N1')], 5));
    const inbox = new NotificationInbox(fake.api);
    await inbox.load();
    await inbox.markRead('N2');
    expect(fake.calls.at(-1)).toBe('POST /api/notifications/N2/read');
    expect(inbox.getSnapshot().unread).toBe(4);
    inbox.noteRead('N2');
    expect(inbox.getSnapshot().unread).toBe(4);
    expect(inbox.getSnapshot().newest.find((n) => n.id === 'N2')?.read).toBe(true);
    await inbox.markAllRead();
    expect(fake.calls.at(-1)).toBe('POST /api/notifications/read-all');
    expect(inbox.getSnapshot().unread).toBe(0);
    expect(inbox.getSnapshot().newest.every((n) => n.read)).toBe(true);
  });

  it('keeps the last count and reports a failed load', async () => {
    const inbox = new NotificationInbox({
      request: async () => {
        throw new Error('Cannot reach the gateway');
      },
    });
    inbox.apply(created(note('N1')));
    await inbox.load();
    expect(inbox.getSnapshot()).toMatchObject({ unread: 1, error: 'Cannot reach the gateway' });
  });

  it('is one per owner', () => {
    const api = fakeApi(page([], 0)).api;
    const owner = {};
    expect(inboxFor(owner, api)).toBe(inboxFor(owner, api));
    expect(inboxFor({}, api)).not.toBe(inboxFor(owner, api));
  });
});

describe('notification helpers', () => {
  it('accepts only well-formed notify.created data', () => {
    expect(parseNotificationCreated(created(note('N1')).event)?.title).toBe('dead-lettered N1');
    expect(
      parseNotificationCreated({ type: 'notify.created', data: { notification: { id: 'x' } } }),
    ).toBeUndefined();
    expect(
      parseNotificationCreated({
        type: 'notify.created',
        data: { notification: { ...note('N1'), severity: 'fatal' } },
      }),
    ).toBeUndefined();
    expect(
      parseNotificationCreated({ type: 'coord.task-created', data: { notification: note('N1') } }),
    ).toBeUndefined();
  });

  it('follows only links inside the app', () => {
    expect(safeLink('/tasks/abc')).toBe('/tasks/abc');
    expect(safeLink('https://evil.example')).toBeUndefined();
    expect(safeLink('//evil.example/x')).toBeUndefined();
    expect(safeLink(undefined)).toBeUndefined();
  });

  it('caps the badge at 9+', () => {
    expect(badgeText(3)).toBe('3');
    expect(badgeText(10)).toBe('9+');
  });
});
