import { z } from 'zod';
import { AUTH_ERRORS, type HttpRoute, ok } from './http-route.js';
import {
  CreatedWebhook,
  Delivery,
  DeliveryId,
  DeliveryStatus,
  MAX_DELIVERIES_PER_WEBHOOK,
  MAX_NOTIFICATIONS,
  NewWebhook,
  Notification,
  NotificationId,
  NotificationPage,
  RotatedWebhookSecret,
  Webhook,
  WebhookId,
  WebhookPatch,
  WebhookTestResult,
} from './notify.js';
import { Page } from './tasks.js';

export const WebhookIdParams = z.object({ id: WebhookId });
export const DeliveryParams = z.object({ id: WebhookId, deliveryId: DeliveryId });
export const NotificationIdParams = z.object({ id: NotificationId });
export const DeliveryListQuery = z
  .object({
    status: DeliveryStatus.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_DELIVERIES_PER_WEBHOOK).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export const NotificationListQuery = z
  .object({
    unread: z.enum(['true', 'false']).optional().describe('true: only unread notifications'),
    limit: z.coerce.number().int().min(1).max(MAX_NOTIFICATIONS).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/**
 * Webhooks and the notifications inbox (services/notifier). Webhook URLs can hold credentials
 * (Slack and Discord put them in the path), so even reading them needs an operator; changing
 * where data is sent needs an admin.
 */
export const NOTIFY_ROUTES = [
  {
    id: 'listWebhooks',
    method: 'get',
    path: '/api/webhooks',
    summary: 'Every webhook, without secrets (hasSecret says whether one is set)',
    tag: 'webhooks',
    role: 'operator',
    response: z.object({ items: z.array(Webhook) }),
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'createWebhook',
    method: 'post',
    path: '/api/webhooks',
    summary: 'Register a webhook; the signing secret is returned once',
    tag: 'webhooks',
    role: 'admin',
    body: NewWebhook,
    response: CreatedWebhook,
    status: 201,
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'getWebhook',
    method: 'get',
    path: '/api/webhooks/{id}',
    summary: 'One webhook with its health (failure streak, why it was disabled)',
    tag: 'webhooks',
    role: 'operator',
    params: WebhookIdParams,
    response: Webhook,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'updateWebhook',
    method: 'patch',
    path: '/api/webhooks/{id}',
    summary: 'Change a webhook; active: true re-enables a disabled one',
    tag: 'webhooks',
    role: 'admin',
    params: WebhookIdParams,
    body: WebhookPatch,
    response: Webhook,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'deleteWebhook',
    method: 'delete',
    path: '/api/webhooks/{id}',
    summary: 'Delete a webhook, its delivery log and its secret',
    tag: 'webhooks',
    role: 'admin',
    params: WebhookIdParams,
    response: ok,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'testWebhook',
    method: 'post',
    path: '/api/webhooks/{id}/test',
    summary: 'Send one signed webhook.test event now (no retry) and show the response',
    tag: 'webhooks',
    role: 'admin',
    params: WebhookIdParams,
    response: WebhookTestResult,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'listWebhookDeliveries',
    method: 'get',
    path: '/api/webhooks/{id}/deliveries',
    summary: `Delivery log of a webhook, newest first (the last ${MAX_DELIVERIES_PER_WEBHOOK})`,
    tag: 'webhooks',
    role: 'operator',
    params: WebhookIdParams,
    query: DeliveryListQuery,
    response: Page(Delivery),
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'redeliverWebhookDelivery',
    method: 'post',
    path: '/api/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    summary: 'Send a logged delivery again now, with a fresh retry schedule',
    tag: 'webhooks',
    role: 'admin',
    params: DeliveryParams,
    response: Delivery,
    errors: [400, 404, 409, 503, ...AUTH_ERRORS],
  },
  {
    id: 'rotateWebhookSecret',
    method: 'post',
    path: '/api/webhooks/{id}/rotate-secret',
    summary: 'New signing secret, returned once; the previous one keeps signing for 24 h',
    tag: 'webhooks',
    role: 'admin',
    params: WebhookIdParams,
    response: RotatedWebhookSecret,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
  {
    id: 'listNotifications',
    method: 'get',
    path: '/api/notifications',
    summary: `The notifications inbox, newest first (the last ${MAX_NOTIFICATIONS}), with the unread count`,
    tag: 'notifications',
    role: 'viewer',
    query: NotificationListQuery,
    response: NotificationPage,
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'readAllNotifications',
    method: 'post',
    path: '/api/notifications/read-all',
    summary: 'Mark every notification as read',
    tag: 'notifications',
    role: 'operator',
    response: z.object({ marked: z.number().int().min(0), unread: z.number().int().min(0) }),
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'readNotification',
    method: 'post',
    path: '/api/notifications/{id}/read',
    summary: 'Mark one notification as read',
    tag: 'notifications',
    role: 'operator',
    params: NotificationIdParams,
    response: Notification,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
] as const satisfies readonly HttpRoute[];
