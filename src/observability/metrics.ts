import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { PairTally } from './tally.js';

/** Outcome label of a proxied request: the decision, or the fault that ended it. */
export type RequestOutcome =
  | 'allowed'
  | 'denied'
  | 'not_found'
  | 'bad_request'
  | 'unavailable'
  | 'upstream_error'
  | 'aborted'
  /** Refused by a rate limit or the concurrency limit (src/limits/). */
  | 'rate_limited';

/** Running totals of the grant cache, read at scrape time (the shape of `GrantCache.stats`). */
export interface CacheCounts {
  readonly hits: number;
  readonly negativeHits: number;
  readonly misses: number;
  readonly coalesced: number;
  readonly fallbacks: number;
}

const CACHE_RESULTS = [
  ['hits', 'hit'],
  ['negativeHits', 'negative_hit'],
  ['misses', 'miss'],
  ['coalesced', 'coalesced'],
  ['fallbacks', 'fallback'],
] as const satisfies readonly (readonly [keyof CacheCounts, string])[];

export const STORE_FAILURE_KINDS = ['timeout', 'unavailable', 'error'] as const;

/**
 * Why an admin API call failed authentication: no credential, not one patgate
 * accepts, a well-formed token the store does not know, a revoked or expired
 * token; or refused unchecked because its address failed too often.
 */
export const ADMIN_AUTH_FAILURE_REASONS = [
  'missing',
  'invalid',
  'unknown',
  'revoked',
  'expired',
  'throttled',
] as const;
export type AdminAuthFailureReason = (typeof ADMIN_AUTH_FAILURE_REASONS)[number];

