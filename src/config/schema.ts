import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { parseWindow } from '../limits/window.js';
import { parseCidr } from './cidr.js';
import { LEVELS, type Level } from './permission.js';

/** `host:port`, `[v6]:port` or `:port`. Port 0 asks the OS for a free one. */
const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:8080"')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

/** `host:port` of another server (a Redis Sentinel): the host is required. */
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected "host:port", e.g. "10.0.0.5:26379"')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'port must be 1-65535');

const CLUSTER_SEEDS =
  'a Redis Cluster is configured as store.cluster.nodes: ["host:port", ...], not as several hosts in one URL';

/** The authority of a redis URL without its credentials (which may hold any character). */
function hostsOf(url: string): string {
  const authority = url.replace(/^rediss?:\/\//, '').split(/[/?#]/, 1)[0] ?? '';
  return authority.slice(authority.lastIndexOf('@') + 1);
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const permissionText = z.string().min(1);

const routeSchema = z
  .strictObject({
    route: z.string().min(1),
    permission: z.union([permissionText, z.array(permissionText).min(1)]).optional(),
    any_of: z.array(z.array(permissionText).min(1)).min(1).optional(),
    public: z.literal(true).optional(),
    // Overrides limits.max_body_bytes for this route (413 past it); 0 refuses any body.
    max_body_bytes: z.int().nonnegative().optional(),
    resource: z
      .strictObject({
        owner: z.string().min(1),
        repo: z.string().min(1).optional(),
      })
      .optional(),
    // Path parameters the upstream authorizes itself (docs/routes.md, "What the upstream must
    // check itself"): the operator's acknowledgement that the gateway does not check them.
    upstream_checks: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name, e.g. "username"'))
      .min(1)
      .optional(),
  })
  .superRefine((r, ctx) => {
    const kinds = [r.permission !== undefined, r.any_of !== undefined, r.public === true].filter(
      Boolean,
    ).length;
    if (kinds !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'a route needs exactly one of "permission", "any_of" or "public: true"',
      });
    }
    if (r.public === true && r.resource !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['resource'], message: 'a public route names no resource' });
    }
    if (r.public === true && r.upstream_checks !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstream_checks'],
        message: 'a public route checks no token, so there is nothing to leave to the upstream',
      });
    }
  });

/** An IPv4 or IPv6 address, or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
const cidr = z
  .string()
  .refine((s) => parseCidr(s) !== null, 'expected an IP address or CIDR block, e.g. "10.0.0.0/8"');

const LIMIT_DEFAULTS = {
  max_header_bytes: 16_384,
  max_header_count: 100,
  max_target_length: 8_192,
  max_body_bytes: 104_857_600,
  headers_timeout_ms: 20_000,
  request_timeout_ms: 300_000,
  idle_timeout_ms: 5_000,
  max_connections_per_client: 256,
  body_buffer_bytes: 1_048_576,
  body_buffer_total_bytes: 67_108_864,
  min_body_bytes_per_second: 256,
  body_rate_grace_ms: 5_000,
  max_upstream_requests_per_client: 64,
};

/** Bounds on what one client may make the gateway hold (docs/security-model.md, "Limits"). */
const limitsSchema = z
  .strictObject({
    max_header_bytes: z.int().min(1_024).max(1_048_576).default(LIMIT_DEFAULTS.max_header_bytes),
    max_header_count: z.int().positive().max(10_000).default(LIMIT_DEFAULTS.max_header_count),
    max_target_length: z.int().min(16).max(1_048_576).default(LIMIT_DEFAULTS.max_target_length),
    max_body_bytes: z.int().nonnegative().default(LIMIT_DEFAULTS.max_body_bytes),
    headers_timeout_ms: z.int().positive().max(600_000).default(LIMIT_DEFAULTS.headers_timeout_ms),
    request_timeout_ms: z.int().positive().max(3_600_000).default(LIMIT_DEFAULTS.request_timeout_ms),
    idle_timeout_ms: z.int().positive().max(600_000).default(LIMIT_DEFAULTS.idle_timeout_ms),
    max_connections_per_client: z
      .int()
      .positive()
      .max(1_000_000)
      .default(LIMIT_DEFAULTS.max_connections_per_client),
    // A body declared at most this long is read whole before an upstream connection is taken.
    body_buffer_bytes: z.int().nonnegative().max(1_073_741_824).default(LIMIT_DEFAULTS.body_buffer_bytes),
    // Bytes of request bodies held in memory at once, across all requests; past it, 503.
    body_buffer_total_bytes: z
      .int()
      .nonnegative()
      .max(68_719_476_736)
      .default(LIMIT_DEFAULTS.body_buffer_total_bytes),
    // After the grace period a body slower than this on average gets 408; 0 turns it off.
    min_body_bytes_per_second: z
      .int()
      .nonnegative()
      .max(1_073_741_824)
      .default(LIMIT_DEFAULTS.min_body_bytes_per_second),
    body_rate_grace_ms: z.int().nonnegative().max(600_000).default(LIMIT_DEFAULTS.body_rate_grace_ms),
    // Upstream requests one client address may have in flight (after trusted_proxies).
    max_upstream_requests_per_client: z
      .int()
      .positive()
      .max(1_000_000)
      .default(LIMIT_DEFAULTS.max_upstream_requests_per_client),
  })
  .refine((l) => l.headers_timeout_ms <= l.request_timeout_ms, {
    path: ['headers_timeout_ms'],
    message: 'must not exceed request_timeout_ms (the headers are part of the request)',
  })
  .default(LIMIT_DEFAULTS);

