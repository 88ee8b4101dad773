import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { Server as TlsServer } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import type { RedisOptions } from 'ioredis';
import type { JWK } from 'jose';
import { createAdminApp } from '../admin/app.js';
import { TokenService } from '../admin/token-service.js';
import { type AssertionKeys, AssertionSigner, algorithmOf, jwksOf, parseKey } from '../assertion/signer.js';
import { requestAccessUrlFor } from '../console/request-access-url.js';
import { buildWebhookRuntime, EVENT_STREAM_MAX_LEN, type WebhookRuntime } from '../events/webhook-runtime.js';
import { BodyBudget, UpstreamShares } from '../gateway/body-budget.js';
import { createDecisionServer } from '../gateway/decision-server.js';
import { LastUsedRecorder } from '../gateway/last-used.js';
import { Gateway } from '../gateway/pipeline.js';
import type { RouteTable } from '../gateway/route-table.js';
import { createGatewayServer, type GatewayTls, tlsOptions } from '../gateway/server.js';
import { buildLeakReports } from '../leaks/leak-runtime.js';
import { buildLimits } from '../limits/limits-runtime.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Upstream } from '../proxy/upstream.js';
import { TrustedProxies } from '../request/trusted-proxies.js';
import type { LoadConfigResult, LoadedConfig } from '../routes/load-config.js';
import { buildScheduler } from '../scheduler/scheduler-runtime.js';
import type { AuditLog } from '../store/audit-log.js';
import { GrantCache } from '../store/cached-grant-store.js';
import type { GrantStore } from '../store/grant-store.js';
import { MemoryAuditLog } from '../store/memory-audit-log.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { RedisAuditLog } from '../store/redis-audit-log.js';
import type { ClusterNode } from '../store/redis-cluster-connection.js';
import { RedisClusterGrantStore } from '../store/redis-cluster-store.js';
import { ClusterKeys } from '../store/redis-keys.js';
import {
  RedisGrantStore,
  type RedisSentinelOptions,
  sentinelConnectionOptions,
} from '../store/redis-store.js';
import { eventStreamKey } from '../store/webhook-redis-store.js';
import { buildConsoleListener } from './console-listener.js';
import { formatAddress, listen } from './listen.js';
import { diffRoutes, type ReloadReport, restartOnlyChanges } from './reload-report.js';

export interface RuntimeOptions {
  readonly loaded: LoadedConfig;
  readonly logger: Logger;
  readonly adminToken: string | undefined;
  /** Use this store instead of building one from the config (the demo shares one). */
  readonly store?: GrantStore;
  /** A worker of `workers: N` hands its metrics to the primary, which answers /metrics for all (app/cluster-worker.ts). */
  readonly shareMetrics?: (metrics: Metrics) => void;
  /**
   * `workers: N`: given this process's own reload, the one `POST /v1/admin/reload` runs (every
   * worker's, through the primary); absent: this process's own.
   */
  readonly shareReload?: (local: () => Promise<ReloadReport>) => () => Promise<ReloadReport>;
  /** Reads the config file again (`reload`, SIGHUP, `POST /v1/admin/reload`); absent: no reload. */
  readonly readConfig?: () => Promise<LoadConfigResult>;
}

export interface Runtime {
  readonly gatewayAddress: string;
  readonly adminAddress: string;
  /** The console listener's address, when `console` is configured. */
  readonly consoleAddress: string | undefined;
  /** The decision listener's address, when `decision.listen` is configured. */
  readonly decisionAddress: string | undefined;
  readonly store: GrantStore;
  /**
   * Swaps in the new route map (and feature catalogue) if the file loaded; otherwise
   * keeps the current one and logs why. Other config changes need a restart.
   * Reports what changed, or why the file was refused.
   */
  reloadRoutes(next: LoadConfigResult): ReloadReport;
  /**
   * Reads the config file (`readConfig`) and applies it with `reloadRoutes`, one reload at a
   * time in call order: what SIGHUP and `POST /v1/admin/reload` do.
   */
  reload(): Promise<ReloadReport>;
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
  options.shareMetrics?.(metrics);

