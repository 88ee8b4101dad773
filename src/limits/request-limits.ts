import type { GrantSnapshot } from '../store/grant-store.js';
import type { AddressList } from './address-list.js';
import { addressRefusal, allowListsOf, hasAllowList, orgOf } from './allow-lists.js';
import { ADMITTED, type Bucket, SPENT } from './bucket.js';
import { CORE_RESOURCE, type RateBudget, resolveBudget, subjectKey } from './budget.js';
import type { CostTable } from './costs.js';
import { CONCURRENCY_RESOURCE, type LimitRefusal } from './limit-refusal.js';
import type { Reconciler } from './reconciler.js';
import { formatWindow, resetSeconds, retryAfterSeconds } from './window.js';

/** `rate_limits` from the config, compiled. */
export interface RateLimitSettings {
  readonly default: RateBudget;
  readonly costs: CostTable;
  /** Requests of one token in flight on this instance (the secondary limit). */
  readonly concurrency: number;
}

export interface RequestLimitsOptions {
  /** Null: `rate_limits` is absent; only allow lists apply. */
  readonly rates: RateLimitSettings | null;
  readonly reconciler: Reconciler;
  readonly now?: () => number;
  /** Counts a refusal by resource (`patgate_rate_limited_total`). */
  readonly onLimited?: (resource: string) => void;
}

/** What one cached grant needs from the limits: built once per snapshot, read per request. */
interface Plan {
  readonly orgList: AddressList | null;
  readonly orgName: string;
  readonly tokenList: AddressList | null;
  readonly budget: RateBudget | null;
  readonly subject: string;
  readonly windowMs: number;
  readonly limitText: string;
}

/** A token's requests in flight here; kept while any is. */
export interface ConcurrencyHold {
  readonly tokenId: string;
  count: number;
}

/** The caller's budget as `GET /_patgate/rate_limit` shows it (GitHub's `resources.core` shape). */
export interface BudgetStatus {
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  readonly reset: number;
  readonly resource: string;
}

/**
 * The allow lists and rate limits of one gateway. `admit` runs on every authorized
 * request: with no list and no `rate_limits` it reads two fields and returns; otherwise a
 * WeakMap read for the grant's plan, a Map read for its budget and integer arithmetic. Redis
 * is never on the request's path: a request waits for a reconcile only when this instance's
 * reservation of the budget is empty (see bucket.ts).
 */
export class RequestLimits {
  readonly #rates: RateLimitSettings | null;
  readonly #reconciler: Reconciler;
  readonly #now: () => number;
  readonly #onLimited: (resource: string) => void;
  readonly #plans = new WeakMap<GrantSnapshot, Plan>();
  readonly #holds = new Map<string, ConcurrencyHold>();

  constructor(options: RequestLimitsOptions) {
    this.#rates = options.rates;
    this.#reconciler = options.reconciler;
    this.#now = options.now ?? Date.now;
    this.#onLimited = options.onLimited ?? (() => {});
  }

  /** `rate_limits` is configured: budgets, headers and `/_patgate/rate_limit` exist. */
  get rated(): boolean {
    return this.#rates !== null;
  }

