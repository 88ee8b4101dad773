import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createAdminApp } from '../admin/app.js';
import { TokenService } from '../admin/token-service.js';
import type { LoadedConfig } from '../config/load.js';
import { LastUsedRecorder } from '../gateway/last-used.js';
import { Gateway } from '../gateway/pipeline.js';
import type { RouteTable } from '../gateway/route-table.js';
import { createGatewayServer } from '../gateway/server.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Upstream } from '../proxy/upstream.js';
import type { AuditLog } from '../store/audit-log.js';
import { GrantCache } from '../store/cached-grant-store.js';
import type { GrantStore } from '../store/grant-store.js';
import { MemoryAuditLog } from '../store/memory-audit-log.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { RedisAuditLog } from '../store/redis-audit-log.js';
import { RedisGrantStore } from '../store/redis-store.js';
import { formatAddress, listen } from './listen.js';

export interface RuntimeOptions {
  readonly loaded: LoadedConfig;
  readonly logger: Logger;
  readonly adminToken: string | undefined;
  /** Use this store instead of building one from the config (the demo shares one). */
  readonly store?: GrantStore;
}

export interface Runtime {
  readonly gatewayAddress: string;
  readonly adminAddress: string;
  readonly store: GrantStore;
  /** Swaps in a new route map; the rest of the config needs a restart. */
  reloadRoutes(loaded: LoadedConfig): void;
  /** Stops accepting, drains in-flight requests up to `graceMs`, closes everything. */
  close(graceMs: number): Promise<void>;
}

export function routeTableOf(loaded: LoadedConfig): RouteTable {
  return { matcher: loaded.matcher, implicit: loaded.implicit, hideForbidden: loaded.config.hide_forbidden };
}

/** The one place that builds Redis, undici and cache instances and binds the listeners. */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { loaded, logger } = options;
  const { config } = loaded;
  let features = config.features;
  const metrics = new Metrics();

  const store = options.store ?? buildStore(loaded, logger);
  const audit = buildAuditLog(loaded, options.store !== undefined);
  const cache = new GrantCache(store, {
    maxEntries: config.cache.max_entries,
    ttlMs: config.cache.ttl_ms,
    negativeTtlMs: Math.min(config.cache.negative_ttl_ms, config.cache.ttl_ms),
  });
  store.onInvalidate((event) => metrics.invalidations.inc({ kind: event.kind }));
  const upstream = new Upstream({
    url: config.upstream.url,
    timeoutMs: config.upstream.timeout_ms,
    connectTimeoutMs: config.upstream.connect_timeout_ms,
    connections: config.upstream.connections,
  });
  const lastUsed = new LastUsedRecorder(store, {
    flushIntervalMs: 1_000,
    onError: (err) => logger.warn({ err }, 'could not record last-used times'),
  });
  const gateway = new Gateway({
    routes: routeTableOf(loaded),
    cache,
    upstream,
    upstreamHost: new URL(config.upstream.url).host,
    lastUsed,
    logger,
    metrics,
    retryAfterSeconds: 1,
  });
  const gatewayServer = createGatewayServer(gateway);
  const tokens = new TokenService(store, () => features);
  const adminApp = createAdminApp({ store, audit, tokens, metrics, logger, adminToken: options.adminToken });
  const adminServer = createServer(getRequestListener(adminApp.fetch));
  metrics.observeCacheSize(() => cache.size);

  let gatewayInfo: string;
  let adminInfo: string;
  try {
    gatewayInfo = formatAddress(await listen(gatewayServer, config.listen));
    adminInfo = formatAddress(await listen(adminServer, config.admin.listen));
  } catch (error) {
    gatewayServer.close();
    await Promise.allSettled([
      upstream.close(),
      lastUsed.close(),
      options.store ? Promise.resolve() : store.close(),
    ]);
    throw error;
  }

  return {
    gatewayAddress: gatewayInfo,
    adminAddress: adminInfo,
    store,
    reloadRoutes(next: LoadedConfig) {
      features = next.config.features;
      gateway.setRoutes(routeTableOf(next));
    },
    async close(graceMs: number) {
      const closed = closeServer(gatewayServer);
      gatewayServer.closeIdleConnections();
      const drained = await Promise.race([
        gateway.idle().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!drained) {
        logger.warn({ in_flight: gateway.inFlight }, 'grace period over; closing remaining connections');
      }
      gatewayServer.closeAllConnections();
      await closed;
      adminServer.closeAllConnections();
      await closeServer(adminServer);
      await lastUsed.close();
      await upstream.close();
      if (options.store === undefined) await store.close();
      if (audit instanceof RedisAuditLog) await audit.close();
    },
  };
}

function buildStore(loaded: LoadedConfig, logger: Logger): GrantStore {
  const { store } = loaded.config;
  if (store.redis_url === undefined) {
    logger.warn(
      'no store.redis_url: using the in-memory store (one process, lost on restart, not for production)',
    );
    return new MemoryGrantStore();
  }
  return new RedisGrantStore({
    url: store.redis_url,
    keyPrefix: store.key_prefix,
    commandTimeoutMs: store.command_timeout_ms,
    logger,
  });
}

const AUDIT_MAX_EVENTS = 100_000;

function buildAuditLog(loaded: LoadedConfig, sharedStore: boolean): AuditLog {
  const { store } = loaded.config;
  if (sharedStore || store.redis_url === undefined) return new MemoryAuditLog(AUDIT_MAX_EVENTS);
  return new RedisAuditLog({
    url: store.redis_url,
    keyPrefix: store.key_prefix,
    commandTimeoutMs: store.command_timeout_ms,
    maxEvents: AUDIT_MAX_EVENTS,
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
