import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { type ClusterSettings, clusterClient } from '../store/redis-cluster-client.js';
import { RedisKeys } from '../store/redis-keys.js';
import { CostTable } from './costs.js';
import { Reconciler } from './reconciler.js';
import { RequestLimits } from './request-limits.js';
import { parseWindow } from './window.js';

export interface LimitsRuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Count alone (memory store, demo): no Redis client is built. */
  readonly memory: boolean;
  /** Connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  /** `store.cluster`: the counts live on the Cluster (each budget's key in a slot of its own). */
  readonly cluster?: ClusterSettings;
  /** Every route pattern of the loaded map: a cost naming another is a config error. */
  readonly routePatterns: ReadonlySet<string>;
}

export interface LimitsRuntime {
  readonly limits: RequestLimits;
  /** What `/readyz` says about the limits. */
  readiness(): Record<string, unknown>;
  close(): void;
}

/** Builds the allow lists and rate limits for `app/runtime.ts`; the gateway calls `limits` per request. */
export function buildLimits(options: LimitsRuntimeOptions): LimitsRuntime {
  const { config, metrics, logger } = options;
  const rates = config.rate_limits;
  const url = config.store.redis_url;
  // Only rate limits need Redis; allow lists travel with the cached grants.
  const client =
    rates === undefined || options.memory
      ? null
      : options.cluster !== undefined
        ? // One script call per budget, pipelined per node within a reconcile.
          clusterClient(options.cluster, {
            commandTimeoutMs: config.store.command_timeout_ms,
            offlineQueue: false,
            autoPipelining: true,
          })
        : url === undefined
          ? null
          : new Redis(url, {
              commandTimeout: config.store.command_timeout_ms,
              maxRetriesPerRequest: 0,
              // A command while disconnected fails at once: the budgets go local-only instead of waiting.
              enableOfflineQueue: false,
              ...options.redisOptions,
            });
  client?.on('error', () => {});
  const keys = new RedisKeys(config.store.key_prefix);
  const reconciler = new Reconciler({
    redis: client,
    keyOf: (subject, start) => keys.rateLimit(subject, start),
    intervalMs: rates?.reconcile_interval_ms ?? 100,
    observer: {
      reconciled: (seconds) => metrics.rateLimitReconcileSeconds.observe(seconds),
      localOnly: (on, cause) => {
        metrics.rateLimitLocalOnly.set(on ? 1 : 0);
        if (on)
          logger.warn(
            { err: cause },
            'rate limits: Redis unreachable; counting locally (each instance allows the whole limit)',
          );
        else logger.info('rate limits: shared through Redis');
      },
    },
  });
  metrics.rateLimitLocalOnly.set(rates === undefined ? 0 : 1);
  metrics.observeRateLimitLag(() => reconciler.lagMs());
  let costs: CostTable | null = null;
  if (rates !== undefined) {
    costs = new CostTable(rates.costs);
    const unknown = costs.unknownRoutes(options.routePatterns);
    if (unknown.length > 0) {
      throw new Error(
        `rate_limits.costs: no route ${unknown.map((r) => JSON.stringify(r)).join(', ')} in routes (a cost names a route pattern as written there)`,
      );
    }
  }
  const limits = new RequestLimits({
    rates:
      rates === undefined || costs === null
        ? null
        : {
            default: {
              limit: rates.default.limit,
              windowSeconds: parseWindow(rates.default.window) ?? 3_600,
              per: rates.default.per,
            },
            costs,
            concurrency: rates.concurrency.max,
          },
    reconciler,
    onLimited: (resource) => metrics.rateLimited.inc({ resource }),
  });
  return {
    limits,
    readiness() {
      // Nothing to say about limits that are not configured.
      if (rates === undefined) return {};
      if (!reconciler.distributed) return { rate_limits: 'local' };
      const lag = reconciler.lagMs();
      return {
        rate_limits: reconciler.shared ? 'shared' : 'local_only',
        rate_limit_reconcile_lag_ms: lag,
      };
    },
    close() {
      reconciler.close();
      client?.disconnect();
    },
  };
}