/** An HTTP header name (RFC 9110 token characters). */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected a header name, e.g. "X-Forwarded-User"');

/** A feature's levels, with the title and description the console shows beside it, when given. */
export type FeatureLevels = Level[] & { readonly title?: string; readonly description?: string };

const featureLevels = z.array(z.enum(LEVELS)).min(1);

/**
 * A feature: its levels (`[read, write]`), or `{ levels, title, description }` for the
 * console's permission picker. Either way the result is the levels array, so every reader of
 * the catalogue keeps reading levels; the console reads the title and description off it.
 */
const featureSchema = z
  .union([
    featureLevels,
    z.strictObject({
      levels: featureLevels,
      title: z.string().min(1).max(100).optional(),
      description: z.string().min(1).max(500).optional(),
    }),
  ])
  .transform((value): FeatureLevels => {
    if (Array.isArray(value)) return value;
    const levels: FeatureLevels = [...value.levels];
    return Object.assign(levels, {
      ...(value.title === undefined ? {} : { title: value.title }),
      ...(value.description === undefined ? {} : { description: value.description }),
    });
  });

/**
 * The people-facing console (docs/console.md): its own listener, signed in with OIDC or
 * behind an SSO proxy that names the user in a header (believed only from trusted_proxies).
 */
const consoleSchema = z
  .strictObject({
    listen: listenAddress,
    // The console's origin as browsers see it: the OIDC callback and redirects are built on it.
    // The session cookie is `__Host-` (Path=/), so the console owns the whole origin: no path.
    public_url: httpUrl.refine((u) => {
      const url = URL.parse(u);
      return url !== null && url.pathname === '/' && url.search === '' && url.hash === '';
    }, 'expected an origin without a path, e.g. "https://tokens.example.com"'),
    oidc: z
      .strictObject({
        // https, or http on a loopback host (a provider on the same machine, tests).
        issuer: httpUrl.refine(
          (u) =>
            u.startsWith('https://') ||
            /^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?(\/|$)/i.test(u),
          'expected an https:// issuer (http:// only on a loopback host)',
        ),
        client_id: z.string().min(1),
        // The name of the environment variable holding the client secret, never the secret.
        client_secret_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
        // The claim that names the patgate user (lower-cased; must be a valid login).
        user_claim: z.string().min(1).default('sub'),
      })
      .optional(),
    trusted_identity_header: headerName.optional(),
    // People (patgate logins) who see every org's pages, token search and the route map.
    site_admins: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, 'expected a login')
          .transform((s) => s.toLowerCase()),
      )
      .default([]),
    session: z
      .strictObject({
        // Fractions are allowed (tests use seconds).
        idle_minutes: z.number().positive().max(10_080).default(60),
        absolute_hours: z.number().positive().max(720).default(12),
      })
      .default({ idle_minutes: 60, absolute_hours: 12 }),
  })
  .refine((c) => (c.oidc === undefined) !== (c.trusted_identity_header === undefined), {
    message: 'the console needs exactly one of "oidc" or "trusted_identity_header"',
  });

