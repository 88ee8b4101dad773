import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { CredentialRevoker } from './credential-revoke.js';
import { reportLimiter } from './report-limiter.js';

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
}

export interface LeakReports {
  readonly revoker: CredentialRevoker;
  close(): Promise<void>;
}

/** Builds the leak report handler for `app/runtime.ts`; the gateway listener routes to `revoker.handle`. */
export function buildLeakReports(options: LeakReportsOptions): LeakReports {
  const { config } = options;
  const perHour = config.leak_reports.per_address_per_hour;
  const url = config.store.redis_url;
  const client =
    options.memory || url === undefined
      ? undefined
      : new Redis(url, {
          commandTimeout: config.store.command_timeout_ms,
          maxRetriesPerRequest: 0,
          ...options.redisOptions,
        });
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
  return {
    revoker,
    async close() {
      await revoker.idle();
      client?.disconnect();
    },
  };
}
