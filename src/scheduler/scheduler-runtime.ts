import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { type ClusterSettings, clusterClient } from '../store/redis-cluster-client.js';
import { RedisKeys } from '../store/redis-keys.js';
import { type FleetLock, ProcessLock, RedisFleetLock } from './fleet-lock.js';
import { FleetScheduler } from './fleet-scheduler.js';

export interface SchedulerRuntimeOptions {
  readonly config: Config;
  readonly store: GrantStore;
  /** The audit log the admin API writes: its append also writes `token.revoked`. */
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** One process (memory store): no lease to share. */
  readonly memory: boolean;
  /** Connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  /** `store.cluster`: the lease is one key on the Cluster (`ClusterKeys.sharedKey`, the same name). */
  readonly cluster?: ClusterSettings;
}

export interface SchedulerRuntime {
  readonly scheduler: FleetScheduler;
  close(): Promise<void>;
}

/** The lease outlives a few runs, so that a holder keeps it; one that dies hands over within it. */
function leaseMsOf(intervalMs: number): number {
  return Math.max(3 * intervalMs, 5_000);
}

/** Builds the fleet-wide scheduler for `app/runtime.ts`; `scheduler.start()` once the listeners are up. */
export function buildScheduler(options: SchedulerRuntimeOptions): SchedulerRuntime {
  const { config } = options;
  const settings = config.scheduler;
  const url = config.store.redis_url;
  let client: Redis | Cluster | undefined;
  if (!options.memory && options.cluster !== undefined) {
    client = clusterClient(options.cluster, {
      commandTimeoutMs: config.store.command_timeout_ms,
      offlineQueue: true,
    });
  } else if (!options.memory && url !== undefined) {
    client = new Redis(url, {
      commandTimeout: config.store.command_timeout_ms,
      maxRetriesPerRequest: 0,
      ...options.redisOptions,
    });
  }
  // Failures surface on the calls (a run that cannot take the lease skips); the client reconnects.
  client?.on('error', () => {});
  const lock: FleetLock =
    client === undefined
      ? new ProcessLock()
      : new RedisFleetLock(
          client,
          new RedisKeys(config.store.key_prefix).schedulerLock,
          leaseMsOf(settings.interval_ms),
        );
  const scheduler = new FleetScheduler({
    store: options.store,
    audit: options.audit,
    lock,
    logger: options.logger,
    intervalMs: settings.interval_ms,
    unusedSweepIntervalMs: settings.unused_sweep_interval_ms,
  });
  return {
    scheduler,
    async close() {
      await scheduler.close();
      client?.disconnect();
    },
  };
}