/**
 * Every metric patgate exports, on one registry (not prom-client's global one,
 * so that tests and several gateways in one process do not collide).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly #requestTally = new PairTally();
  readonly #decisionTally = new PairTally();

  // The request path counts into plain tallies (see tally.ts); they are folded in at scrape time.
  readonly requests: Counter<'route' | 'outcome'> = new Counter({
    name: 'patgate_requests_total',
    help: 'Proxied requests by matched route pattern and outcome',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
    collect: (): void =>
      this.#requestTally.drain((route, outcome, n) => this.requests.inc({ route, outcome }, n)),
  });

  readonly decisions: Counter<'result' | 'reason'> = new Counter({
    name: 'patgate_decisions_total',
    help: 'Authorization decisions by result and reason',
    labelNames: ['result', 'reason'] as const,
    registers: [this.registry],
    collect: (): void =>
      this.#decisionTally.drain((result, reason, n) => this.decisions.inc({ result, reason }, n)),
  });

  /** One proxied request's outcome; cheap enough for every request. */
  countRequest(route: string, outcome: RequestOutcome): void {
    this.#requestTally.add(route, outcome);
  }

  /** One authorization decision; cheap enough for every request. */
  countDecision(result: 'allow' | 'deny', reason: string): void {
    this.#decisionTally.add(result, reason);
  }

  readonly decisionSeconds = new Histogram({
    name: 'patgate_decision_duration_seconds',
    help: 'Time from request arrival to the authorization decision, for decisions that needed a store lookup (cache hits are counted in patgate_cache_lookups_total and take a few microseconds)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers: [this.registry],
  });

  readonly upstreamSeconds = new Histogram({
    name: 'patgate_upstream_duration_seconds',
    help: 'Time from forwarding to the end of the upstream response',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  // The cache keeps plain counters on its hot path; they are copied in at scrape time.
  readonly cacheLookups: Counter<'result'> = new Counter({
    name: 'patgate_cache_lookups_total',
    help: 'Grant cache lookups by result: hit, negative_hit (remembered unknown token), miss (store lookup started), coalesced (joined a lookup in flight), fallback (served from cache because the store failed while invalidations were not being received)',
    labelNames: ['result'] as const,
    registers: [this.registry],
    collect: (): void => this.#copyCacheCounts(),
  });

  readonly storeErrors = new Counter({
    name: 'patgate_store_errors_total',
    help: 'Requests answered 503 because the grant store could not be read',
    registers: [this.registry],
  });

  readonly storeCommandFailures = new Counter({
    name: 'patgate_store_command_failures_total',
    help: 'Redis commands that failed, by kind: timeout (no answer within store.command_timeout_ms), unavailable (not connected), error (Redis answered with an error)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly invalidationLag = new Histogram({
    name: 'patgate_invalidation_lag_seconds',
    help: 'Time from publishing an invalidation to this instance receiving it (publisher and subscriber clocks)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  #cacheCounts: () => CacheCounts = () => ({
    hits: 0,
    negativeHits: 0,
    misses: 0,
    coalesced: 0,
    fallbacks: 0,
  });
  readonly #copied: Record<keyof CacheCounts, number> = {
    hits: 0,
    negativeHits: 0,
    misses: 0,
    coalesced: 0,
    fallbacks: 0,
  };

  #cacheSize: () => number = () => 0;

  readonly cacheEntries: Gauge = new Gauge({
    name: 'patgate_cache_entries',
    help: 'Entries held by the in-process grant cache',
    registers: [this.registry],
    collect: (): void => this.cacheEntries.set(this.#cacheSize()),
  });

  #bufferedBodyBytes: () => number = () => 0;

  readonly bodyBufferBytes: Gauge = new Gauge({
    name: 'patgate_body_buffer_bytes',
    help: 'Bytes of request bodies held in memory before they go to the upstream (limits.body_buffer_total_bytes bounds it)',
    registers: [this.registry],
    collect: (): void => this.bodyBufferBytes.set(this.#bufferedBodyBytes()),
  });

  /** Where the body-buffer gauge reads from at scrape time. */
  observeBodyBuffer(bytes: () => number): void {
    this.#bufferedBodyBytes = bytes;
  }

  readonly invalidations = new Counter({
    name: 'patgate_invalidations_total',
    help: 'Cache invalidation events received, by kind (token, owner, all)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly adminAuthFailures = new Counter({
    name: 'patgate_admin_auth_failures_total',
    help: 'Admin API calls that failed authentication (401), or were refused unchecked because their address failed too often (429, reason throttled), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  // Rate limits (src/limits/, docs/rate-limits.md).
  readonly rateLimited = new Counter({
    name: 'patgate_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by resource: core (the primary budget), concurrency (requests of one token in flight)',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly rateLimitReconcileSeconds = new Histogram({
    name: 'patgate_rate_limit_reconcile_duration_seconds',
    help: 'Round trip of one reconcile of the rate-limit budgets with Redis (one pipelined script call per active budget)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  #rateLimitLag: () => number | null = () => null;

  readonly rateLimitReconcileLag: Gauge = new Gauge({
    name: 'patgate_rate_limit_reconcile_lag_seconds',
    help: 'Time since the rate-limit budgets were last reconciled with Redis (-1 before the first, or without Redis)',
    registers: [this.registry],
    collect: (): void => {
      const ms = this.#rateLimitLag();
      this.rateLimitReconcileLag.set(ms === null ? -1 : ms / 1000);
    },
  });

  readonly rateLimitLocalOnly = new Gauge({
    name: 'patgate_rate_limit_local_only',
    help: '1 while rate limits are counted by this instance alone (Redis unreachable, or no Redis): each instance then allows the whole limit',
    registers: [this.registry],
  });

  /** Where the reconcile-lag gauge reads from at scrape time (ms, null: never reconciled). */
  observeRateLimitLag(lagMs: () => number | null): void {
    this.#rateLimitLag = lagMs;
  }

  readonly routeReloads = new Counter({
    name: 'patgate_route_reloads_total',
    help: 'Route map reloads (SIGHUP) by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /**
   * Answers the text exposition (`registry.metrics()`, what GET /metrics serves) with `gather`'s
   * text instead of this registry's own. A worker of `workers: N` answers with every worker's
   * metrics, which the primary aggregates from each one's `registry.getMetricsAsJSON()`
   * (app/cluster-worker.ts): one scrape, whichever worker it reaches, sees the whole instance.
   */
  exposeGathered(gather: () => Promise<string>): void {
    this.registry.metrics = gather;
  }

  /** Where the cache-size gauge reads from at scrape time. */
  observeCacheSize(size: () => number): void {
    this.#cacheSize = size;
  }

  /** Where `patgate_cache_lookups_total` reads from at scrape time; counts must only grow. */
  observeCacheCounts(counts: () => CacheCounts): void {
    this.#cacheCounts = counts;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'patgate_' });
    }
    // Every series exists from the start, so that a rate() over it is defined before the first event.
    for (const [, result] of CACHE_RESULTS) this.cacheLookups.inc({ result }, 0);
    for (const kind of STORE_FAILURE_KINDS) this.storeCommandFailures.inc({ kind }, 0);
    for (const result of ['ok', 'refused']) this.routeReloads.inc({ result }, 0);
    for (const reason of ADMIN_AUTH_FAILURE_REASONS) this.adminAuthFailures.inc({ reason }, 0);
    this.storeErrors.inc(0);
    for (const resource of ['core', 'concurrency']) this.rateLimited.inc({ resource }, 0);
  }

  #copyCacheCounts(): void {
    const now = this.#cacheCounts();
    for (const [field, result] of CACHE_RESULTS) {
      const delta = now[field] - this.#copied[field];
      if (delta > 0) this.cacheLookups.inc({ result }, delta);
      this.#copied[field] = now[field];
    }
  }
}