  const store = options.store ?? buildStore(loaded, logger, metrics);
  // Webhooks, rate limits, leak-report limits and console sessions share the grant store's Redis
  // (one Redis or a Cluster); with a store handed in (the demo) or the memory store, one process.
  const sharedRedis =
    options.store === undefined &&
    (store instanceof RedisGrantStore || store instanceof RedisClusterGrantStore);
  const cluster = sharedRedis ? clusterConfig(config.store) : undefined;
  const onCluster = cluster === undefined ? {} : { cluster };
  const webhooks = buildWebhookRuntime({
    config,
    logger,
    memory: !sharedRedis,
    ...redisOptionsOf(loaded),
    ...onCluster,
  });
  const audit = buildAuditLog(loaded, options.store !== undefined, webhooks);
  // Expiry notices are settled by the store with their events: in process, into the memory webhook store.
  if (store instanceof MemoryGrantStore && webhooks.audit.kind === 'sink')
    store.publishEventsTo(webhooks.audit.sink);
  const scheduler = buildScheduler({
    config,
    store,
    audit,
    logger,
    memory: !sharedRedis,
    ...redisOptionsOf(loaded),
    ...onCluster,
  });
  const leakReports = buildLeakReports({
    config,
    store,
    audit,
    logger,
    memory: !sharedRedis,
    ...redisOptionsOf(loaded),
    ...onCluster,
  });
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
  const trustedProxies = new TrustedProxies(config.trusted_proxies);
  const { limits } = config;
  const assertion =
    config.identity_assertion === undefined
      ? undefined
      : await loadAssertion(config.identity_assertion, config.upstream.url);
  const bodyBudget = new BodyBudget(limits.body_buffer_total_bytes);
  metrics.observeBodyBuffer(() => bodyBudget.used);
  // Allow lists and rate limits (src/limits/, docs/rate-limits.md).
  const requestLimits = buildLimits({
    config,
    logger,
    metrics,
    memory: !sharedRedis,
    ...redisOptionsOf(loaded),
    ...onCluster,
    routePatterns: new Set(config.routes.map((r) => r.route)),
  });
  const gateway = new Gateway({
    routes: routeTableOf(loaded),
    cache,
    upstream,
    lastUsed,
    logger,
    metrics,
    bodies: {
      bufferBytes: limits.body_buffer_bytes,
      minBytesPerSecond: limits.min_body_bytes_per_second,
      rateGraceMs: limits.body_rate_grace_ms,
      budget: bodyBudget,
    },
    shares: new UpstreamShares(limits.max_upstream_requests_per_client),
    basePath: config.base_path ?? null,
    dialect: config.compat === 'github' ? 'github' : 'patgate',
    requestAccessUrl: config.console === undefined ? null : requestAccessUrlFor(config.console.public_url),
    assertion: assertion?.signer ?? null,
    allowedSampleRate: config.log.allowed_sample_rate,
    leakReports: leakReports.revoker.handle,
    ...(leakReports.scanning === null ? {} : { secretScanning: leakReports.scanning.handle }),
    limits: requestLimits.limits,
  });
  const tls = config.tls === undefined ? undefined : await readTls(config.tls);
  const gatewayServer = createGatewayServer(gateway, {
    maxHeaderBytes: limits.max_header_bytes,
    maxHeaderCount: limits.max_header_count,
    maxTargetLength: limits.max_target_length,
    requestTimeoutMs: limits.request_timeout_ms,
    headersTimeoutMs: limits.headers_timeout_ms,
    keepAliveTimeoutMs: limits.idle_timeout_ms,
    maxConnectionsPerClient: limits.max_connections_per_client,
    trustedProxies,
    allowUnderscores: config.headers.allow_underscores,
    ...(tls === undefined ? {} : { tls }),
  });
  const tokens = new TokenService(store, () => features);
  const adminApp = createAdminApp({
    store,
    audit,
    tokens,
    metrics,
    logger,
    adminToken: options.adminToken,
    readiness: () => requestLimits.readiness(),
    ...(assertion === undefined ? {} : { jwks: assertion.jwks }),
    ...(options.readConfig === undefined
      ? {}
      : { reload: options.shareReload === undefined ? () => reload() : options.shareReload(() => reload()) }),
    webhooks: { store: webhooks.store, allowPrivateTargets: webhooks.allowPrivateTargets },
  });
  const adminListener = getRequestListener(adminApp.fetch);
  let draining = false;
  const adminServer = createServer((req, res) => {
    // A draining instance leaves the load balancer's rotation while it finishes
    // what it has; the admin listener itself stays up until the drain is over.
    if (draining && req.url === '/readyz') {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"draining"}');
      return;
    }
    void adminListener(req, res);
  });
  const decisionServer =
    config.decision === undefined
      ? null
      : createDecisionServer(gateway, {
          reader: {
            maxTargetLength: limits.max_target_length,
            maxHeaderCount: limits.max_header_count,
            trustedProxies,
            allowUnderscores: config.headers.allow_underscores,
          },
          trustedProxies,
          headersTimeoutMs: limits.headers_timeout_ms,
          maxHeaderBytes: limits.max_header_bytes,
        });
  metrics.observeCacheSize(() => cache.size);
  metrics.observeCacheCounts(() => cache.stats);
  let current = loaded;

  const consoleListener =
    config.console === undefined
      ? null
      : buildConsoleListener({
          config,
          console: config.console,
          store,
          audit,
          tokens,
          logger,
          trustedProxies,
          sharedStore: options.store !== undefined,
          ...onCluster,
          features: () => features,
          routes: () => routeTableOf(current),
        });
  let consoleInfo: string | undefined;
  let gatewayInfo: string;
  let adminInfo: string;
  let decisionInfo: string | undefined;
  try {
    gatewayInfo = formatAddress(await listen(gatewayServer, config.listen, 'listen'));
    adminInfo = formatAddress(await listen(adminServer, config.admin.listen, 'admin.listen'));
    if (decisionServer !== null && config.decision !== undefined) {
      decisionInfo = formatAddress(await listen(decisionServer, config.decision.listen, 'decision.listen'));
    }
    consoleInfo = await consoleListener?.listen();
  } catch (error) {
    gatewayServer.close();
    adminServer.close();
    decisionServer?.close();
    // Everything that holds a connection, or the process would not exit after saying why.
    await Promise.allSettled([
      consoleListener?.close(),
      upstream.close(),
      lastUsed.close(),
      webhooks.close(),
      leakReports.close(),
      scheduler.close(),
      Promise.resolve(requestLimits.close()),
      options.store ? Promise.resolve() : store.close(),
      audit instanceof RedisAuditLog ? audit.close() : Promise.resolve(),
    ]);
    throw error;
  }
  // Deliveries run beside the listeners, never on a request's path.
  webhooks.start();
  // Expiry notices and revoke_unused_after_days: on whichever instance holds the lease.
  scheduler.scheduler.start();

  // Two overlapping reads of the file must not land out of order and leave the older map in effect.
  let reloads: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<ReloadReport> => {
    const { readConfig } = options;
    if (readConfig === undefined) return Promise.reject(new Error('no config file to reload'));
    const next = reloads.then(async () => reloadRoutes(await readConfig()));
    reloads = next.catch(() => {});
    return next;
  };

  function reloadRoutes(next: LoadConfigResult): ReloadReport {
    if (!next.ok) {
      metrics.routeReloads.inc({ result: 'refused' });
      logger.error({ errors: next.errors }, 'route reload refused; keeping the current map');
      return { ok: false, errors: next.errors };
    }
    // Against what runs: startup-only keys keep the values the process started with.
    const restartRequired = restartOnlyChanges(loaded.config, next.loaded.config);
    if (restartRequired.length > 0) {
      logger.warn(
        { keys: restartRequired },
        'config changes outside the route map need a restart; not applied',
      );
    }
    const nextTls = next.loaded.config.tls;
    if (nextTls !== undefined && gatewayServer instanceof TlsServer) {
      // A renewed certificate is taken without a restart; a file that does not read keeps the old one.
      readTls(nextTls).then(
        (material) => {
          gatewayServer.setSecureContext(tlsOptions(material));
          logger.info({ cert_file: nextTls.cert_file }, 'TLS certificate reloaded');
        },
        (err: unknown) => logger.error({ err }, 'TLS certificate reload refused; keeping the current one'),
      );
    }
    const routes = diffRoutes(current.config, next.loaded.config);
    features = next.loaded.config.features;
    gateway.setRoutes(routeTableOf(next.loaded));
    current = next.loaded;
    metrics.routeReloads.inc({ result: 'ok' });
    logger.info({ routes: next.loaded.matcher.rules.length, changes: routes }, 'route map reloaded');
    return { ok: true, routes, restartRequired };
  }

  return {
    gatewayAddress: gatewayInfo,
    adminAddress: adminInfo,
    consoleAddress: consoleInfo,
    decisionAddress: decisionInfo,
    store,
    reloadRoutes,
    reload,
    async close(graceMs: number) {
      draining = true;
      const closed = closeServer(gatewayServer);
      const decisionClosed = decisionServer === null ? Promise.resolve() : closeServer(decisionServer);
      gatewayServer.closeIdleConnections();
      decisionServer?.closeIdleConnections();
      const drained = await Promise.race([
        gateway.idle().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!drained) {
        logger.warn({ in_flight: gateway.inFlight }, 'grace period over; closing remaining connections');
      }
      gatewayServer.closeAllConnections();
      decisionServer?.closeAllConnections();
      await Promise.all([closed, decisionClosed]);
      gateway.flushAccessLog();
      adminServer.closeAllConnections();
      await closeServer(adminServer);
      await consoleListener?.close();
      await lastUsed.close();
      await scheduler.close();
      await webhooks.close();
      await leakReports.close();
      requestLimits.close();
      await upstream.close();
      if (options.store === undefined) await store.close();
      if (audit instanceof RedisAuditLog) await audit.close();
    },
  };
}

