import type { AuditEvent } from './audit-log.js';

/** Every event a webhook subscription can ask for (CONTRACT.md, "Admin API"). */
export const EVENT_TYPES = [
  'token.created',
  'token.requested',
  'token.approved',
  'token.denied',
  'token.revoked',
  'token.regenerated',
  'token.expiring',
  'token.expired',
  'token.leaked',
  'member.added',
  'member.removed',
  'policy.changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One event as it sits in the event stream and travels to receivers: the Standard
 * Webhooks payload shape (`type`, `timestamp`, `data`). `org` routes it: an org
 * subscription sees only events whose `org` is its own. Tokens are named by id;
 * a secret or its hash never appears here.
 */
export interface OutboundEvent {
  readonly type: EventType;
  readonly timestamp: string;
  readonly org: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The webhook events an audit entry means; none for bookkeeping such as invitations. */
export function eventsFromAudit(entry: Omit<AuditEvent, 'id'>): OutboundEvent[] {
  const types = typesOf(entry);
  if (types.length === 0) return [];
  const data = {
    org: entry.org,
    token_id: entry.tokenId,
    user: entry.user,
    reason: entry.reason,
    actor: actorOf(entry.actor),
    details: entry.details,
  };
  return types.map((type) => ({ type, timestamp: entry.at, org: entry.org, data }));
}

function typesOf(entry: Omit<AuditEvent, 'id'>): EventType[] {
  switch (entry.action) {
    case 'token.create':
      // A request for approval is also a creation: a subscriber to either hears of it.
      return entry.details.status === 'pending' ? ['token.created', 'token.requested'] : ['token.created'];
    case 'token.approve':
      return ['token.approved'];
    case 'token.deny':
      return ['token.denied'];
    case 'token.revoke':
      return ['token.revoked'];
    case 'token.regenerate':
      return ['token.regenerated'];
    case 'token.leak':
      return ['token.leaked'];
    case 'org.member.set':
      return entry.details.previous_role === null ? ['member.added'] : [];
    case 'org.member.accept':
      return ['member.added'];
    case 'org.member.remove':
      return ['member.removed'];
    case 'org.policy.update':
      return ['policy.changed'];
    case 'org.member.invite':
    case 'org.member.uninvite':
      return [];
  }
}

function actorOf(actor: AuditEvent['actor']): Record<string, unknown> {
  if (actor.kind === 'site_admin') return { kind: 'site_admin' };
  if (actor.kind === 'system') return { kind: 'system', source: actor.source };
  return { kind: actor.kind, user: actor.user };
}

/** Where `append` writes events: the Redis stream key, or an in-process sink (memory store). */
export interface EventSink {
  publish(events: readonly OutboundEvent[]): void;
}

/** The body a receiver gets, byte for byte what is signed. */
export function payloadOf(event: OutboundEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
