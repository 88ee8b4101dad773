import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Outcome label of a proxied request: the decision, or the fault that ended it. */
export type RequestOutcome =
  | 'allowed'
  | 'denied'
  | 'not_found'
  | 'bad_request'
  | 'unavailable'
  | 'upstream_error'
  | 'aborted';

/**
 * Every metric patgate exports, on one registry (not prom-client's global one,
 * so that tests and several gateways in one process do not collide).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'patgate_requests_total',
    help: 'Proxied requests by matched route pattern and outcome',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly decisions = new Counter({
    name: 'patgate_decisions_total',
    help: 'Authorization decisions by result and reason',
    labelNames: ['result', 'reason'] as const,
    registers: [this.registry],
  });

  readonly decisionSeconds = new Histogram({
    name: 'patgate_decision_duration_seconds',
    help: 'Time from request arrival to the authorization decision (includes store lookups on cache misses)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers: [this.registry],
  });

  readonly upstreamSeconds = new Histogram({
    name: 'patgate_upstream_duration_seconds',
    help: 'Time from forwarding to the end of the upstream response',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'patgate_cache_lookups_total',
    help: 'Grant cache lookups by result (hit, negative_hit, miss, coalesced)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'patgate_store_errors_total',
    help: 'Grant store calls that failed or timed out on the request path',
    registers: [this.registry],
  });

  #cacheSize: () => number = () => 0;

  readonly cacheEntries: Gauge = new Gauge({
    name: 'patgate_cache_entries',
    help: 'Entries held by the in-process grant cache',
    registers: [this.registry],
    collect: (): void => this.cacheEntries.set(this.#cacheSize()),
  });

  readonly invalidations = new Counter({
    name: 'patgate_invalidations_total',
    help: 'Cache invalidation events received, by kind (token, owner, all)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly routeReloads = new Counter({
    name: 'patgate_route_reloads_total',
    help: 'Route map reloads (SIGHUP) by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Where the cache-size gauge reads from at scrape time. */
  observeCacheSize(size: () => number): void {
    this.#cacheSize = size;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'patgate_' });
    }
  }
}