const WEBHOOK_DEFAULTS = {
  timeout_ms: 5_000,
  max_attempts: 12,
  allow_private_targets: false,
  backoff_base_ms: 60_000,
  backoff_max_ms: 21_600_000,
  concurrency: 16,
  concurrency_per_subscription: 2,
  poll_interval_ms: 1_000,
};

/** Webhook delivery (docs/events.md). The defaults retry for about 20 h over 12 attempts, within 24 h. */
const webhooksSchema = z
  .strictObject({
    timeout_ms: z.int().positive().max(60_000).default(WEBHOOK_DEFAULTS.timeout_ms),
    max_attempts: z.int().positive().max(100).default(WEBHOOK_DEFAULTS.max_attempts),
    // Receivers on loopback, private and link-local addresses (tests, labs): off, an SSRF guard.
    allow_private_targets: z.boolean().default(WEBHOOK_DEFAULTS.allow_private_targets),
    backoff_base_ms: z.int().positive().max(3_600_000).default(WEBHOOK_DEFAULTS.backoff_base_ms),
    backoff_max_ms: z.int().positive().max(86_400_000).default(WEBHOOK_DEFAULTS.backoff_max_ms),
    concurrency: z.int().positive().max(1_000).default(WEBHOOK_DEFAULTS.concurrency),
    // Of those, attempts one subscription may hold: a receiver that never answers cannot starve the rest.
    concurrency_per_subscription: z
      .int()
      .positive()
      .max(1_000)
      .default(WEBHOOK_DEFAULTS.concurrency_per_subscription),
    poll_interval_ms: z.int().positive().max(60_000).default(WEBHOOK_DEFAULTS.poll_interval_ms),
  })
  .default(WEBHOOK_DEFAULTS);

/** The public leak report endpoint (POST /_patgate/credentials/revoke). */
const leakReportsSchema = z
  .strictObject({
    // Reports one client address may make per hour.
    per_address_per_hour: z.int().positive().max(1_000_000).default(60),
  })
  .default({ per_address_per_hour: 60 });

