import { Hono } from 'hono';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { WebhookStore } from '../store/webhook-store.js';
import { ADMIN_OPERATIONS } from './admin-operations.js';
import { AuditRecorder } from './audit-recorder.js';
import { registerAuditRoutes } from './audit-routes.js';
import { AuthThrottle, type AuthThrottleOptions, DEFAULT_AUTH_THROTTLE } from './auth-throttle.js';
import { authenticate } from './authenticate.js';
import { limitBody } from './body-limit.js';
import type { AdminEnv } from './context.js';
import { answerError } from './errors.js';
import { ADMIN_MAX_BODY_BYTES, notFound, problemJson } from './http.js';
import { registerInvitationRoutes } from './invitation-routes.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi.js';
import { registerOrgRoutes } from './org-routes.js';
import { registerOrgTokenRoutes } from './org-token-routes.js';
import { type Reload, registerReloadRoutes } from './reload-routes.js';
import { registerTokenRoutes } from './token-routes.js';
import type { TokenService } from './token-service.js';
import { registerUserRoutes } from './user-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';

export interface AdminAppOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The site admin credential; undefined: only org admins (with their own tokens) can call. */
  readonly adminToken: string | undefined;
  readonly now?: () => number;
  /** The identity assertion's public keys, served at `/.well-known/jwks.json` when configured. */
  readonly jwks?: { readonly keys: readonly object[] };
  /** Failed authentications allowed per client address and window (default 10 a minute). */
  readonly authThrottle?: AuthThrottleOptions;
  /** Reloads the config file as SIGHUP does (`POST /v1/admin/reload`); absent: no such route. */
  readonly reload?: Reload;
  /** Details `/readyz` adds (the rate limits' state); absent: none. */
  readonly readiness?: () => Record<string, unknown>;
  /** Webhook subscriptions (`/v1/webhooks`, `/v1/orgs/{org}/webhooks`); absent: no such routes. */
  readonly webhooks?: { readonly store: WebhookStore; readonly allowPrivateTargets: boolean };
}

/** The admin API: JSON over HTTP on the admin listener. */
export function createAdminApp(options: AdminAppOptions): Hono<AdminEnv> {
  const { store, tokens, metrics, logger, adminToken } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<AdminEnv>();

  app.onError((error, c) => answerError(c, error, logger, 'admin API'));
  app.notFound((c) => problemJson(c, notFound('such endpoint')));
  // First, for every call: a body is cut off while it streams, before anyone reads it.
  app.use('*', limitBody({ maxBytes: ADMIN_MAX_BODY_BYTES }));

  const { jwks } = options;
  if (jwks !== undefined) {
    // Public by design: upstreams fetch it to verify assertions. Cached briefly; a rotation
    // lists the new key first and keeps the old one until its assertions have expired.
    app.get('/.well-known/jwks.json', (c) => c.json(jwks, 200, { 'cache-control': 'public, max-age=300' }));
  }
  app.get('/openapi.json', serveOpenApi(buildOpenApiDocument(ADMIN_OPERATIONS)));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await store.ping();
      return c.json({ status: 'ready', ...options.readiness?.() });
    } catch {
      return c.json({ status: 'store unreachable', ...options.readiness?.() }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'content-type': metrics.registry.contentType });
  });

  const throttle = new AuthThrottle(options.authThrottle ?? DEFAULT_AUTH_THROTTLE);
  app.use('/v1/*', authenticate({ store, adminToken, now, throttle, metrics, logger }));
  const deps = { store, tokens, now, audit: new AuditRecorder(options.audit, logger) };
  registerTokenRoutes(app, deps);
  registerOrgRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerOrgTokenRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerAuditRoutes(app, options.audit);
  if (options.reload !== undefined) registerReloadRoutes(app, options.reload);
  if (options.webhooks !== undefined) {
    registerWebhookRoutes(app, {
      webhooks: options.webhooks.store,
      allowPrivateTargets: options.webhooks.allowPrivateTargets,
      now,
    });
  }
  return app;
}
