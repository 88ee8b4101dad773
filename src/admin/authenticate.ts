import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { GrantStore } from '../store/grant-store.js';
import { type ActorRefusal, identifyActor } from './actor.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { AdminActor, AdminEnv } from './context.js';
import { HttpProblem } from './http.js';
import { identifyUser } from './user-actor.js';

const ORG_PATH = /^\/v1\/orgs\/([^/]+)(?:\/|$)/;
const USER_PATH = /^\/v1\/user(?:\/|$)/;

export interface AuthenticateOptions {
  readonly store: GrantStore;
  /** The site admin credential; undefined: only org admins (with their own tokens) can call. */
  readonly adminToken: string | undefined;
  readonly now: () => number;
  readonly throttle: AuthThrottle;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * Sets `actor` for every `/v1` call, or refuses it. The org a call is about is
 * read from the path here, before routing, so that an org admin's token is checked
 * against exactly the org the handler will act on; `/v1/user/...` acts as the
 * user of the token presented.
 *
 * An address that failed to authenticate `maxFailures` times within the window is
 * answered 429 without its credential being looked at. Every failure is logged
 * (never the credential) and counted by reason. Requests sent before any of their
 * failures is counted (pipelined, or waiting on the store together) pass the check
 * together: the throttle makes guessing slow and visible, while the credentials'
 * length (a 32-character site credential, 178-bit tokens) makes it hopeless.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AdminEnv> {
  const { store, adminToken, now, throttle, metrics, logger } = options;
  return async function authenticateAdmin(c, next) {
    const address = clientAddress(c);
    const wait = await throttle.retryAfterSeconds(address);
    if (wait !== null) {
      metrics.adminAuthFailures.inc({ reason: 'throttled' });
      c.header('retry-after', String(wait));
      throw new HttpProblem(
        429,
        'too_many_failures',
        'Too many failed authentications',
        `too many failed admin authentications from this address; retry in ${wait} s`,
      );
    }
    const credential = /^Bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const result = USER_PATH.test(c.req.path)
      ? await identifyUser(store, adminToken, credential, now())
      : await identifyActor(
          store,
          adminToken,
          credential,
          ORG_PATH.exec(c.req.path)?.[1]?.toLowerCase() ?? null,
          c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write',
          now(),
        );
    if (!result.ok) {
      if (result.status === 401) await countFailure(c, address, result);
      throw refusal(c, result);
    }
    c.set('actor', result.actor satisfies AdminActor);
    await next();
  };

  async function countFailure(
    c: Context<AdminEnv>,
    address: string,
    failure: Extract<ActorRefusal, { status: 401 }>,
  ): Promise<void> {
    metrics.adminAuthFailures.inc({ reason: failure.reason });
    const blockedFor = await throttle.fail(address);
    const fields = { address, method: c.req.method, path: c.req.path, reason: failure.reason };
    logger.warn(fields, 'admin authentication failed');
    if (blockedFor !== null) {
      logger.warn(
        { ...fields, retry_after_s: blockedFor },
        'admin authentication throttled for this address',
      );
    }
  }
}

function refusal(c: Context<AdminEnv>, r: ActorRefusal): HttpProblem {
  if (r.status === 401) {
    c.header('www-authenticate', 'Bearer realm="patgate-admin"');
    return new HttpProblem(401, 'unauthorized', 'Unauthorized', r.detail);
  }
  return new HttpProblem(403, 'forbidden', 'Forbidden', r.detail);
}

/**
 * The TCP peer: what a client cannot choose by a header. Behind a proxy every
 * client shares the proxy's address, and so its allowance. `unknown` when the
 * app runs without a Node socket (app.request in tests).
 */
function clientAddress(c: Context<AdminEnv>): string {
  const env: Partial<AdminEnv['Bindings']> | undefined = c.env;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