  /**
   * Null: admitted (and charged). A refusal: answer it. A promise: this instance must reconcile
   * before it can say; ask again once it resolves.
   */
  admit(
    snapshot: GrantSnapshot,
    owner: string | null,
    clientAddress: string,
    method: string,
    pattern: string,
  ): LimitRefusal | Promise<void> | null {
    const rates = this.#rates;
    if (rates === null && !hasAllowList(snapshot)) return null;
    const plan = this.#planOf(snapshot, owner);
    const token = snapshot.token;
    const outside = addressRefusal(plan, token.id, clientAddress);
    if (outside !== null) return outside;
    if (rates === null || plan.budget === null) return null;
    const hold = this.#holds.get(token.id);
    if (hold !== undefined && hold.count >= rates.concurrency) {
      this.#onLimited(CONCURRENCY_RESOURCE);
      return {
        kind: 'limited',
        reason: 'concurrency_limited',
        detail: `token ${token.id} has ${rates.concurrency} requests in flight, the most allowed; retry when one ends`,
        tokenId: token.id,
        max: rates.concurrency,
      };
    }
    const now = this.#now();
    const bucket = this.#reconciler.bucket(plan.subject, plan.windowMs);
    const cost = rates.costs.cost(method, pattern);
    const result = bucket.admit(cost, plan.budget.limit, now, this.#reconciler.shared);
    if (result === ADMITTED) return null;
    if (result === SPENT) return this.#spent(plan, bucket, token.id, cost, now);
    return this.#reconciler.next();
  }

  /** The allow lists alone (`GET /_patgate/rate_limit`, which spends nothing). */
  checkAddress(snapshot: GrantSnapshot, clientAddress: string): LimitRefusal | null {
    return addressRefusal(this.#planOf(snapshot, null), snapshot.token.id, clientAddress);
  }

  /** Counts a request in flight upstream for the token; `leave` with what it returns. */
  enter(tokenId: string): ConcurrencyHold | null {
    if (this.#rates === null) return null;
    let hold = this.#holds.get(tokenId);
    if (hold === undefined) {
      hold = { tokenId, count: 0 };
      this.#holds.set(tokenId, hold);
    }
    hold.count++;
    return hold;
  }

  leave(hold: ConcurrencyHold): void {
    if (--hold.count <= 0) this.#holds.delete(hold.tokenId);
  }

  /** Appends `X-RateLimit-*` for the grant's budget to a flat header list (every authorized answer). */
  appendHeaders(headers: string[], snapshot: GrantSnapshot): void {
    if (this.#rates === null) return;
    const plan = this.#planOf(snapshot, null);
    if (plan.budget === null) return;
    const bucket = this.#reconciler.peek(plan.subject);
    const used = bucket === undefined ? 0 : Math.min(bucket.used, plan.budget.limit);
    const start = bucket === undefined ? this.#now() - (this.#now() % plan.windowMs) : bucket.windowStart;
    headers.push(
      'x-ratelimit-limit',
      plan.limitText,
      'x-ratelimit-remaining',
      String(plan.budget.limit - used),
      'x-ratelimit-used',
      String(used),
      'x-ratelimit-reset',
      String(resetSeconds(start, plan.windowMs)),
      'x-ratelimit-resource',
      CORE_RESOURCE,
    );
  }

  /** The grant's budget, free of charge; null without `rate_limits`. */
  status(snapshot: GrantSnapshot): BudgetStatus | null {
    if (this.#rates === null) return null;
    const plan = this.#planOf(snapshot, null);
    if (plan.budget === null) return null;
    const now = this.#now();
    // Created if absent, so that the next reconcile reads what the other instances spent.
    const bucket = this.#reconciler.bucket(plan.subject, plan.windowMs);
    if (now >= bucket.windowStart + plan.windowMs) bucket.roll(now);
    if (bucket.limit === 0) bucket.limit = plan.budget.limit;
    const current = bucket.synced || bucket.spent > 0;
    const used = current ? Math.min(bucket.used, plan.budget.limit) : 0;
    const start = current ? bucket.windowStart : now - (now % plan.windowMs);
    return {
      limit: plan.budget.limit,
      used,
      remaining: plan.budget.limit - used,
      reset: resetSeconds(start, plan.windowMs),
      resource: CORE_RESOURCE,
    };
  }

  #spent(plan: Plan, bucket: Bucket, tokenId: string, cost: number, now: number): LimitRefusal {
    const budget = plan.budget as RateBudget;
    this.#onLimited(CORE_RESOURCE);
    const used = Math.min(bucket.used, budget.limit);
    const window = formatWindow(budget.windowSeconds);
    return {
      kind: 'limited',
      reason: 'rate_limited',
      detail:
        cost > budget.limit
          ? `this request costs ${cost} points, more than the limit of ${budget.limit} per ${window} (per ${budget.per})`
          : `rate limit of ${budget.limit} points per ${window} (per ${budget.per}) spent: ${used} used, this request costs ${cost}`,
      tokenId,
      resource: CORE_RESOURCE,
      limit: budget.limit,
      used,
      reset: resetSeconds(bucket.windowStart, plan.windowMs),
      retryAfter: retryAfterSeconds(now, bucket.windowStart, plan.windowMs),
    };
  }

  /** `owner`: the owner the request reaches, when known (a classic token's snapshot is for one owner). */
  #planOf(snapshot: GrantSnapshot, owner: string | null): Plan {
    let plan = this.#plans.get(snapshot);
    if (plan === undefined) {
      plan = this.#buildPlan(snapshot, owner);
      this.#plans.set(snapshot, plan);
    }
    return plan;
  }

  #buildPlan(snapshot: GrantSnapshot, reached: string | null): Plan {
    const { token, owner } = snapshot;
    const policy = owner.org?.policy;
    const orgName = orgOf(token, reached);
    const budget =
      this.#rates === null ? null : resolveBudget(this.#rates.default, policy?.rateLimit, token.rateLimit);
    // A per-org budget of a request that reaches no org (a classic token on its user's own
    // account) is counted per user instead.
    const owned = orgName !== '' ? orgName : token.user;
    return {
      ...allowListsOf(snapshot, orgName),
      budget,
      subject: budget === null ? '' : subjectKey(budget, token.user, token.id, owned),
      windowMs: budget === null ? 1 : budget.windowSeconds * 1000,
      limitText: budget === null ? '' : String(budget.limit),
    };
  }
}
