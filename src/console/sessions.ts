import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ConsoleSession, SessionLimits, SessionStore } from '../store/session-store.js';
import { hashSecret, isSecret, newSecret } from './session-secret.js';

/**
 * `__Host-patgate_session`: the `__Host-` prefix makes browsers refuse the cookie
 * unless it is `Secure`, `Path=/` and without `Domain`, so no sibling subdomain can
 * set or shadow it. Browsers count http://localhost and 127.0.0.1 as secure contexts
 * and keep Secure cookies there too; other http origins lose the cookie (use https).
 */
export const SESSION_COOKIE = 'patgate_session';
/** `__Host-patgate_signin`: ties an OIDC callback to the browser that started the sign-in. */
export const SIGN_IN_COOKIE = 'patgate_signin';

const COOKIE_OPTIONS = { prefix: 'host', httpOnly: true, sameSite: 'Lax' } as const;

/** A session found by its cookie: the hash it is stored under, and what it holds. */
export interface CurrentSession {
  readonly idHash: string;
  readonly session: ConsoleSession;
}

/** Console sessions as the browser sees them: a cookie holding a random id, the rest in the store. */
export class ConsoleSessions {
  constructor(
    private readonly store: SessionStore,
    private readonly limits: SessionLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Signs `user` in with a fresh id (never one the browser brought: no session
   * fixation) and a fresh CSRF token, ending the session the browser had.
   */
  async start(c: Context, user: string): Promise<ConsoleSession> {
    await this.end(c);
    const id = newSecret();
    const now = this.now();
    const session: ConsoleSession = { user, csrfToken: newSecret(), createdAt: now, lastSeenAt: now };
    await this.store.create(hashSecret(id), session);
    setCookie(c, SESSION_COOKIE, id, {
      ...COOKIE_OPTIONS,
      maxAge: Math.floor(this.limits.absoluteMs / 1000),
    });
    return session;
  }

  /** The browser's live session (its idle clock restarted), or null. */
  async current(c: Context): Promise<CurrentSession | null> {
    const id = getCookie(c, SESSION_COOKIE, 'host');
    if (!isSecret(id)) return null;
    const idHash = hashSecret(id);
    const session = await this.store.resume(idHash);
    return session === null ? null : { idHash, session };
  }

  async end(c: Context): Promise<void> {
    const id = getCookie(c, SESSION_COOKIE, 'host');
    if (id === undefined) return;
    if (isSecret(id)) await this.store.end(hashSecret(id));
    deleteCookie(c, SESSION_COOKIE, COOKIE_OPTIONS);
  }

  /** The absolute end of a session (epoch ms). */
  endsAt(session: ConsoleSession): number {
    return session.createdAt + this.limits.absoluteMs;
  }

  /** When a session ends if unused from now on (epoch ms). */
  idleEndsAt(session: ConsoleSession): number {
    return Math.min(session.lastSeenAt + this.limits.idleMs, this.endsAt(session));
  }
}

export function setSignInCookie(c: Context, id: string, maxAgeMs: number): void {
  setCookie(c, SIGN_IN_COOKIE, id, { ...COOKIE_OPTIONS, maxAge: Math.floor(maxAgeMs / 1000) });
}

/** Reads and clears the sign-in cookie: each sign-in finishes once. */
export function takeSignInCookie(c: Context): string | undefined {
  const id = getCookie(c, SIGN_IN_COOKIE, 'host');
  if (id !== undefined) deleteCookie(c, SIGN_IN_COOKIE, COOKIE_OPTIONS);
  return isSecret(id) ? id : undefined;
}
