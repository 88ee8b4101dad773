import { Hono } from 'hono';
import { AuditRecorder } from '../admin/audit-recorder.js';
import { limitBody } from '../admin/body-limit.js';
import type { AdminEnv } from '../admin/context.js';
import { answerError } from '../admin/errors.js';
import { ADMIN_MAX_BODY_BYTES, HttpProblem, notFound, problemJson } from '../admin/http.js';
import { InputError } from '../admin/issuance-policy.js';
import type { TokenService } from '../admin/token-service.js';
import { registerUserRoutes } from '../admin/user-routes.js';
import type { FeatureLevels } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { SessionLimits, SessionStore } from '../store/session-store.js';
import { authenticatePerson } from './authenticate.js';
import type { SignInMode } from './context.js';
import { registerAdminPages } from './pages/admin-pages.js';
import { registerAssets } from './pages/assets.js';
import type { PagesDeps, RouteMap } from './pages/deps.js';
import { errorPage } from './pages/error-page.js';
import { InternalApi } from './pages/internal-api.js';
import { registerOrgPages } from './pages/org-pages.js';
import { registerTokenPages } from './pages/token-pages.js';
import { isPageRequest, requireViewer } from './pages/viewer.js';
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
  /** The feature catalogue as configured now (titles and descriptions for the permission picker). */
  readonly features: () => Readonly<Record<string, FeatureLevels>>;
  /** The route map the gateway enforces now, for the feature groups and the explain page. */
  readonly routes: () => RouteMap;
  /** `console.site_admins`. */
  readonly siteAdmins: readonly string[];
  readonly now?: () => number;
}

/**
 * Pages get a CSP that allows only the console's own stylesheet and script (no inline
 * script or style), posts forms only to itself, and is never framed (clickjacking).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "script-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

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

  app.onError((error, c) => {
    if (isPageRequest(c)) {
      if (error instanceof HttpProblem) return errorPage(c, error);
      if (error instanceof InputError) {
        return errorPage(c, new HttpProblem(error.status, 'invalid_input', 'Invalid input', error.message));
      }
    }
    return answerError(c, error, logger, 'console');
  });
  app.notFound((c) => problemJson(c, notFound('such page or endpoint')));
  // Outermost, so that every answer carries them, the body limit's 413 included.
  app.use('*', async function consoleSecurityHeaders(c, next) {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    c.header('x-frame-options', 'DENY');
    c.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });
  // Then, for every call: a body is cut off while it streams, before anyone reads it.
  app.use('*', limitBody({ maxBytes: ADMIN_MAX_BODY_BYTES }));
  registerAssets(app);

  registerSignInRoutes(app, { mode, sessions, store: options.sessions, publicUrl, logger });

  app.use('/v1/*', authenticatePerson({ mode, sessions, logger }));
  const deps = { store, tokens, now, audit: new AuditRecorder(options.audit, logger) };
  registerUserTokenRoutes(app, deps);
  // Invitations: the admin API's own handlers, acting as the signed-in person.
  registerUserRoutes(app, deps);

  const pages: PagesDeps = {
    store,
    audit: options.audit,
    api: new InternalApi(deps, logger),
    features: options.features,
    routes: options.routes,
    now,
    logger,
  };
  const page = requireViewer({
    mode,
    sessions,
    store,
    audit: options.audit,
    siteAdmins: new Set(options.siteAdmins.map((u) => u.toLowerCase())),
    logger,
  });
  app.get('/', (c) => c.redirect('/console/tokens', 303));
  registerTokenPages(app, pages, page);
  registerOrgPages(app, pages, page);
  registerAdminPages(app, pages, page);
  return app;
}
