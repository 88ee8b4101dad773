import { Hono } from 'hono';
import { AuditRecorder } from '../admin/audit-recorder.js';
import { limitBody } from '../admin/body-limit.js';
import type { AdminEnv } from '../admin/context.js';
import { answerError } from '../admin/errors.js';
import { ADMIN_MAX_BODY_BYTES, notFound, problemJson } from '../admin/http.js';
import type { TokenService } from '../admin/token-service.js';
import { registerUserRoutes } from '../admin/user-routes.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { SessionLimits, SessionStore } from '../store/session-store.js';
import { authenticatePerson } from './authenticate.js';
import type { SignInMode } from './context.js';
import { ConsoleSessions } from './sessions.js';
import { registerSignInRoutes } from './sign-in-routes.js';
import { registerUserTokenRoutes } from './user-token-routes.js';

export interface ConsoleAppOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  /** The admin API's token service: one issuance path, one set of policy checks. */
  readonly tokens: TokenService;
  readonly sessions: SessionStore;
  readonly limits: SessionLimits;
  readonly mode: SignInMode;
  /** `console.public_url`. */
  readonly publicUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The console listener's app: sign-in and sessions, and the self-service API
 * (`/v1/user/...`) for the signed-in person. Bodies are limited and errors
 * answered exactly as on the admin API.
 */
export function createConsoleApp(options: ConsoleAppOptions): Hono<AdminEnv> {
  const { store, tokens, logger, mode } = options;
  const now = options.now ?? Date.now;
  const publicUrl = options.publicUrl.replace(/\/$/, '');
  const sessions = new ConsoleSessions(options.sessions, options.limits, now);
  const app = new Hono<AdminEnv>();

  app.onError((error, c) => answerError(c, error, logger, 'console'));
  app.notFound((c) => problemJson(c, notFound('such page or endpoint')));
  // First, for every call: a body is cut off while it streams, before anyone reads it.
  app.use('*', limitBody({ maxBytes: ADMIN_MAX_BODY_BYTES }));
  app.use('*', async function consoleSecurityHeaders(c, next) {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    c.header('x-frame-options', 'DENY');
  });

  registerSignInRoutes(app, { mode, sessions, store: options.sessions, publicUrl, logger });

  app.use('/v1/*', authenticatePerson({ mode, sessions, logger }));
  const deps = { store, tokens, now, audit: new AuditRecorder(options.audit, logger) };
  registerUserTokenRoutes(app, deps);
  // Invitations: the admin API's own handlers, acting as the signed-in person.
  registerUserRoutes(app, deps);
  return app;
}
