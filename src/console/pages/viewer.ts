import type { Context, MiddlewareHandler } from 'hono';
import type { AdminActor, AdminEnv } from '../../admin/context.js';
import { HttpProblem } from '../../admin/http.js';
import type { MemberRole } from '../../grants/owner.js';
import type { Logger } from '../../observability/logger.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { GrantStore } from '../../store/grant-store.js';
import { checkCsrf, identifyPerson, isSafeMethod } from '../authenticate.js';
import type { SignInMode } from '../context.js';
import type { ConsoleSessions } from '../sessions.js';
import { membershipsOf } from './known-orgs.js';

/** The signed-in person a page is for, and what they may see. */
export interface Viewer {
  readonly user: string;
  readonly csrf: string;
  /** Named in `console.site_admins`: every org's pages, token search, the route map. */
  readonly siteAdmin: boolean;
  /** Orgs the person belongs to now, with their role (from the store, on every page). */
  readonly memberships: ReadonlyMap<string, MemberRole>;
}

export function mayAdminister(viewer: Viewer, org: string): boolean {
  return viewer.siteAdmin || viewer.memberships.get(org) === 'admin';
}

/**
 * Who the admin API's handlers see: the person, as a `user` actor without a token, so
 * the audit names them. Org pages are authorised by `requireOrgAdmin` before any call.
 */
export function actorOf(viewer: Viewer): AdminActor {
  return { kind: 'user', user: viewer.user, tokenId: null };
}

export function requireOrgAdmin(viewer: Viewer, org: string): void {
  if (!mayAdminister(viewer, org)) {
    throw new HttpProblem(403, 'forbidden', 'Forbidden', `you are not an admin of organization ${org}`);
  }
}

export function requireSiteAdmin(viewer: Viewer): void {
  if (!viewer.siteAdmin) {
    throw new HttpProblem(
      403,
      'forbidden',
      'Forbidden',
      'this page is for site admins (console.site_admins)',
    );
  }
}

const viewers = new WeakMap<Request, Viewer>();
const pageRequests = new WeakSet<Request>();

export function viewerOf(c: Context): Viewer {
  const viewer = viewers.get(c.req.raw);
  if (viewer === undefined) throw new Error('viewerOf called outside the page middleware');
  return viewer;
}

/** Whether an error on this request is answered with a page rather than problem+json. */
export function isPageRequest(c: Context): boolean {
  return pageRequests.has(c.req.raw);
}

export interface ViewerOptions {
  readonly mode: SignInMode;
  readonly sessions: ConsoleSessions;
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly siteAdmins: ReadonlySet<string>;
  readonly logger: Logger;
}

/**
 * Every page: a person with a session (pages post forms, which need its CSRF token), or
 * else a trip through sign-in that comes back here. A form post without the CSRF token
 * is refused before any handler reads it.
 */
export function requireViewer(options: ViewerOptions): MiddlewareHandler<AdminEnv> {
  const { mode, sessions, store, audit, siteAdmins, logger } = options;
  return async function consoleViewer(c, next) {
    pageRequests.add(c.req.raw);
    const person = await identifyPerson(c, mode, sessions);
    if (person === null || person.session === null) {
      if (!isSafeMethod(c.req.method)) {
        throw new HttpProblem(401, 'unauthenticated', 'Signed out', 'your session ended; sign in again');
      }
      const url = new URL(c.req.url);
      return c.redirect(`/console/login?return_to=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    if (!isSafeMethod(c.req.method)) await checkCsrf(c, person, logger);
    viewers.set(c.req.raw, {
      user: person.user,
      csrf: person.session.session.csrfToken,
      siteAdmin: siteAdmins.has(person.user),
      memberships: await membershipsOf(store, audit, person.user),
    });
    c.header('cache-control', 'no-store');
    await next();
  };
}