function buildStore(loaded: LoadedConfig, logger: Logger, metrics: Metrics): GrantStore {
  const { store } = loaded.config;
  const sentinel = sentinelConfig(store);
  const cluster = clusterConfig(store);
  if (cluster !== undefined) {
    return new RedisClusterGrantStore({
      ...cluster,
      keyPrefix: store.key_prefix,
      // Beside the expiry index (one slot), so that settling a notice stays one step.
      eventStream: {
        key: eventStreamKey(new ClusterKeys(store.key_prefix).sidePrefix()),
        maxLen: EVENT_STREAM_MAX_LEN,
      },
      commandTimeoutMs: store.command_timeout_ms,
      logger,
      observer: {
        invalidationLag: (seconds) => metrics.invalidationLag.observe(seconds),
        commandFailed: (kind) => metrics.storeCommandFailures.inc({ kind }),
      },
    });
  }
  if (store.redis_url === undefined) {
    logger.warn(
      'no store.redis_url: using the in-memory store (one process, lost on restart, not for production); set store.redis_url or PATGATE_REDIS_URL',
    );
    return new MemoryGrantStore();
  }
  return new RedisGrantStore({
    url: store.redis_url,
    keyPrefix: store.key_prefix,
    commandTimeoutMs: store.command_timeout_ms,
    // Settled expiry notices append their events to the webhook event stream in the same step.
    eventStream: { key: eventStreamKey(store.key_prefix), maxLen: EVENT_STREAM_MAX_LEN },
    logger,
    observer: {
      invalidationLag: (seconds) => metrics.invalidationLag.observe(seconds),
      commandFailed: (kind) => metrics.storeCommandFailures.inc({ kind }),
    },
    ...(sentinel === undefined ? {} : { sentinel }),
  });
}

