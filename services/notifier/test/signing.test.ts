import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signPayload, webhookHeaders } from '../src/signing.js';

const body = JSON.stringify({ specversion: '1.0', id: 'e1', type: 'coord.task-created', data: { n: 1 } });

describe('webhook signing', () => {
  it('makes secrets of whsec_ and 32 random bytes in base64', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('signs so that the standardwebhooks library verifies the delivery', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders(
      [secret],
      '01JD0000000000000000000000',
      Math.floor(Date.now() / 1000),
      body,
    );
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('produces the same signature as the reference implementation', () => {
    const secret = newWebhookSecret();
    const at = new Date(1_700_000_000_000);
    expect(signPayload(secret, 'msg_1', 1_700_000_000, body)).toBe(
      new Webhook(secret).sign('msg_1', at, body),
    );
  });

  it('fails verification for a changed body, another secret or a stale timestamp', () => {
    const secret = newWebhookSecret();
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([secret], 'msg_2', now, body);
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    const stale = webhookHeaders([secret], 'msg_2', now - 3600, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(WebhookVerificationError);
  });

  it('after a rotation sends both signatures, and a receiver with either secret accepts', () => {
    const previous = newWebhookSecret();
    const current = newWebhookSecret();
    const headers = webhookHeaders([current, previous], 'msg_3', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(previous).verify(body, headers)).toBeTruthy();
    expect(new Webhook(current).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
  });
});
