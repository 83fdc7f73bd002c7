/**
 * NATS subject names. Events are published on their CloudEvent type (`<domain>.<event>`),
 * commands on `api.<service>.<op>`, audit entries on `audit.<domain>.<action>`.
 */
export const EVENT_DOMAINS = ['settings', 'coord', 'fleet', 'backup', 'notify', 'gateway'] as const;
export type EventDomain = (typeof EVENT_DOMAINS)[number];

export const STREAMS = {
  events: { name: 'EVENTS', subjects: EVENT_DOMAINS.map((d) => `${d}.>`) },
  audit: { name: 'AUDIT', subjects: ['audit.>'] },
} as const;

/** Services the gateway's readiness requires to answer their health command. */
export const SERVICE_NAMES = ['settings', 'coordinator'] as const;
/**
 * Every process of the stack in start order (they stop in reverse): the worker after the
 * coordinator, whose worker token it reads; the gateway last, so what it reports on is there.
 */
export const STACK_SERVICES = ['settings', 'coordinator', 'worker', 'notifier', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const commandSubject = (service: string, op: string) => `api.${service}.${op}`;
export const healthSubject = (service: string) => commandSubject(service, 'health');
export const auditSubject = (domain: string, action: string) => `audit.${domain}.${action}`;

/**
 * NATS wildcard matching over dot-separated tokens: `*` matches one token, `>` the rest (one or
 * more). Used to match event types against subscription patterns outside NATS (WS clients,
 * webhooks).
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

/** A subscription pattern: dot-separated tokens, `*` for one, `>` only last. */
export const SUBJECT_PATTERN_RE = /^(?:[A-Za-z0-9_-]+|\*)(?:\.(?:[A-Za-z0-9_-]+|\*))*(?:\.>)?$|^>$/;
