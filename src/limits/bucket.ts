import { windowStart } from './window.js';

/** What `Bucket.admit` answers: let it through, refuse it, or ask the shared count first. */
export const ADMITTED = 0;
export const SPENT = 1;
export const WAIT = 2;
export type AdmitResult = typeof ADMITTED | typeof SPENT | typeof WAIT;

/** One reconcile of one bucket: what to add to the shared count unconditionally, and what to ask for. */
export interface SyncRequest {
  /** Window the request is for: an answer for an older window is dropped. */
  readonly windowStart: number;
  /** Added to the shared count as it is: unspent reservation given back (< 0), points spent past it (> 0). */
  readonly base: number;
  /** Points asked for on top, granted as far as the limit allows. */
  readonly want: number;
  readonly limit: number;
}

/**
 * The local side of one shared budget (a subject and a window): pure integer arithmetic, no
 * clock and no I/O (the reconciler brings both).
 *
 * An instance spends from a reservation it took from the shared count in Redis. The
 * reservation is taken and given back atomically there, so the shared count always holds
 * every instance's spending plus what each still holds: two instances can never both spend
 * the same point, and the limit is overshot only while Redis is unreachable (each instance
 * then counts alone). A request that finds the reservation empty waits for the next
 * reconcile (one round trip), unless the last one said the budget is spent.
 */
export class Bucket {
  readonly key: string;
  readonly windowMs: number;
  windowStart = -1;
  /** The limit last asked against; sizes the reservations. */
  limit = 0;
  /** Points spent here this window. */
  spent = 0;
  /** Points this instance holds in the shared count: what it spent plus its unspent reservation. */
  claimed = 0;
  /** Everyone else's share of the shared count at the last reconcile. */
  others = 0;
  /** The last reconcile found nothing left to grant. */
  exhausted = false;
  /** The shared count was read in this window. */
  synced = false;
  /** A reconcile of this bucket is in flight. */
  syncing = false;
  /** A request waits for the next reconcile. */
  waiting = false;
  /** The dearest request seen: a reservation holds at least that much. */
  maxCost = 1;
  #flightBase = 0;
  #flightWindow = -1;
  #spentAtSync = 0;
  #syncedAt = 0;
  #refused = false;

  constructor(key: string, windowMs: number) {
    this.key = key;
    this.windowMs = windowMs;
  }

  /** Moves to the window holding `now`; a new window starts with nothing spent or known. */
  roll(now: number): void {
    const start = windowStart(now, this.windowMs);
    if (start === this.windowStart) return;
    this.windowStart = start;
    this.spent = 0;
    this.claimed = 0;
    this.others = 0;
    this.exhausted = false;
    this.synced = false;
    this.#spentAtSync = 0;
  }

  /** Points spent in this window, everywhere, as far as this instance knows. */
  get used(): number {
    return this.others + this.spent;
  }

  /**
   * Spends `cost` points if the budget allows. `shared`: Redis answers, so spend only from the
   * reservation; otherwise count alone against the limit (local-only mode).
   */
  admit(cost: number, limit: number, now: number, shared: boolean): AdmitResult {
    if (now >= this.windowStart + this.windowMs) this.roll(now);
    this.limit = limit;
    if (cost > this.maxCost) this.maxCost = cost;
    if (cost > limit) return SPENT;
    if (!shared) {
      if (this.others + this.spent + cost > limit) return SPENT;
      this.spent += cost;
      return ADMITTED;
    }
    if (this.claimed - this.spent >= cost) {
      this.spent += cost;
      return ADMITTED;
    }
    if (this.synced && this.exhausted) {
      // Looked at again next reconcile: another instance may give back what it holds.
      this.#refused = true;
      return SPENT;
    }
    this.waiting = true;
    return WAIT;
  }

  /**
   * What the next reconcile sends for this bucket, or null when there is nothing to say: the
   * window is over, a reconcile is in flight, the bucket is idle and holds nothing, or nothing
   * happened since a reconcile less than half a period ago. `intervalMs` is the reconcile
   * period: a reservation covers about two periods of the recent spending rate, within a
   * hundredth of the limit (at least one request's cost), and what is not spent is given back
   * by the first reconcile at least half a period after the last one.
   */
  prepare(now: number, intervalMs: number): SyncRequest | null {
    if (this.syncing || this.windowStart < 0 || now >= this.windowStart + this.windowMs) return null;
    const spentSince = this.spent - this.#spentAtSync;
    const active = spentSince > 0 || this.waiting || this.#refused;
    const room = this.claimed - this.spent;
    // Quiet is not idle: a reconcile queued behind the one that just granted a waiting request
    // its points runs before that request can spend them, and must not give them back.
    if (!active && room > 0 && now - this.#syncedAt < intervalMs / 2) return null;
    let target = 0;
    if (active) {
      const elapsed = Math.max(1, now - this.#syncedAt);
      const perInterval = Math.ceil((spentSince * intervalMs) / elapsed);
      // What one instance holds unspent is what the others may be refused near the end of a
      // budget: a hundredth of the limit, or one request.
      const cap = Math.max(this.maxCost, Math.ceil(this.limit / 100));
      target = Math.min(Math.max(2 * perInterval, this.maxCost), cap);
    } else if (room === 0 && this.synced) {
      return null;
    }
    // Points spent past the reservation (local-only mode) are settled first, unconditionally.
    const base = room < 0 ? -room : room > target ? target - room : 0;
    const want = active ? target - Math.max(0, Math.min(room, target)) : 0;
    if (base === 0 && want === 0 && this.synced) return null;
    this.syncing = true;
    this.waiting = false;
    this.#refused = false;
    this.#flightBase = base;
    this.#flightWindow = this.windowStart;
    this.#spentAtSync = this.spent;
    this.#syncedAt = now;
    // Given back at once: what is in flight back to Redis is not spent here meanwhile.
    this.claimed += base;
    // The last answer's "spent" counted what this gives back: ask again rather than refuse.
    if (base < 0) this.exhausted = false;
    return { windowStart: this.windowStart, base, want, limit: this.limit };
  }

  /** Redis's answer: the shared count after this reconcile, and what it granted. */
  acknowledge(total: number, grant: number): void {
    this.syncing = false;
    if (this.#flightWindow !== this.windowStart) return;
    this.claimed += grant;
    this.others = Math.max(0, total - this.claimed);
    this.exhausted = total >= this.limit;
    this.synced = true;
  }

  /**
   * The reconcile failed: whether Redis applied it is unknown. A give-back is taken as done
   * and points spent past the reservation as not (sent again next time): either way the shared
   * count can only err high, never low.
   */
  fail(): void {
    this.syncing = false;
    if (this.#flightWindow !== this.windowStart) return;
    if (this.#flightBase > 0) this.claimed -= this.#flightBase;
  }
}
