import {
  CreatedWebhook,
  Delivery,
  type DeliveryStatus,
  ErrorBody,
  type NewWebhook,
  Notification,
  NotificationPage,
  Page,
  RotatedWebhookSecret,
  Webhook,
  type WebhookPatch,
  WebhookTestResult,
} from '@jousting/contracts';
import { z } from 'zod';
import type { CommandContext } from './context.js';

const WebhookList = z.object({ items: z.array(Webhook) });
const DeliveryPage = Page(Delivery);
export type DeliveryPage = z.infer<typeof DeliveryPage>;
const Ok = z.object({ ok: z.literal(true) });
const MarkedAll = z.object({ marked: z.number().int(), unread: z.number().int() });
const _ErrorResponse = z.object({ error: ErrorBody });
const _TIMEOUT_MS = 30_000;

export interface PageQuery {
  limit?: number;
  offset?: number;
}

const webhookPath = (id: string, rest = '') => `/api/webhooks/${encodeURIComponent(id)}${rest}`;

function queryString(query: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The /api/webhooks and /api/notifications calls, with GatewayClient's conventions (Bearer token,
 * JSON, HttpError with the server's message and fields, ConnectionError when unreachable).
 */
export class NotifyApi {
  constructor(private readonly ctx: CommandContext) {}

  async webhooks(): Promise<Webhook[]> {
    return (await this.call('GET', '/api/webhooks', WebhookList)).items;
  }

  createWebhook(webhook: NewWebhook): Promise<CreatedWebhook> {
    return this.call('POST', '/api/webhooks', CreatedWebhook, webhook);
  }

  webhook(id: string): Promise<Webhook> {
    return this.call('GET', webhookPath(id), Webhook);
  }

  updateWebhook(id: string, patch: Partial<WebhookPatch>): Promise<Webhook> {
    return this.call('PATCH', webhookPath(id), Webhook, patch);
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.call('DELETE', webhookPath(id), Ok);
  }

  testWebhook(id: string): Promise<WebhookTestResult> {
    return this.call('POST', webhookPath(id, '/test'), WebhookTestResult);
  }

  deliveries(id: string, query: PageQuery & { status?: DeliveryStatus } = {}): Promise<DeliveryPage> {
    return this.call('GET', webhookPath(id, `/deliveries${queryString({ ...query })}`), DeliveryPage);
  }

  redeliver(id: string, deliveryId: string): Promise<Delivery> {
    const path = webhookPath(id, `/deliveries/${encodeURIComponent(deliveryId)}/redeliver`);
    return this.call('POST', path, Delivery);
  }

  rotateSecret(id: string): Promise<RotatedWebhookSecret> {
    return this.call('POST', webhookPath(id, '/rotate-secret'), RotatedWebhookSecret);
  }

  notifications(query: PageQuery & { unread?: boolean } = {}): Promise<NotificationPage> {
    return this.call('GET', `/api/notifications${queryString({ ...query })}`, NotificationPage);
  }

  readNotification(id: string): Promise<Notification> {
    return this.call('POST', `/api/notifications/${encodeURIComponent(id)}/read`, Notification);
  }

  readAllNotifications(): Promise<z.infer<typeof MarkedAll>> {
    return this.call('POST', '/api/notifications/read-all', MarkedAll);
  }

  private call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    return this.ctx.client.call(method, path, schema, body);
  }
}
