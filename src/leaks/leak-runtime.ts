import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { type ClusterSettings, clusterClient } from '../store/redis-cluster-client.js';
import { CredentialRevoker } from './credential-revoke.js';
import { reportLimiter } from './report-limiter.js';
import { SecretScanningEndpoint } from './secret-scanning.js';

export interface LeakReportsOptions {
  readonly config: Config;
  readonly store: GrantStore;
  /** The audit log the admin API writes: its append also writes the `token.leaked` event. */
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** Use a process-local rate limit (memory store, demo). */
  readonly memory: boolean;
  /** Connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  /** `store.cluster`: the per-address counters live on the Cluster. */
  readonly cluster?: ClusterSettings;
}

export interface LeakReports {
  readonly revoker: CredentialRevoker;
  /** `POST /_patgate/secret-scanning`, when `secret_scanning` is configured. */
  readonly scanning: SecretScanningEndpoint | null;
  close(): Promise<void>;
}

/**
 * Builds the leak report handlers for `app/runtime.ts`; the gateway listener routes to
 * `revoker.handle` and `scanning.handle`.
 */
export function buildLeakReports(options: LeakReportsOptions): LeakReports {
  const { config } = options;
  const perHour = config.leak_reports.per_address_per_hour;
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
  client?.on('error', () => {});
  const limiter = reportLimiter(
    perHour,
    client === undefined ? undefined : { client, keyPrefix: config.store.key_prefix },
  );
  const revoker = new CredentialRevoker({
    store: options.store,
    audit: options.audit,
    limiter,
    logger: options.logger,
  });
  const scanning =
    config.secret_scanning === undefined
      ? null
      : new SecretScanningEndpoint({
          store: options.store,
          audit: options.audit,
          limiter: reportLimiter(
            config.secret_scanning.per_address_per_hour,
            client === undefined ? undefined : { client, keyPrefix: config.store.key_prefix },
            'scanrl',
          ),
          logger: options.logger,
          publicKeys: config.secret_scanning.public_keys,
        });
  return {
    revoker,
    scanning,
    async close() {
      await revoker.idle();
      client?.disconnect();
    },
  };
}