function sentinelConfig(store: LoadedConfig['config']['store']): RedisSentinelOptions | undefined {
  if (store.sentinels === undefined || store.sentinel_name === undefined) return undefined;
  return {
    ...sentinelOf(store.sentinels, store.sentinel_name),
    ...(store.sentinel_password === undefined ? {} : { password: store.sentinel_password }),
  };
}

function sentinelOf(addresses: readonly string[], name: string): RedisSentinelOptions {
  return { name, sentinels: addresses.map(hostPortOf) };
}

function hostPortOf(address: string): ClusterNode {
  const colon = address.lastIndexOf(':');
  // "[::1]:26379": the brackets are URL syntax, not part of the host.
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

/** `store.cluster` as the Cluster store and audit log take it. */
export function clusterConfig(
  store: LoadedConfig['config']['store'],
): { nodes: ClusterNode[]; nodeOptions: { username?: string; password?: string; tls?: object } } | undefined {
  const { cluster } = store;
  if (cluster === undefined) return undefined;
  return {
    nodes: cluster.nodes.map(hostPortOf),
    nodeOptions: {
      ...(cluster.username === undefined ? {} : { username: cluster.username }),
      ...(cluster.password === undefined ? {} : { password: cluster.password }),
      ...(cluster.tls ? { tls: {} } : {}),
    },
  };
}

const AUDIT_MAX_EVENTS = 100_000;

function buildAuditLog(loaded: LoadedConfig, sharedStore: boolean, webhooks: WebhookRuntime): AuditLog {
  const { store } = loaded.config;
  // The audit write is where webhook events are written: in one step with the entry.
  const { audit: events } = webhooks;
  const cluster = clusterConfig(store);
  if (!sharedStore && cluster !== undefined) {
    // Shared and durable on a Cluster too, its webhook events in the same slot (`{_side}`).
    return new RedisAuditLog({
      url: '',
      cluster,
      keyPrefix: new ClusterKeys(store.key_prefix).sidePrefix(),
      commandTimeoutMs: store.command_timeout_ms,
      maxEvents: AUDIT_MAX_EVENTS,
      ...(events.kind === 'stream' ? { eventStream: { key: events.key, maxLen: events.maxLen } } : {}),
    });
  }
  if (sharedStore || store.redis_url === undefined || events.kind === 'sink') {
    return new MemoryAuditLog(AUDIT_MAX_EVENTS, Date.now, events.kind === 'sink' ? events.sink : undefined);
  }
  const sentinel = sentinelConfig(store);
  return new RedisAuditLog({
    url: store.redis_url,
    keyPrefix: store.key_prefix,
    commandTimeoutMs: store.command_timeout_ms,
    maxEvents: AUDIT_MAX_EVENTS,
    eventStream: { key: events.key, maxLen: events.maxLen },
    ...(sentinel === undefined
      ? {}
      : { redisOptions: sentinelConnectionOptions(sentinel, store.command_timeout_ms) }),
  });
}

/** The signer and the JWKS it publishes; a key that does not read or parse names its key. */
async function loadAssertion(
  options: NonNullable<LoadedConfig['config']['identity_assertion']>,
  upstreamUrl: string,
): Promise<{ signer: AssertionSigner; jwks: { keys: JWK[] } }> {
  const read = async (key: string, file: string, kind: 'private' | 'any') => {
    try {
      return parseKey(await readFile(file), kind);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'not a usable PEM key';
      throw new Error(`identity_assertion.${key}: cannot use ${JSON.stringify(file)}: ${code}`);
    }
  };
  const keys: AssertionKeys = {
    signing: await read('key_file', options.key_file, 'private'),
    previous: await Promise.all(
      options.previous_key_files.map((file, i) => read(`previous_key_files[${i}]`, file, 'any')),
    ),
  };
  try {
    algorithmOf(keys.signing);
    for (const key of keys.previous) algorithmOf(key);
  } catch (error) {
    throw new Error(`identity_assertion: ${(error as Error).message}`);
  }
  const signer = await AssertionSigner.create(keys, {
    header: options.header.toLowerCase(),
    issuer: 'patgate',
    audience: options.audience ?? new URL(upstreamUrl).origin,
    ttlSeconds: options.ttl_seconds,
  });
  return { signer, jwks: await jwksOf(keys) };
}

/** Both PEM files of `tls`; a failure names the key and the file. */
async function readTls(tls: NonNullable<LoadedConfig['config']['tls']>): Promise<GatewayTls> {
  const read = async (key: 'cert_file' | 'key_file'): Promise<Buffer> => {
    try {
      return await readFile(tls[key]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new Error(`tls.${key}: cannot read ${JSON.stringify(tls[key])}: ${code}`);
    }
  };
  return { cert: await read('cert_file'), key: await read('key_file') };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The grant store's Sentinel settings, for the other Redis clients (webhooks). */
export function redisOptionsOf(loaded: LoadedConfig): { redisOptions?: RedisOptions } {
  const { store } = loaded.config;
  const sentinel = sentinelConfig(store);
  return sentinel === undefined
    ? {}
    : { redisOptions: sentinelConnectionOptions(sentinel, store.command_timeout_ms) };
}
