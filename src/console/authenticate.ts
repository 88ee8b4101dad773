import type { Context, MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin/context.js';
import { HttpProblem } from '../admin/http.js';
import type { Logger } from '../observability/logger.js';
import { timingSafeEqualString } from '../tokens/constant-time.js';
import type { SignInMode } from './context.js';
import { userFromIdentity } from './identity.js';
import type { ConsoleSessions, CurrentSession } from './sessions.js';

/** Methods that change nothing, and so need no CSRF token (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

/** Who a console request is from, and the session it came with (if any). */
export interface Person {
  readonly user: string;
  readonly session: CurrentSession | null;
}

export interface AuthenticatePersonOptions {
  readonly mode: SignInMode;
  readonly sessions: ConsoleSessions;
  readonly logger: Logger;
}

/** The person `authenticatePerson` let through, by request (Hono's variables are the admin API's). */
const people = new WeakMap<Request, Person>();

/** The person a request authenticated by `authenticatePerson` comes from. */
export function personOf(c: Context): Person {
  const person = people.get(c.req.raw);
  if (person === undefined) throw new Error('personOf called outside authenticatePerson');
  return person;
}

export function unauthenticated(): HttpProblem {
  return new HttpProblem(401, 'unauthenticated', 'Unauthenticated', 'sign in at /console/login');
}

/**
 * Who is calling, from the request alone:
 * - `oidc`: the session cookie;
 * - `trusted_header`: the identity header, when the TCP peer is in `trusted_proxies`
 *   (from any other peer it is ignored, so nobody can name themselves); a session
 *   cookie counts only if it belongs to that same user.
 * Null: nobody (401).
 */
export async function identifyPerson(
  c: Context<AdminEnv>,
  mode: SignInMode,
  sessions: ConsoleSessions,
): Promise<Person | null> {
  if (mode.kind === 'oidc') {
    const current = await sessions.current(c);
    return current === null ? null : { user: current.session.user, session: current };
  }
  const peer = c.env?.incoming?.socket?.remoteAddress;
  if (!mode.trustedProxies.has(peer)) return null;
  const user = userFromIdentity(c.req.header(mode.header));
  if (user === null) return null;
  const current = await sessions.current(c);
  return { user, session: current !== null && current.session.user === user ? current : null };
}

/**
 * Sets the `user` actor for the self-service API and the session calls, or
 * refuses: 401 without an identity; 403 for a call that changes something
 * without the session's CSRF token (`X-CSRF-Token`, or the `_csrf` form field),
 * compared in constant time.
 */
export function authenticatePerson(options: AuthenticatePersonOptions): MiddlewareHandler<AdminEnv> {
  const { mode, sessions, logger } = options;
  return async function authenticateConsolePerson(c, next) {
    const person = await identifyPerson(c, mode, sessions);
    if (person === null) throw unauthenticated();
    if (!SAFE_METHODS.has(c.req.method)) await checkCsrf(c, person, logger);
    c.set('actor', { kind: 'user', user: person.user, tokenId: null });
    people.set(c.req.raw, person);
    await next();
  };
}

/**
 * Refuses (403 `csrf_failed`) a call that changes something without the session's CSRF
 * token (`X-CSRF-Token`, or the `_csrf` form field), compared in constant time.
 */
export async function checkCsrf(c: Context, person: Person, logger: Logger): Promise<void> {
  const presented = c.req.header(CSRF_HEADER) ?? (await csrfFormField(c));
  const expected = person.session?.session.csrfToken;
  if (presented === undefined || expected === undefined || !timingSafeEqualString(presented, expected)) {
    logger.warn(
      { user: person.user, method: c.req.method, path: c.req.path, session: person.session !== null },
      'console request refused: CSRF token missing or wrong',
    );
    throw new HttpProblem(
      403,
      'csrf_failed',
      'CSRF token missing or wrong',
      person.session === null
        ? 'changes need a console session; sign in at /console/login'
        : `send the session's CSRF token in ${CSRF_HEADER} or the ${CSRF_FIELD} form field`,
    );
  }
}

/** Whether a method changes nothing, and so needs no CSRF token. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/** `_csrf` from a form body (pages without JavaScript); undefined for any other body. */
async function csrfFormField(c: Context): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return undefined;
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody();
  } catch {
    return undefined;
  }
  const value = form[CSRF_FIELD];
  return typeof value === 'string' ? value : undefined;
}