/** A PEM public key that is an ECDSA P-256 key, as GitHub's secret scanning keys are. */
function isP256PublicKeyPem(pem: string): boolean {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

/**
 * GitHub's secret scanning partner endpoint (POST /_patgate/secret-scanning): the keys in
 * the shape of GitHub's public-keys document (https://api.github.com/meta/public_keys/secret_scanning).
 */
const secretScanningSchema = z.strictObject({
  public_keys: z
    .array(
      z.strictObject({
        key_identifier: z.string().min(1).max(512),
        key: z.string().refine(isP256PublicKeyPem, 'expected a PEM ECDSA P-256 public key'),
        is_current: z.boolean().default(false),
      }),
    )
    .min(1),
  // Requests one client address may make per hour (GitHub sends from a few addresses).
  per_address_per_hour: z.int().positive().max(1_000_000).default(1_000),
});

/** The fleet-wide scheduler: expiry events and `revoke_unused_after_days` (docs/events.md). */
const schedulerSchema = z
  .strictObject({
    // How often the instance holding the scheduler lock looks for due expiry notices.
    interval_ms: z.int().min(50).max(3_600_000).default(60_000),
    // How often it sweeps for tokens unused past their org's revoke_unused_after_days.
    unused_sweep_interval_ms: z.int().min(50).max(86_400_000).default(3_600_000),
  })
  .default({ interval_ms: 60_000, unused_sweep_interval_ms: 3_600_000 });

/** `30s`, `15m`, `1h`, `1d`: a rate-limit window, aligned to the epoch (docs/rate-limits.md). */
const rateWindow = z
  .string()
  .refine((w) => parseWindow(w) !== null, 'expected a window like "1h", "15m", "30s" or "1d" (1 s to 7 d)');

const HTTP_METHOD = /^[A-Z]+$/;

/**
 * GitHub's model of rate limits (docs/rate-limits.md): points per window, shared by every
 * instance through Redis; off when absent.
 */
const rateLimitsSchema = z.strictObject({
  default: z.strictObject({
    limit: z.int().min(1).max(1_000_000_000),
    window: rateWindow.default('1h'),
    per: z.enum(['user', 'token', 'org']).default('user'),
  }),
  // What a request costs (1 point otherwise): the first entry naming its route, else its method.
  costs: z
    .array(
      z
        .strictObject({
          methods: z
            .array(z.string().regex(HTTP_METHOD, 'expected an upper-case method, e.g. "POST"'))
            .min(1)
            .optional(),
          route: z.string().min(1).optional(),
          points: z.int().min(0).max(1_000_000),
        })
        .refine((c) => (c.methods === undefined) !== (c.route === undefined), {
          message: 'a cost names exactly one of "methods" or "route"',
        }),
    )
    .default([]),
  // The secondary limit: one token's requests in flight on an instance.
  concurrency: z
    .strictObject({ per: z.literal('token').default('token'), max: z.int().min(1).max(100_000).default(100) })
    .default({ per: 'token', max: 100 }),
  // How often each instance reconciles its counts with Redis.
  reconcile_interval_ms: z.int().min(10).max(5_000).default(100),
});

export const configSchema = z.strictObject({
  listen: listenAddress.default('127.0.0.1:8080'),
  upstream: z.strictObject({
    url: httpUrl,
    timeout_ms: z.int().positive().max(3_600_000).default(30_000),
    connect_timeout_ms: z.int().positive().max(600_000).default(5_000),
    connections: z.int().positive().max(10_000).default(128),
  }),
  store: z
    .strictObject({
      redis_url: z
        .string()
        .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
        // "redis://a:6379,b:6379" is how some clients spell a cluster seed list.
        .refine((url) => !hostsOf(url).includes(','), CLUSTER_SEEDS)
        .optional(),
      key_prefix: z
        .string()
        .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
        .default('patgate:'),
      command_timeout_ms: z.int().positive().max(60_000).default(500),
      // Sentinel: the primary is asked of these; redis_url still gives credentials, database and TLS.
      sentinels: z.array(hostPort).min(1).optional(),
      sentinel_name: z.string().min(1).optional(),
      // Sentinels that require AUTH (their own password, not the primary's in redis_url).
      sentinel_password: z.string().min(1).optional(),
      // Redis Cluster (Redis >= 7, sharded pub/sub): any of these nodes tells patgate the rest.
      cluster: z
        .strictObject({
          nodes: z.array(hostPort).min(1),
          username: z.string().min(1).optional(),
          password: z.string().min(1).optional(),
          tls: z.boolean().default(false),
        })
        .optional(),
    })
    .superRefine((store, ctx) => {
      if ((store.sentinels === undefined) !== (store.sentinel_name === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [store.sentinels === undefined ? 'sentinels' : 'sentinel_name'],
          message: 'sentinels and sentinel_name go together',
        });
      }
      if (store.sentinel_password !== undefined && store.sentinels === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sentinel_password'],
          message: 'sentinel_password needs sentinels',
        });
      }
      if (store.cluster !== undefined && store.redis_url !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis_url'],
          message: 'store.redis_url and store.cluster exclude each other (PATGATE_REDIS_URL sets redis_url)',
        });
      }
      if (store.cluster !== undefined && store.sentinels !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster'],
          message: 'store.cluster and store.sentinels exclude each other: a Cluster fails over by itself',
        });
      }
      if (store.sentinels !== undefined && store.redis_url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis_url'],
          message: 'Sentinel mode needs redis_url for credentials and database (its host is not used)',
        });
      }
    })
    .default({ key_prefix: 'patgate:', command_timeout_ms: 500 }),
  cache: z
    .strictObject({
      max_entries: z.int().positive().max(10_000_000).default(100_000),
      ttl_ms: z.int().positive().max(86_400_000).default(10_000),
      negative_ttl_ms: z.int().positive().max(86_400_000).default(1_000),
    })
    .default({ max_entries: 100_000, ttl_ms: 10_000, negative_ttl_ms: 1_000 }),
  admin: z
    .strictObject({
      listen: listenAddress,
    })
    .default({ listen: '127.0.0.1:8081' }),
  features: z.record(
    z.string().regex(/^[a-z][a-z0-9_]*$/, 'feature names are lowercase letters, digits and _'),
    featureSchema,
  ),
  routes: z.array(routeSchema),
  implicit: z.array(permissionText).default([]),
  unmatched: z.literal('deny').default('deny'),
  hide_forbidden: z.boolean().default(true),
  shutdown_grace_ms: z.int().nonnegative().max(600_000).default(10_000),
  // Event loops serving the listeners (docs/operations.md, "Every core"): 1 is one process; N > 1
  // (or `auto`, one per CPU) is a primary forking N workers that share every listener's port.
  workers: z
    .union([z.literal('auto'), z.int().min(1).max(1_024)], {
      error: 'expected "auto" or a number of workers from 1 to 1024',
    })
    .default(1),
  // Peers whose X-Forwarded-For/-Proto/-Host are believed and extended; empty: nobody's.
  trusted_proxies: z.array(cidr).default([]),
  limits: limitsSchema,
  headers: z
    .strictObject({
      // Forward client header names holding "_" (nginx's underscores_in_headers). Spellings of
      // the gateway's own and provenance headers are dropped either way.
      allow_underscores: z.boolean().default(false),
    })
    .default({ allow_underscores: false }),
  // HTTPS on the gateway listener; both files are read again on SIGHUP.
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  // Stripped before matching (GitHub Enterprise serves its API under /api/v3); requests
  // outside it are no route. The upstream URL may carry its own prefix.
  base_path: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~!$&'()*+,=:@-]+)+$/, 'expected a path like "/api/v3" (no trailing "/")')
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'no "." or ".." segments')
    .optional(),
  // GitHub's header names and error members, for GitHub clients (Octokit, gh).
  compat: z.literal('github').optional(),
  log: z
    .strictObject({
      // Share of allowed requests written to the access log (one JSON line each); refusals
      // are always written. Lower it for very busy gateways.
      allowed_sample_rate: z.number().min(0).max(1).default(1),
    })
    .default({ allowed_sample_rate: 1 }),
  // The decision-only listener for nginx auth_request, Traefik/Caddy forward auth and Envoy
  // ext_authz: the pipeline up to the decision, answering instead of forwarding.
  decision: z.strictObject({ listen: listenAddress }).optional(),
  // A signed JWT for the upstream, beside X-Patgate-User: who holds the token and what it
  // reaches. The header lives in the gateway-owned X-Patgate- namespace, whose client copies
  // are always dropped. JWKS on the admin listener at /.well-known/jwks.json.
  identity_assertion: z
    .strictObject({
      header: z
        .string()
        .regex(
          /^[Xx]-[Pp]atgate-[A-Za-z0-9-]+$/,
          'must start with "X-Patgate-" (the namespace clients cannot set)',
        )
        .default('X-Patgate-Assertion'),
      key_file: z.string().min(1),
      // Published in the JWKS beside the signing key, for a rotation.
      previous_key_files: z.array(z.string().min(1)).default([]),
      ttl_seconds: z.int().min(10).max(3_600).default(60),
      // `aud`; the upstream's origin by default.
      audience: z.string().min(1).optional(),
    })
    .optional(),
  // The people-facing console and self-service API (docs/console.md).
  console: consoleSchema.optional(),
  webhooks: webhooksSchema,
  leak_reports: leakReportsSchema,
  rate_limits: rateLimitsSchema.optional(),
  secret_scanning: secretScanningSchema.optional(),
  scheduler: schedulerSchema,
});

/** The config as written by the operator, after defaults. */
export type Config = z.infer<typeof configSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
