import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../observability/logger.js';
import { type AttemptOutcome, type Claim, subscribers, type WebhookStore } from '../store/webhook-store.js';
import { type BackoffOptions, retryDelay } from './backoff.js';
import type { WebhookSender } from './sender.js';
import { signedHeaders } from './signing.js';

export interface DeliveryWorkerOptions {
  readonly store: WebhookStore;
  readonly sender: WebhookSender;
  readonly logger: Logger;
  /** Attempts per delivery before it is marked failed. */
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  /** No retry is scheduled past this long after the first attempt (24 h). */
  readonly retryWindowMs: number;
  /** Attempts in flight at once on this instance. */
  readonly concurrency: number;
  /**
   * Attempts in flight at once on this instance for one subscription: a receiver that never
   * answers holds at most this many of the `concurrency` slots, never all of them.
   */
  readonly concurrencyPerSubscription: number;
  /** How often an idle worker looks for due retries. */
  readonly pollIntervalMs: number;
  /** How long a claimed attempt is this instance's; past it another instance may take it. */
  readonly leaseMs: number;
  readonly now?: () => number;
}

const EVENT_BATCH = 100;
const STREAM_BLOCK_MS = 1_000;
const ERROR_PAUSE_MS = 1_000;

/**
 * Runs off the request path: one loop turns events from the stream into
 * deliveries (fan-out), another sends due deliveries, at most `concurrency` at a
 * time and `concurrencyPerSubscription` of them for one subscription. A dead receiver
 * costs its few slots until its timeout, never a request and never the other receivers'.
 */
export class DeliveryWorker {
  readonly #consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #now: () => number;
  #closed = false;
  #inFlight = new Set<Promise<void>>();
  /** Subscription id -> attempts in flight for it; an entry goes when its count is 0. */
  readonly #perSubscription = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  #loops: Promise<void>[] = [];

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#loops = [this.#fanOutLoop(), this.#deliveryLoop()];
  }

  /** Stops claiming; waits for attempts in flight (each ends within the sender's timeout). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#kick();
    await Promise.allSettled([...this.#loops, ...this.#inFlight]);
  }

  async #fanOutLoop(): Promise<void> {
    const { store, logger } = this.options;
    while (!this.#closed) {
      try {
        const events = await store.readEvents(
          this.#consumer,
          EVENT_BATCH,
          STREAM_BLOCK_MS,
          this.options.leaseMs,
        );
        if (events.length === 0 || this.#closed) continue;
        const subs = await store.allSubscriptions();
        for (const streamed of events) {
          const targets = streamed.event === null ? [] : subscribers(streamed.event, subs);
          await store.fanOut(streamed, targets, this.#now());
        }
        this.#kick();
      } catch (err) {
        if (this.#closed) return;
        logger.warn({ err }, 'webhook fan-out failed; retrying');
        await this.#sleep(ERROR_PAUSE_MS);
      }
    }
  }

  async #deliveryLoop(): Promise<void> {
    const { store, logger, concurrency, concurrencyPerSubscription, leaseMs, pollIntervalMs } = this.options;
    const cap = { perSubscription: concurrencyPerSubscription, inFlight: this.#perSubscription };
    while (!this.#closed) {
      const free = concurrency - this.#inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const claims = await store.claimDue(this.#now(), free, leaseMs, cap);
          claimed = claims.length;
          for (const claim of claims) {
            const subId = claim.delivery.subscriptionId;
            this.#perSubscription.set(subId, (this.#perSubscription.get(subId) ?? 0) + 1);
            const attempt = this.#attempt(claim).finally(() => {
              this.#inFlight.delete(attempt);
              const left = (this.#perSubscription.get(subId) ?? 1) - 1;
              if (left > 0) this.#perSubscription.set(subId, left);
              else this.#perSubscription.delete(subId);
              // Wakes the loop: a slot is free, and a capped subscription may have room again.
              this.#kick();
            });
            this.#inFlight.add(attempt);
          }
        } catch (err) {
          if (this.#closed) return;
          logger.warn({ err }, 'webhook claim failed; retrying');
          await this.#sleep(ERROR_PAUSE_MS);
          continue;
        }
      }
      // None claimed, or the slots full: wait for a poll or a kick (an attempt ending, a
      // fan-out). Due deliveries passed over for their subscription's cap are not claimed, so
      // they end in that wait, never in a spin; an attempt of theirs ending kicks.
      if (claimed === 0 || claimed >= free) await this.#sleep(pollIntervalMs);
    }
  }

  async #attempt(claim: Claim): Promise<void> {
    const { store, sender, logger } = this.options;
    const { delivery, subscription } = claim;
    const fields = {
      delivery: delivery.id,
      subscription: delivery.subscriptionId,
      event: delivery.eventType,
      attempt: delivery.attempts,
    };
    let outcome: AttemptOutcome;
    if (subscription === null) {
      outcome = { kind: 'failed', code: null, error: 'subscription deleted', at: this.#now() };
    } else {
      logger.debug(fields, 'webhook attempt');
      const headers = signedHeaders(delivery.id, this.#now(), claim.payload, subscription.secrets);
      const result = await sender.send(subscription.url, claim.payload, headers);
      const at = this.#now();
      if (result.ok) {
        outcome = { kind: 'delivered', code: result.code, at };
      } else {
        const nextAt = at + retryDelay(delivery.attempts, this.options.backoff);
        const spent =
          delivery.attempts >= this.options.maxAttempts ||
          nextAt > claim.roundStart + this.options.retryWindowMs;
        outcome = spent
          ? { kind: 'failed', code: result.code, error: result.error, at }
          : { kind: 'retry', code: result.code, error: result.error, at, nextAt };
      }
    }
    try {
      const recorded = await store.complete(claim, outcome);
      const level = outcome.kind === 'failed' ? 'warn' : 'debug';
      logger[level](
        { ...fields, outcome: outcome.kind, code: outcome.code, recorded },
        'webhook attempt finished',
      );
    } catch (err) {
      // The lease runs out and another attempt follows: at least once, not exactly once.
      logger.warn({ err, ...fields }, 'webhook attempt outcome not recorded');
    }
  }

  #kick(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }
}
