import { z } from 'zod';
import { type Command, command } from './commands.js';
import { Actor } from './settings.js';
import { SUBJECT_PATTERN_RE } from './subjects.js';
import { Page } from './tasks.js';

/** Deliveries kept per webhook (newest); older ones are dropped from the log. */
export const MAX_DELIVERIES_PER_WEBHOOK = 100;
/** Attempts kept per delivery (the newest; `attemptCount` counts them all). */
export const MAX_ATTEMPTS_LISTED = 20;
/** Notifications kept in the inbox (newest). */
export const MAX_NOTIFICATIONS = 500;
/** How long the previous signing secret still signs after a rotation. */
export const WEBHOOK_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;
/** A delivery attempt that has no complete response within this is a failed attempt. */
export const WEBHOOK_TIMEOUT_MS = 15_000;
/** Event type of a test delivery; never published on NATS. */
export const WEBHOOK_TEST_EVENT_TYPE = 'webhook.test';
/**
 * Event types never delivered to webhooks: each delivery (or failure) would announce itself and
 * be delivered again, forever.
 */
export const WEBHOOK_SELF_EVENTS = ['notify.webhook-delivered', 'notify.webhook-failed'] as const;

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const actorFields = { actor: Actor, traceId: z.string().optional() };

export const WebhookId = z.string().regex(ULID_RE, 'a webhook id (26-character ULID)');
export const DeliveryId = z.string().regex(ULID_RE, 'a delivery id (26-character ULID)');
export const NotificationId = z.string().regex(ULID_RE, 'a notification id (26-character ULID)');

export const WebhookFormat = z
  .enum(['generic', 'slack', 'discord'])
  .describe('generic: the CloudEvent as JSON; slack: {text, blocks}; discord: {content, embeds}')
  .meta({ id: 'WebhookFormat' });
export type WebhookFormat = z.infer<typeof WebhookFormat>;

/** `whsec_` + base64 of 32 random bytes (Standard Webhooks). */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{43}=$/, 'whsec_ followed by the base64 of 32 bytes');

export const WebhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
  .max(2048)
  .describe(
    'http or https; refused when the host resolves to a loopback, private, link-local or metadata address unless the setting webhookAllowPrivateUrls is on',
  );

export const EventPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(
    SUBJECT_PATTERN_RE,
    'a NATS subject pattern over event types, e.g. "coord.*", "settings.changed" or ">"',
  );

const webhookFields = {
  url: WebhookUrl,
  events: z.array(EventPattern).min(1).max(50).describe('Event types to deliver, as NATS wildcards'),
  format: WebhookFormat,
  label: z.string().trim().min(1).max(100),
  active: z.boolean(),
  description: z.string().max(1000).optional(),
};

/** What a caller sends to register a webhook. */
export const NewWebhook = z
  .object({
    ...webhookFields,
    format: webhookFields.format.default('generic'),
    active: webhookFields.active.default(true),
  })
  .strict()
  .meta({ id: 'NewWebhook' });
export type NewWebhook = z.input<typeof NewWebhook>;

/** A partial update; an omitted field keeps its value. `active: true` re-enables a disabled endpoint. */
export const WebhookPatch = z
  .object({
    url: webhookFields.url.optional(),
    events: webhookFields.events.optional(),
    format: webhookFields.format.optional(),
    label: webhookFields.label.optional(),
    active: webhookFields.active.optional(),
    description: webhookFields.description.nullable().describe('null removes it'),
  })
  .strict()
  .meta({ id: 'WebhookPatch' });
export type WebhookPatch = z.infer<typeof WebhookPatch>;

/** How an endpoint has been doing: what decides when it gets disabled. */
export const WebhookHealth = z
  .object({
    consecutiveFailures: z.number().int().min(0).describe('Failed attempts since the last successful one'),
    failingSince: z.iso
      .datetime()
      .optional()
      .describe('First failed attempt of the current failure streak; absent while healthy'),
    lastAttemptAt: z.iso.datetime().optional(),
    lastSuccessAt: z.iso.datetime().optional(),
    lastResponseStatus: z.number().int().optional(),
    lastError: z.string().optional(),
  })
  .meta({ id: 'WebhookHealth' });
export type WebhookHealth = z.infer<typeof WebhookHealth>;

