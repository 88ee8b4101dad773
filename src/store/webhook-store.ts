import type { EventType, OutboundEvent } from './event-types.js';

/** A signing secret (`whsec_` + base64). Two are live while a rotation's old one winds down. */
export interface WebhookSecret {
  readonly secret: string;
  readonly createdAt: string;
  /** Set on the previous secret at rotation: it signs until then. */
  readonly expiresAt: string | null;
}

export interface Subscription {
  /** `wh_` + base32. */
  readonly id: string;
  /** null: a site subscription (every event); else the lower-cased org whose events it sees. */
  readonly org: string | null;
  readonly url: string;
  readonly events: readonly EventType[];
  readonly secrets: readonly WebhookSecret[];
  readonly createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event on its way to one subscription; `id` is also the `webhook-id` header. */
export interface Delivery {
  readonly id: string;
  readonly subscriptionId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  /** Attempts started, counting one cut short by a crash. */
  readonly attempts: number;
  readonly createdAt: string;
  readonly lastAttemptAt: string | null;
  /** The receiver's status code on the last attempt; null when none came (timeout, refused). */
  readonly lastResponseCode: number | null;
  readonly lastError: string | null;
  /** When the next attempt is due; null once delivered or failed. */
  readonly nextAttemptAt: string | null;
}

/** An event read from the stream by this instance's consumer. */
export interface StreamedEvent {
  /** The stream id, `1712345678901-0`. */
  readonly streamId: string;
  /** null: an entry this version cannot read; it is acknowledged and skipped. */
  readonly event: OutboundEvent | null;
}

/** A due delivery this instance now holds until `leaseUntil`. */
export interface Claim {
  readonly delivery: Delivery;
  readonly subscription: Subscription | null;
  /** The serialised payload to send, byte for byte what is signed. */
  readonly payload: string;
  /** The claim token: completing checks it, so a claim that lapsed and was taken over cannot overwrite. */
  readonly lease: string;
  /** When this round of attempts began (creation or redelivery, epoch ms): the retry window counts from it. */
  readonly roundStart: number;
}

/** This instance's attempts in flight per subscription, and how many one subscription may hold. */
export interface ClaimCap {
  readonly perSubscription: number;
  /** Subscription id -> attempts in flight on this instance; absent means none. */
  readonly inFlight: ReadonlyMap<string, number>;
}

export type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly code: number; readonly at: number }
  | {
      readonly kind: 'retry';
      readonly code: number | null;
      readonly error: string;
      readonly at: number;
      readonly nextAt: number;
    }
  | { readonly kind: 'failed'; readonly code: number | null; readonly error: string; readonly at: number };

/**
 * Subscriptions, the delivery log and the delivery queue. The Redis implementation
 * is durable and shared by the fleet (a consumer group on the event stream, a
 * leased schedule for attempts); the memory one is one process, lost on restart.
 */
export interface WebhookStore {
  createSubscription(sub: Subscription): Promise<void>;
  /** `org` null: the site's subscriptions; else that org's. */
  listSubscriptions(org: string | null): Promise<Subscription[]>;
  getSubscription(id: string): Promise<Subscription | null>;
  /** Replaces the secrets (rotation). Null for an unknown id. */
  setSecrets(id: string, secrets: readonly WebhookSecret[]): Promise<Subscription | null>;
  deleteSubscription(id: string): Promise<boolean>;
  /** Site and org subscriptions alike, for fan-out. */
  allSubscriptions(): Promise<Subscription[]>;

  /** Newest first, at most `limit`. */
  listDeliveries(subscriptionId: string, limit: number): Promise<Delivery[]>;
  /** Queues the delivery again now with a fresh attempt budget; null for an unknown one. */
  redeliver(subscriptionId: string, deliveryId: string, now: number): Promise<Delivery | null>;

  /** New events for this consumer, and events a dead consumer held longer than `reclaimAfterMs`. */
  readEvents(
    consumer: string,
    count: number,
    blockMs: number,
    reclaimAfterMs: number,
  ): Promise<StreamedEvent[]>;
  /** Creates a pending delivery of the event for each subscription (idempotent), then acknowledges it. */
  fanOut(streamed: StreamedEvent, subscriptions: readonly Subscription[], now: number): Promise<void>;
  /**
   * Takes up to `max` due deliveries for `leaseMs`, counting an attempt on each. A due
   * delivery whose subscription already has `cap.perSubscription` attempts in flight here
   * (`cap.inFlight`, plus those taken in this call) is left as it is: still due, no attempt
   * counted, for a later call.
   */
  claimDue(now: number, max: number, leaseMs: number, cap: ClaimCap): Promise<Claim[]>;
  /** Records an attempt's outcome; false when the claim had lapsed (someone else holds it now). */
  complete(claim: Claim, outcome: AttemptOutcome): Promise<boolean>;
  close(): Promise<void>;
}

/** The delivery id (and `webhook-id`) of a stream entry: `msg_` + the stream id. */
export function deliveryIdOf(streamId: string): string {
  return `msg_${streamId.replace('-', '_')}`;
}

/** Which subscriptions an event reaches: the site's all, an org's only its own org's. */
export function subscribers(event: OutboundEvent, subs: readonly Subscription[]): Subscription[] {
  return subs.filter(
    (s) => s.events.includes(event.type) && (s.org === null || (event.org !== null && s.org === event.org)),
  );
}
