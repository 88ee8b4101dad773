import { type EventSink, type OutboundEvent, payloadOf } from './event-types.js';
import {
  type AttemptOutcome,
  type Claim,
  type ClaimCap,
  type Delivery,
  deliveryIdOf,
  type StreamedEvent,
  type Subscription,
  type WebhookSecret,
  type WebhookStore,
} from './webhook-store.js';

interface Entry {
  delivery: Delivery;
  payload: string;
  roundStart: number;
  dueAt: number | null;
  lease: string;
}

const DELIVERIES_KEPT = 1_000;

/**
 * The in-process equivalent of RedisWebhookStore, for the memory store: the same
 * interface and the same delivery rules, but NOT durable: queued events and
 * deliveries die with the process, and only this process delivers. It is also the
 * event sink of MemoryAuditLog.
 */
export class MemoryWebhookStore implements WebhookStore, EventSink {
  readonly #subs = new Map<string, Subscription>();
  readonly #deliveries = new Map<string, Map<string, Entry>>();
  readonly #queue: StreamedEvent[] = [];
  #sequence = 0;
  #leases = 0;
  #wake: (() => void) | null = null;

  publish(events: readonly OutboundEvent[]): void {
    const ms = Date.now();
    for (const event of events) this.#queue.push({ streamId: `${ms}-${this.#sequence++}`, event });
    this.#wake?.();
  }

  async createSubscription(sub: Subscription): Promise<void> {
    this.#subs.set(sub.id, structuredClone(sub));
  }

  async listSubscriptions(org: string | null): Promise<Subscription[]> {
    return [...this.#subs.values()].filter((s) => s.org === org).map((s) => structuredClone(s));
  }

  async allSubscriptions(): Promise<Subscription[]> {
    return [...this.#subs.values()].map((s) => structuredClone(s));
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const sub = this.#subs.get(id);
    return sub === undefined ? null : structuredClone(sub);
  }

  async setSecrets(id: string, secrets: readonly WebhookSecret[]): Promise<Subscription | null> {
    const sub = this.#subs.get(id);
    if (sub === undefined) return null;
    const next = { ...sub, secrets: [...secrets] };
    this.#subs.set(id, next);
    return structuredClone(next);
  }

  async deleteSubscription(id: string): Promise<boolean> {
    this.#deliveries.delete(id);
    return this.#subs.delete(id);
  }

  async listDeliveries(subscriptionId: string, limit: number): Promise<Delivery[]> {
    const entries = [...(this.#deliveries.get(subscriptionId)?.values() ?? [])];
    return entries
      .reverse()
      .slice(0, limit)
      .map((e) => ({ ...e.delivery }));
  }

  async redeliver(subscriptionId: string, deliveryId: string, now: number): Promise<Delivery | null> {
    const entry = this.#deliveries.get(subscriptionId)?.get(deliveryId);
    if (entry === undefined) return null;
    entry.delivery = {
      ...entry.delivery,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: new Date(now).toISOString(),
    };
    entry.roundStart = now;
    entry.dueAt = now;
    entry.lease = '';
    return { ...entry.delivery };
  }

  async readEvents(_consumer: string, count: number, blockMs: number): Promise<StreamedEvent[]> {
    if (this.#queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, blockMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#queue.splice(0, count);
  }

  async fanOut(streamed: StreamedEvent, subscriptions: readonly Subscription[], now: number): Promise<void> {
    const { event } = streamed;
    if (event === null) return;
    const id = deliveryIdOf(streamed.streamId);
    for (const sub of subscriptions) {
      let log = this.#deliveries.get(sub.id);
      if (log === undefined) {
        log = new Map();
        this.#deliveries.set(sub.id, log);
      }
      if (log.has(id)) continue;
      const at = new Date(now).toISOString();
      log.set(id, {
        delivery: {
          id,
          subscriptionId: sub.id,
          eventType: event.type,
          status: 'pending',
          attempts: 0,
          createdAt: at,
          lastAttemptAt: null,
          lastResponseCode: null,
          lastError: null,
          nextAttemptAt: at,
        },
        payload: payloadOf(event),
        roundStart: now,
        dueAt: now,
        lease: '',
      });
      while (log.size > DELIVERIES_KEPT) {
        const oldest = log.keys().next().value;
        if (oldest === undefined) break;
        log.delete(oldest);
      }
    }
  }

  async claimDue(now: number, max: number, leaseMs: number, cap: ClaimCap): Promise<Claim[]> {
    const claims: Claim[] = [];
    for (const [subId, log] of this.#deliveries) {
      let held = cap.inFlight.get(subId) ?? 0;
      for (const entry of log.values()) {
        if (claims.length >= max) return claims;
        // The rest of this subscription's due deliveries wait for one of its attempts to end.
        if (held >= cap.perSubscription) break;
        if (entry.dueAt === null || entry.dueAt > now) continue;
        held++;
        entry.dueAt = now + leaseMs;
        entry.lease = String(++this.#leases);
        entry.delivery = {
          ...entry.delivery,
          attempts: entry.delivery.attempts + 1,
          lastAttemptAt: new Date(now).toISOString(),
        };
        claims.push({
          delivery: { ...entry.delivery },
          subscription: this.#subs.get(subId) ?? null,
          payload: entry.payload,
          lease: entry.lease,
          roundStart: entry.roundStart,
        });
      }
    }
    return claims;
  }

  async complete(claim: Claim, outcome: AttemptOutcome): Promise<boolean> {
    const entry = this.#deliveries.get(claim.delivery.subscriptionId)?.get(claim.delivery.id);
    if (entry === undefined || entry.lease !== claim.lease) return false;
    const nextAt = outcome.kind === 'retry' ? outcome.nextAt : null;
    entry.dueAt = nextAt;
    entry.lease = '';
    entry.delivery = {
      ...entry.delivery,
      status: outcome.kind === 'retry' ? 'pending' : outcome.kind,
      lastResponseCode: outcome.code,
      lastError: outcome.kind === 'delivered' ? null : outcome.error,
      nextAttemptAt: nextAt === null ? null : new Date(nextAt).toISOString(),
    };
    return true;
  }

  async close(): Promise<void> {
    this.#wake?.();
  }
}