/** A registered webhook as listed: never its secret. */
export const Webhook = z
  .object({
    id: WebhookId,
    ...webhookFields,
    hasSecret: z.boolean(),
    previousSecretValidUntil: z.iso
      .datetime()
      .optional()
      .describe('After a rotation the previous secret also signs until then'),
    state: WebhookHealth,
    disabledReason: z
      .string()
      .optional()
      .describe('Why the notifier switched it off (410 Gone, failing too long); cleared by active: true'),
    disabledAt: z.iso.datetime().optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const CreatedWebhook = Webhook.extend({
  secret: WebhookSecret.describe('The signing secret, shown once'),
}).meta({ id: 'CreatedWebhook' });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

export const RotatedWebhookSecret = z
  .object({
    webhook: Webhook,
    secret: WebhookSecret.describe('The new signing secret, shown once'),
    previousSecretValidUntil: z.iso.datetime(),
  })
  .meta({ id: 'RotatedWebhookSecret' });
export type RotatedWebhookSecret = z.infer<typeof RotatedWebhookSecret>;

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const DeliveryAttempt = z
  .object({
    at: z.iso.datetime(),
    responseStatus: z.number().int().optional().describe('Absent when no response came'),
    durationMs: z.number().int().min(0),
    error: z.string().optional().describe('Why the attempt failed: status, timeout, network error'),
  })
  .meta({ id: 'DeliveryAttempt' });
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

/** One event on its way to one webhook; `id` is also the `webhook-id` header (stable across retries). */
export const Delivery = z
  .object({
    id: DeliveryId,
    webhookId: WebhookId,
    eventId: z.string(),
    eventType: z.string(),
    status: DeliveryStatus,
    attempts: z.array(DeliveryAttempt).describe(`The newest ${MAX_ATTEMPTS_LISTED}, oldest first`),
    attemptCount: z.number().int().min(0),
    nextAttemptAt: z.iso.datetime().optional().describe('When pending: the next try'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryFilter = z
  .object({
    status: DeliveryStatus.optional(),
    limit: z.number().int().min(1).max(MAX_DELIVERIES_PER_WEBHOOK).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();

/** The answer to a test delivery (`webhook.test`, sent once, no retry). */
export const WebhookTestResult = z
  .object({
    eventId: z.string(),
    delivered: z.boolean().describe('A 2xx response came within the timeout'),
    responseStatus: z.number().int().optional(),
    responseBody: z.string().optional().describe('The first 1,000 characters of the response body'),
    durationMs: z.number().int().min(0),
    error: z.string().optional(),
  })
  .meta({ id: 'WebhookTestResult' });
export type WebhookTestResult = z.infer<typeof WebhookTestResult>;

export const NotificationKind = z.enum([
  'task-failed',
  'dead-lettered',
  'budget-warning',
  'budget-exceeded',
  'circuit-opened',
  'webhook-disabled',
  'settings-rejected',
  'backup-done',
  'backup-failed',
]);
export type NotificationKind = z.infer<typeof NotificationKind>;
export const NotificationSeverity = z.enum(['info', 'warning', 'error']);
export type NotificationSeverity = z.infer<typeof NotificationSeverity>;

/** Something an operator must see, made from an event. */
export const Notification = z
  .object({
    id: NotificationId,
    kind: NotificationKind,
    severity: NotificationSeverity,
    title: z.string(),
    body: z.string(),
    link: z.string().optional().describe('UI path of what it is about, e.g. /tasks/<id>'),
    eventId: z.string().describe('The event it was made from'),
    createdAt: z.iso.datetime(),
    read: z.boolean(),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof Notification>;

export const NotificationFilter = z
  .object({
    unread: z.boolean().optional().describe('true: only unread ones'),
    limit: z.number().int().min(1).max(MAX_NOTIFICATIONS).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();

export const NotificationPage = Page(Notification)
  .extend({ unread: z.number().int().min(0).describe('Unread notifications in the whole inbox') })
  .meta({ id: 'NotificationPage' });
export type NotificationPage = z.infer<typeof NotificationPage>;

export const UnreadCount = z.object({ unread: z.number().int().min(0) });

/** Commands of the notifier service (`api.notifier.*`). */
export const notifierCommands = {
  webhookCreate: command(
    'notifier',
    'webhook-create',
    NewWebhook.extend(actorFields),
    CreatedWebhook,
    'Register a webhook; the reply carries the signing secret, the only time it is shown.',
  ),
  webhookList: command(
    'notifier',
    'webhook-list',
    z.object({}).strict(),
    z.object({ items: z.array(Webhook) }),
    'Every webhook, oldest first, without secrets.',
  ),
  webhookGet: command(
    'notifier',
    'webhook-get',
    z.object({ id: WebhookId }).strict(),
    Webhook,
    'One webhook.',
  ),
  webhookUpdate: command(
    'notifier',
    'webhook-update',
    WebhookPatch.extend({ id: WebhookId, ...actorFields }),
    Webhook,
    'Change a webhook; active: true re-enables a disabled one and clears its failure streak.',
  ),
  webhookDelete: command(
    'notifier',
    'webhook-delete',
    z.object({ id: WebhookId, ...actorFields }).strict(),
    z.object({ id: WebhookId, deleted: z.literal(true) }),
    'Delete a webhook, its delivery log and its secrets; pending deliveries are dropped.',
  ),
  webhookTest: command(
    'notifier',
    'webhook-test',
    z.object({ id: WebhookId, ...actorFields }).strict(),
    WebhookTestResult,
    `Send one signed ${WEBHOOK_TEST_EVENT_TYPE} event now, without retries, and report the response.`,
  ),
  webhookDeliveries: command(
    'notifier',
    'webhook-deliveries',
    DeliveryFilter.extend({ id: WebhookId }),
    Page(Delivery),
    `The delivery log of a webhook, newest first (the last ${MAX_DELIVERIES_PER_WEBHOOK}).`,
  ),
  webhookRedeliver: command(
    'notifier',
    'webhook-redeliver',
    z.object({ id: WebhookId, deliveryId: DeliveryId, ...actorFields }).strict(),
    Delivery,
    'Send a logged delivery again now, with a fresh retry schedule (same webhook-id header).',
  ),
  webhookRotateSecret: command(
    'notifier',
    'webhook-rotate-secret',
    z.object({ id: WebhookId, ...actorFields }).strict(),
    RotatedWebhookSecret,
    'New signing secret, shown once; the previous one keeps signing (both signatures sent) for 24 h.',
  ),
  notificationsList: command(
    'notifier',
    'notifications-list',
    NotificationFilter,
    NotificationPage,
    `The inbox, newest first (the last ${MAX_NOTIFICATIONS}), with the unread count.`,
  ),
  notificationsUnreadCount: command(
    'notifier',
    'notifications-unread-count',
    z.object({}).strict(),
    UnreadCount,
    'Unread notifications.',
  ),
  notificationsMarkRead: command(
    'notifier',
    'notifications-mark-read',
    z.object({ id: NotificationId }).strict(),
    Notification,
    'Mark one notification as read.',
  ),
  notificationsMarkAllRead: command(
    'notifier',
    'notifications-mark-all-read',
    z.object({}).strict(),
    z.object({ marked: z.number().int().min(0), unread: z.number().int().min(0) }),
    'Mark every notification as read.',
  ),
} satisfies Record<string, Command>;

const deliveryRef = {
  webhookId: WebhookId,
  deliveryId: DeliveryId,
  eventId: z.string(),
  eventType: z.string(),
};

/** Event data of the notifier's events. */
export const NOTIFY_EVENT_DATA = {
  'notify.webhook-delivered': z
    .object({
      ...deliveryRef,
      attempt: z.number().int().min(1),
      responseStatus: z.number().int(),
      durationMs: z.number().int().min(0),
    })
    .meta({ id: 'WebhookDeliveredData', description: 'An endpoint answered 2xx to a delivery.' }),
  'notify.webhook-failed': z
    .object({
      ...deliveryRef,
      attempts: z.number().int().min(0).describe('0 when the endpoint was disabled before the first attempt'),
      lastResponseStatus: z.number().int().optional(),
      lastError: z.string(),
    })
    .meta({
      id: 'WebhookFailedData',
      description: 'A delivery ran out of retries (or its endpoint was disabled) and will not be sent again.',
    }),
  'notify.webhook-disabled': z
    .object({
      webhookId: WebhookId,
      label: z.string(),
      origin: z
        .string()
        .describe(
          'Scheme, host and port of the URL only: Slack and Discord URLs carry credentials in the path',
        ),
      reason: z.string(),
      failingSince: z.iso.datetime().optional(),
    })
    .meta({
      id: 'WebhookDisabledData',
      description: 'The notifier switched an endpoint off (410 Gone, or failing longer than allowed).',
    }),
  'notify.created': z
    .object({ notification: Notification })
    .meta({ id: 'NotificationCreatedData', description: 'A new notification is in the inbox.' }),
} as const;
