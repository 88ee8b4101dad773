import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { LastUsedRecorder } from '../gateway/last-used.js';
import { InstantMemo } from '../grants/instant.js';
import type { RequestResource } from '../grants/resource.js';
import type { TokenRecord } from '../grants/token-record.js';
import type { AllowLists } from '../limits/allow-lists.js';
import { type RequestReaderOptions, readRequest } from '../request/facts.js';
import { canonicalAddress, TrustedProxies } from '../request/trusted-proxies.js';
import { GrantCache } from '../store/cached-grant-store.js';
import type { GrantSnapshot, GrantStore } from '../store/grant-store.js';
import { answerRefusal } from './answer.js';
import { authorize } from './authorize.js';
import { compileConfig, type PatgateConfigInput } from './config.js';
import { rawRequestOf } from './fetch-request.js';

/** Who made an allowed request, as the gateway would name them to its upstream. */
export interface PatgateIdentity {
  /** The token's user (`X-Patgate-User` on the gateway). */
  readonly user: string;
  /** The token's public id (`X-Patgate-Token-Id`). */
  readonly tokenId: string;
  /** The route rule that matched, as written (`GET /repos/{owner}/{repo}/issues`). */
  readonly route: string;
  /** The owner and repository the request reaches, lower-cased; null where the route names none. */
  readonly resource: RequestResource;
  /** The token's record: kind, resource owner, repositories, permissions or scopes, expiry. */
  readonly token: TokenRecord;
}

/** The Hono environment the middleware adds to: `c.get('patgate')`. Null on a `public: true` route. */
export interface PatgateEnv {
  Variables: { patgate: PatgateIdentity | null };
}

export interface PatgateOptions {
  /**
   * The route map: `features`, `routes`, `implicit`, `hide_forbidden`, `base_path`, `compat`,
   * `cache` and `limits` as in `patgate.yaml` (a whole gateway config object also works; its other
   * keys are ignored). Validated and compiled when the middleware is built.
   */
  readonly config: PatgateConfigInput;
  /** Where tokens live: a `MemoryGrantStore`, or a `RedisGrantStore` shared with the gateway and admin API. */
  readonly store: GrantStore;
  /** How often token last-used times are written to the store, in ms (default 1000). */
  readonly lastUsedFlushMs?: number;
  /** Told when last-used times could not be written; by default a process warning. */
  readonly onError?: (error: unknown) => void;
  /**
   * The address of the client that sent the request, for tokens with `allowed_ips` and orgs with
   * an `ip_allow_list`: `(c) => getConnInfo(c).remote.address` (`@hono/node-server/conninfo`) when
   * the app faces its clients, or the address the proxy in front vouches for. Without it, or when
   * it returns undefined, a grant limited to listed addresses is refused (403 `ip_not_allowed`).
   */
  readonly clientAddress?: (c: Context) => string | undefined;
  /** Epoch milliseconds; for tests. */
  readonly now?: () => number;
}

/** The middleware, and how to stop it: `close` writes the last-used times it still holds. */
export type PatgateMiddleware = MiddlewareHandler<PatgateEnv> & { close(): Promise<void> };

/** The header carrying the token's expiry on every authorized answer, as the gateway sets it. */
function expirationHeader(expiresAt: string, github: boolean): readonly [string, string] {
  return github
    ? ['github-authentication-token-expiration', `${expiresAt.slice(0, 10)} ${expiresAt.slice(11, 19)} UTC`]
    : ['x-patgate-token-expiration', expiresAt];
}

/**
 * The app's account of the client, as the gateway holds one (`::ffff:a.b.c.d` is `a.b.c.d`); none
 * unless it is an IP address, so that nothing else is checked against a list or echoed back.
 */
function addressOf(address: unknown): string | undefined {
  return typeof address === 'string' && isIP(address) !== 0 ? canonicalAddress(address) : undefined;
}

function warn(error: unknown): void {
  process.emitWarning(`patgate: could not record token last-used times: ${String(error)}`);
}

/**
 * patgate's decision inside a Hono app: the gateway's request reader, route map, token parsing,
 * grant cache, store and `decide`, in the gateway's order. An allowed request goes on to the next
 * handler with its identity in `c.get('patgate')`; a refused one is answered here with the
 * gateway's status, headers and problem body. The config is checked when this is called, so a
 * bad map stops the app at startup, not at its first request.
 */
export function patgate(options: PatgateOptions): PatgateMiddleware {
  const compiled = compileConfig(options.config);
  const now = options.now ?? Date.now;
  const cache = new GrantCache(options.store, compiled.cache);
  const lastUsed = new LastUsedRecorder(options.store, {
    flushIntervalMs: options.lastUsedFlushMs ?? 1_000,
    onError: options.onError ?? warn,
  });
  const reader: RequestReaderOptions = {
    maxTargetLength: compiled.maxTargetLength,
    maxHeaderCount: compiled.maxHeaderCount,
    // No peer address reaches a fetch handler: nobody's X-Forwarded-* is believed.
    trustedProxies: new TrustedProxies([]),
    allowUnderscores: false,
  };
  const instants = new InstantMemo();
  const allowLists = new WeakMap<GrantSnapshot, AllowLists>();
  const clientAddressOf = options.clientAddress;
  const github = compiled.dialect === 'github';

  const handler: MiddlewareHandler<PatgateEnv> = async function patgateMiddleware(c, next) {
    const facts = readRequest(rawRequestOf(c.req.raw), reader);
    if (facts.kind === 'shape') {
      return answerRefusal(c, facts, compiled.dialect, c.req.header('accept'));
    }
    const verdict = await authorize({
      facts,
      table: compiled.table,
      basePath: compiled.basePath,
      cache,
      now,
      instants,
      clientAddress: () => (clientAddressOf === undefined ? undefined : addressOf(clientAddressOf(c))),
      allowLists,
    });
    if (verdict.kind === 'refuse') return answerRefusal(c, verdict.refusal, compiled.dialect, facts.accept);
    const { token, resource, rule } = verdict;
    if (token === null || resource === null) {
      c.set('patgate', null);
      await next();
      return;
    }
    lastUsed.note(token.id, now());
    c.set('patgate', { user: token.user, tokenId: token.id, route: rule.pattern, resource, token });
    await next();
    const [name, value] = expirationHeader(token.expiresAt, github);
    c.header(name, value);
  };
  return Object.assign(handler, { close: () => lastUsed.close() });
}
