import type { MiddlewareHandler } from 'hono';
import type { GrantStore } from '../store/grant-store.js';
import { identifyActor } from './actor.js';
import type { AdminEnv } from './context.js';
import { HttpProblem } from './http.js';

const ORG_PATH = /^\/v1\/orgs\/([^/]+)(?:\/|$)/;

export interface AuthenticateOptions {
  readonly store: GrantStore;
  /** The site admin credential; undefined: only org admins (with their own tokens) can call. */
  readonly adminToken: string | undefined;
  readonly now: () => number;
}

/**
 * Sets `actor` for every `/v1` call, or refuses it. The org a call is about is
 * read from the path here, before routing, so that an org admin's token is checked
 * against exactly the org the handler will act on.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AdminEnv> {
  const { store, adminToken, now } = options;
  return async function authenticateAdmin(c, next) {
    const credential = /^Bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const org = ORG_PATH.exec(c.req.path)?.[1]?.toLowerCase() ?? null;
    const level = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write';
    const result = await identifyActor(store, adminToken, credential, org, level, now());
    if (!result.ok) {
      if (result.status === 401) c.header('www-authenticate', 'Bearer realm="patgate-admin"');
      throw new HttpProblem(
        result.status,
        result.status === 401 ? 'unauthorized' : 'forbidden',
        result.status === 401 ? 'Unauthorized' : 'Forbidden',
        result.detail,
      );
    }
    c.set('actor', result.actor);
    await next();
  };
}
