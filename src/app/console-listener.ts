import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { TokenService } from '../admin/token-service.js';
import type { Config, FeatureLevels } from '../config/schema.js';
import { createConsoleApp } from '../console/app.js';
import type { SignInMode } from '../console/context.js';
import { OidcSignIn } from '../console/oidc-sign-in.js';
import type { RouteMap } from '../console/pages/deps.js';
import type { Logger } from '../observability/logger.js';
import type { TrustedProxies } from '../request/trusted-proxies.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { ClusterSettings } from '../store/redis-cluster-client.js';
import { sentinelConnectionOptions } from '../store/redis-connection.js';
import { MemorySessionStore } from '../store/session-memory-store.js';
import { RedisSessionStore } from '../store/session-redis-store.js';
import type { SessionLimits, SessionStore } from '../store/session-store.js';
import { formatAddress, listen } from './listen.js';

type ConsoleConfig = NonNullable<Config['console']>;

export interface ConsoleListenerOptions {
  readonly config: Config;
  readonly console: ConsoleConfig;
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly trustedProxies: TrustedProxies;
  /** The grant store was handed in (the demo): sessions stay in memory too. */
  readonly sharedStore: boolean;
  /** `store.cluster`: sessions live on the Cluster. */
  readonly cluster?: ClusterSettings;
  readonly env?: NodeJS.ProcessEnv;
  /** The feature catalogue and route map as configured now (both swap on reload). */
  readonly features: () => Readonly<Record<string, FeatureLevels>>;
  readonly routes: () => RouteMap;
}

/** The console's listener and what it owns; built at startup, listening once `listen` resolves. */
export interface ConsoleListener {
  /** Binds `console.listen`; resolves with the bound address (a `ListenError` names the key). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Builds the console app, its session store and its server (docs/console.md). */
export function buildConsoleListener(options: ConsoleListenerOptions): ConsoleListener {
  const { config, console: settings, logger } = options;
  const limits: SessionLimits = {
    idleMs: Math.max(1, Math.round(settings.session.idle_minutes * 60_000)),
    absoluteMs: Math.max(1, Math.round(settings.session.absolute_hours * 3_600_000)),
  };
  const sessions = buildSessionStore(config, limits, options.sharedStore, options.cluster);
  const mode = signInMode(settings, options.trustedProxies, options.env ?? process.env);
  if (mode.kind === 'trusted_header' && config.trusted_proxies.length === 0) {
    logger.warn(
      { header: mode.header },
      'console.trusted_identity_header is believed only from trusted_proxies, which is empty: nobody can sign in',
    );
  }
  const app = createConsoleApp({
    store: options.store,
    audit: options.audit,
    tokens: options.tokens,
    sessions,
    limits,
    mode,
    publicUrl: settings.public_url,
    logger,
    features: options.features,
    routes: options.routes,
    siteAdmins: settings.site_admins,
  });
  const server = createServer(getRequestListener(app.fetch));
  return {
    async listen() {
      const address = formatAddress(await listen(server, settings.listen, 'console.listen'));
      logger.info(
        { console: address, public_url: settings.public_url, sign_in: mode.kind },
        'console listening',
      );
      return address;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sessions.close();
    },
  };
}

function signInMode(
  settings: ConsoleConfig,
  trustedProxies: TrustedProxies,
  env: NodeJS.ProcessEnv,
): SignInMode {
  if (settings.oidc !== undefined) {
    const { issuer, client_id, client_secret_env, user_claim } = settings.oidc;
    const clientSecret = env[client_secret_env];
    if (clientSecret === undefined || clientSecret === '') {
      throw new Error(
        `console.oidc.client_secret_env: the environment variable ${client_secret_env} is not set`,
      );
    }
    return {
      kind: 'oidc',
      oidc: new OidcSignIn({
        issuer,
        clientId: client_id,
        clientSecret,
        userClaim: user_claim,
        redirectUri: new URL('/console/callback', settings.public_url).href,
      }),
    };
  }
  const header = settings.trusted_identity_header;
  if (header === undefined) throw new Error('console: neither oidc nor trusted_identity_header');
  return { kind: 'trusted_header', header: header.toLowerCase(), trustedProxies };
}

function buildSessionStore(
  config: Config,
  limits: SessionLimits,
  sharedStore: boolean,
  cluster: ClusterSettings | undefined,
): SessionStore {
  const { store } = config;
  if (!sharedStore && cluster !== undefined) {
    return new RedisSessionStore({
      url: '',
      cluster,
      keyPrefix: store.key_prefix,
      commandTimeoutMs: store.command_timeout_ms,
      limits,
    });
  }
  if (sharedStore || store.redis_url === undefined) return new MemorySessionStore({ limits });
  const sentinel =
    store.sentinels === undefined || store.sentinel_name === undefined
      ? undefined
      : sentinelConnectionOptions(
          {
            name: store.sentinel_name,
            sentinels: store.sentinels.map((address) => {
              const colon = address.lastIndexOf(':');
              return {
                host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
                port: Number(address.slice(colon + 1)),
              };
            }),
          },
          store.command_timeout_ms,
        );
  return new RedisSessionStore({
    url: store.redis_url,
    keyPrefix: store.key_prefix,
    commandTimeoutMs: store.command_timeout_ms,
    limits,
    ...(sentinel === undefined ? {} : { redisOptions: sentinel }),
  });
}
