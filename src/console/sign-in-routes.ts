import type { AdminApp } from '../admin/context.js';
import { HttpProblem } from '../admin/http.js';
import type { Logger } from '../observability/logger.js';
import { type SessionStore, SIGN_IN_TTL_MS } from '../store/session-store.js';
import { authenticatePerson, identifyPerson, personOf, unauthenticated } from './authenticate.js';
import type { SignInMode } from './context.js';
import { userFromIdentity } from './identity.js';
import { SignInError, signInProblem } from './oidc-sign-in.js';
import { signedOutPage } from './pages/error-page.js';
import { safeReturnTo } from './return-to.js';
import { hashSecret, newSecret } from './session-secret.js';
import { type ConsoleSessions, setSignInCookie, takeSignInCookie } from './sessions.js';

export interface SignInRoutesOptions {
  readonly mode: SignInMode;
  readonly sessions: ConsoleSessions;
  readonly store: SessionStore;
  /** The console's origin as browsers see it (`console.public_url`), without a trailing `/`. */
  readonly publicUrl: string;
  readonly logger: Logger;
}

const NO_STORE = { 'cache-control': 'no-store' };

/**
 * Signing in and out: `/console/login` (and `/console/callback` with OIDC),
 * `/console/session` (who is signed in, and the CSRF token), `/console/logout`.
 */
export function registerSignInRoutes(app: AdminApp, options: SignInRoutesOptions): void {
  const { mode, sessions, store, publicUrl, logger } = options;

  app.get('/console/login', async (c) => {
    const returnTo = safeReturnTo(c.req.query('return_to'));
    if (mode.kind === 'trusted_header') {
      // The proxy has signed the person in; the session adds a CSRF token and the limits.
      const person = await identifyPerson(c, mode, sessions);
      if (person === null) throw unauthenticated();
      await sessions.start(c, person.user);
      logger.info({ user: person.user, via: 'trusted_header' }, 'console sign-in');
      return c.redirect(returnTo, 303);
    }
    let started: Awaited<ReturnType<typeof mode.oidc.begin>>;
    try {
      started = await mode.oidc.begin(returnTo);
    } catch (error) {
      if (error instanceof SignInError) {
        logger.warn({ err: error.cause ?? error }, error.message);
        throw signInProblem(error);
      }
      throw error;
    }
    const signInId = newSecret();
    await store.saveSignIn(hashSecret(signInId), started.pending);
    setSignInCookie(c, signInId, SIGN_IN_TTL_MS);
    c.header('cache-control', 'no-store');
    return c.redirect(started.url.href, 302);
  });

  if (mode.kind === 'oidc') {
    app.get('/console/callback', async (c) => {
      // Only the browser that started the sign-in holds the cookie: a callback URL
      // planted in someone else's browser signs nobody in (login CSRF).
      const signInId = takeSignInCookie(c);
      const pending = signInId === undefined ? null : await store.takeSignIn(hashSecret(signInId));
      if (pending === null) {
        throw new HttpProblem(
          400,
          'sign_in_expired',
          'Sign-in expired',
          'no sign-in was started from this browser, or it took too long; start again at /console/login',
        );
      }
      // The URL the provider redirected to, rebuilt on the configured origin (never on Host).
      const callbackUrl = new URL(`/console/callback${new URL(c.req.url).search}`, publicUrl);
      let claim: unknown;
      try {
        claim = await mode.oidc.finish(callbackUrl, pending);
      } catch (error) {
        if (error instanceof SignInError) {
          logger.warn({ err: error.cause ?? error, reason: error.message }, 'console sign-in failed');
          throw signInProblem(error);
        }
        throw error;
      }
      const user = userFromIdentity(claim);
      if (user === null) {
        logger.warn({ claim_type: typeof claim }, 'console sign-in refused: the user claim is not a login');
        throw new HttpProblem(
          403,
          'not_a_login',
          'No patgate user',
          'the identity provider did not name a patgate user (letters, digits and single hyphens)',
        );
      }
      await sessions.start(c, user);
      logger.info({ user, via: 'oidc' }, 'console sign-in');
      return c.redirect(pending.returnTo, 303);
    });
  }

  const signedIn = authenticatePerson({ mode, sessions, logger });

  app.get('/console/session', signedIn, async (c) => {
    const person = personOf(c);
    const session = person.session?.session ?? null;
    return c.json(
      {
        user: person.user,
        csrf_token: session?.csrfToken ?? null,
        signed_in_at: session === null ? null : new Date(session.createdAt).toISOString(),
        idle_expires_at: session === null ? null : new Date(sessions.idleEndsAt(session)).toISOString(),
        expires_at: session === null ? null : new Date(sessions.endsAt(session)).toISOString(),
      },
      200,
      NO_STORE,
    );
  });

  app.post('/console/logout', signedIn, async (c) => {
    await sessions.end(c);
    logger.info({ user: personOf(c).user }, 'console sign-out');
    // A browser's "Sign out" (a navigation, asking for HTML) lands on a page; an API client gets 204.
    if (/\btext\/html\b/i.test(c.req.header('accept') ?? '')) {
      return c.redirect('/console/signed-out', 303);
    }
    return c.body(null, 204, NO_STORE);
  });

  app.get('/console/signed-out', (c) => signedOutPage(c));
}
