import type { IncomingMessage, ServerResponse } from 'node:http';
import { decide } from '../grants/decide.js';
import type { Decision } from '../grants/decision.js';
import { type RequestResource, resolveResource } from '../grants/resource.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, RequestOutcome } from '../observability/metrics.js';
import { Throttle } from '../observability/throttle.js';
import { buildUpstreamHeaders } from '../proxy/headers.js';
import { type ForwardOutcome, type Upstream, upstreamErrorStatus } from '../proxy/upstream.js';
import type { RequestRefusal } from '../request/refusal.js';
import type { TrustedProxies } from '../request/trusted-proxies.js';
import type { RouteRequirement, RouteRule } from '../routes/types.js';
import { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { extractBearerFromRawHeaders } from '../tokens/extract.js';
import { hashToken, parseToken } from '../tokens/format.js';
import { BodyGuard } from './body-guard.js';
import type { LastUsedRecorder } from './last-used.js';
import { type ProblemCode, problemFor } from './problem.js';
import { CLOSE_CONNECTION, writeRefusal } from './refusal-answer.js';
import type { RouteTable } from './route-table.js';
import { writeProblem } from './write-problem.js';

export interface GatewayOptions {
  readonly routes: RouteTable;
  readonly cache: GrantCache;
  readonly upstream: Upstream;
  readonly upstreamHost: string;
  readonly lastUsed: LastUsedRecorder;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Seconds a client should wait after a 503. */
  readonly retryAfterSeconds: number;
  /** Peers whose `X-Forwarded-*` are believed (`trusted_proxies`). */
  readonly trustedProxies: TrustedProxies;
  readonly now?: () => number;
}

/** A request target that `request/target.ts` accepted. */
export interface CheckedTarget {
  readonly path: string;
  readonly query: string;
  /**
   * The client sent `Expect: 100-continue` and Node left the interim answer to us: it is sent
   * only once the request is authorized, so a refused client never uploads its body.
   */
  readonly expectContinue: boolean;
}

/** A request whose route is known: what every later step needs about it. */
interface RoutedRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: CheckedTarget;
  readonly rule: RouteRule;
  /** The route map the request was matched on; a reload during a store lookup does not change it. */
  readonly table: RouteTable;
  /** The route's body limit in bytes. */
  readonly bodyLimit: number;
}

type PermissionRequirement = Extract<RouteRequirement, { kind: 'permissions' }>;

const UNMATCHED_LABEL = '(unmatched)';
const NO_HEADERS: readonly string[] = Object.freeze([]);

/**
 * The per-request pipeline for proxied traffic:
 * route match → token → grants (cache, then store) → decide → forward.
 * The target was checked before this runs (see `server.ts`).
 */
export class Gateway {
  #routes: RouteTable;
  readonly #cache: GrantCache;
  readonly #upstream: Upstream;
  readonly #upstreamHost: string;
  readonly #lastUsed: LastUsedRecorder;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #storeWarnings = new Throttle(1_000);
  readonly #retryAfter: number;
  readonly #trustedProxies: TrustedProxies;
  readonly #now: () => number;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: GatewayOptions) {
    this.#routes = options.routes;
    this.#cache = options.cache;
    this.#upstream = options.upstream;
    this.#upstreamHost = options.upstreamHost;
    this.#lastUsed = options.lastUsed;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#retryAfter = options.retryAfterSeconds;
    this.#trustedProxies = options.trustedProxies;
    this.#now = options.now ?? Date.now;
  }

  /** Swaps the route map in one assignment: in-flight requests keep the table they started with. */
  setRoutes(routes: RouteTable): void {
    this.#routes = routes;
  }

  get routes(): RouteTable {
    return this.#routes;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once no request is in flight (for drain on shutdown). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Answers a request refused for its shape before routing (`server.ts`): counted and logged
   * like every refusal, with the reason code only (never the target, which may hold a secret).
   */
  refuseRequest(res: ServerResponse, refusal: RequestRefusal, detail: string): void {
    this.#refuseShape(res, refusal, detail, UNMATCHED_LABEL);
  }

  /** `bad_request_target` from `server.ts`: the target failed `checkTarget`. */
  refuseTarget(res: ServerResponse, detail: string): void {
    this.#logger.info({ granted: false, reason_id: 'bad_request_target' }, 'request refused');
    this.#refuse(res, 'bad_request_target', detail, UNMATCHED_LABEL, 'bad_request', undefined, true);
  }

  /**
   * Runs the pipeline for one request. With the grants cached, everything up to the dispatch to
   * the upstream happens in this call, with no promise in between; only a store lookup waits.
   */
  handle(req: IncomingMessage, res: ServerResponse, target: CheckedTarget): void {
    this.#inFlight++;
    let continues = false;
    try {
      continues = this.#route(req, res, target);
    } catch (error) {
      this.#internalError(res, error);
    }
    if (!continues) this.#settled();
  }

  /**
   * Route match, body limit, credential, then the grants: from the cache at once, else from the
   * store. Returns `true` when the request goes on past this call (forwarded, or waiting on the
   * store) and settles on its own; `false` when it was answered here.
   */
  #route(req: IncomingMessage, res: ServerResponse, target: CheckedTarget): boolean {
    const table = this.#routes;
    const method = req.method ?? 'GET';
    const match = table.matcher.match(method, target.path);
    if (match === null) {
      this.#refuse(res, 'no_route', '', UNMATCHED_LABEL, 'not_found');
      return false;
    }
    const rule = match.rule;
    // Checked before the token: a body too large for the route is refused without a lookup.
    // llhttp has validated Content-Length as digits only.
    const bodyLimit = table.maxBodyBytes[rule.index] ?? 0;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > bodyLimit) {
      this.#refuseShape(
        res,
        'body_too_large',
        `the body is ${declared} bytes; this route accepts at most ${bodyLimit}`,
        rule.pattern,
      );
      return false;
    }
    const routed: RoutedRequest = { req, res, target, rule, table, bodyLimit };
    const requirement = rule.requirement;
    if (requirement.kind === 'public') {
      this.#forward(routed, null);
      return true;
    }

    // From the raw list: a repeated header stays visible, and headersDistinct is never built.
    const credential = extractBearerFromRawHeaders(req.rawHeaders);
    if (credential.kind === 'none') {
      this.#deny(res, rule, {
        kind: 'deny',
        reason: 'token_missing',
        detail: 'this route requires a bearer token',
      });
      return false;
    }
    if (credential.kind === 'invalid') {
      this.#deny(res, rule, { kind: 'deny', reason: 'token_malformed', detail: credential.detail });
      return false;
    }
    const parsed = parseToken(credential.token);
    if (!parsed.ok) {
      this.#deny(res, rule, {
        kind: 'deny',
        reason: 'token_malformed',
        detail: 'the bearer credential is not a well-formed patgate token',
      });
      return false;
    }

    const resource = resolveResource(requirement.resource, match.params);
    const tokenHash = hashToken(credential.token);
    const owner = resource.owner ?? '';
    const key = GrantCache.key(tokenHash, parsed.kind, owner);
    const cached = this.#cache.peek(key);
    if (cached !== undefined) return this.#authorize(routed, requirement, resource, cached, null);
    const started = performance.now();
    this.#cache.load(tokenHash, owner, key).then(
      (snapshot) =>
        this.#resume(res, () => this.#authorize(routed, requirement, resource, snapshot, started)),
      (error: unknown) => this.#resume(res, () => this.#storeFailed(res, rule, error)),
    );
    return true;
  }

  /** Continues a request after a store lookup, with `handle`'s guarantee: it settles exactly once. */
  #resume(res: ServerResponse, step: () => boolean): void {
    let continues = false;
    try {
      continues = step();
    } catch (error) {
      this.#internalError(res, error);
    }
    if (!continues) this.#settled();
  }

  /** Decides on the grants and forwards or refuses. `started`: when the store lookup began, if one did. */
  #authorize(
    routed: RoutedRequest,
    requirement: PermissionRequirement,
    resource: RequestResource,
    snapshot: GrantSnapshot | null,
    started: number | null,
  ): boolean {
    const { res, rule, table } = routed;
    if (snapshot === null) {
      this.#deny(res, rule, { kind: 'deny', reason: 'token_unknown', detail: 'unknown token' });
      return false;
    }
    const decision = decide({
      snapshot,
      requirement,
      resource,
      implicit: table.implicit,
      hideForbidden: table.hideForbidden,
      now: this.#now(),
    });
    // Only decisions that waited on the store are timed: a cache hit takes a few
    // microseconds, and timing every one cost more than the decision itself.
    if (started !== null) this.#metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    if (decision.kind === 'deny') {
      this.#deny(res, rule, decision);
      return false;
    }
    this.#metrics.countDecision('allow', 'granted');
    this.#lastUsed.note(decision.token.id, this.#now());
    this.#forward(routed, snapshot);
    return true;
  }

  #storeFailed(res: ServerResponse, rule: RouteRule, error: unknown): false {
    if (!(error instanceof StoreUnavailableError)) throw error;
    this.#metrics.storeErrors.inc();
    const suppressed = this.#storeWarnings.take();
    if (suppressed >= 0) {
      this.#logger.warn(
        { err: error, route: rule.pattern, suppressed_since_last: suppressed },
        'grant store unavailable; refusing with 503',
      );
    }
    this.#refuse(
      res,
      'store_unavailable',
      'grants cannot be read right now; retry shortly',
      rule.pattern,
      'unavailable',
    );
    return false;
  }

  /**
   * Hands the request to the upstream; the request settles when the handler reports back. The
   * last step of every path that forwards: nothing may run after it that could answer `res`.
   */
  #forward(routed: RoutedRequest, snapshot: GrantSnapshot | null): void {
    const { req, res, target, rule } = routed;
    const token = snapshot?.token;
    const peer = req.socket.remoteAddress;
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      {
        user: token?.user ?? '',
        tokenId: token?.id ?? null,
        clientIp: peer ?? '',
        proto: 'http',
        host: req.headers.host,
        trustedPeer: this.#trustedProxies.has(peer),
      },
      this.#upstreamHost,
    );
    const guard = BodyGuard.for(req, routed.bodyLimit);
    if (target.expectContinue && !res.headersSent) res.writeContinue();
    if (this.#logger.isLevelEnabled('debug')) {
      this.#logger.debug(
        { granted: true, route: rule.pattern, method: req.method, token_id: token?.id, user: token?.user },
        'request allowed',
      );
    }
    const upstreamStarted = performance.now();
    this.#upstream.forward(
      req,
      res,
      {
        method: req.method ?? 'GET',
        path: target.path + target.query,
        headers,
        responseHeaders: token === undefined ? NO_HEADERS : ['x-patgate-token-expiration', token.expiresAt],
      },
      (outcome) => {
        try {
          this.#metrics.upstreamSeconds.observe((performance.now() - upstreamStarted) / 1000);
          this.#forwarded(res, rule, guard, outcome);
        } catch (error) {
          this.#internalError(res, error);
        } finally {
          this.#settled();
        }
      },
    );
  }

  /** Counts and logs how a forwarded request ended; answers 502/504 if nothing reached the client. */
  #forwarded(res: ServerResponse, rule: RouteRule, guard: BodyGuard | null, outcome: ForwardOutcome): void {
    const violation = guard?.violation ?? null;
    if (violation !== null) {
      // The body was stopped before the offending chunk reached the upstream, which saw an
      // aborted request, never a complete one.
      if (outcome.kind === 'upstream_error' && !outcome.afterHeaders) {
        this.#refuseShape(res, violation, guard?.detail ?? '', rule.pattern);
      } else {
        this.#logger.info({ granted: false, reason_id: violation, route: rule.pattern }, 'request refused');
      }
      return;
    }
    switch (outcome.kind) {
      case 'ok':
        this.#metrics.countRequest(rule.pattern, 'allowed');
        return;
      case 'client_aborted':
        this.#metrics.countRequest(rule.pattern, 'aborted');
        return;
      case 'upstream_error': {
        this.#logger.warn(
          {
            route: rule.pattern,
            error_kind: outcome.error,
            after_headers: outcome.afterHeaders,
            err: outcome.cause,
          },
          'upstream request failed',
        );
        if (outcome.afterHeaders) {
          this.#metrics.countRequest(rule.pattern, 'upstream_error');
          return;
        }
        const status = upstreamErrorStatus(outcome.error);
        this.#refuse(
          res,
          status === 504 ? 'upstream_timeout' : 'upstream_unavailable',
          status === 504 ? 'the upstream did not answer in time' : 'the upstream could not be reached',
          rule.pattern,
          'upstream_error',
        );
        return;
      }
    }
  }

  /** Never throws: it runs in `catch` blocks whose callers settle the request right after. */
  #internalError(res: ServerResponse, error: unknown): void {
    this.#logger.error({ err: error }, 'unhandled error in gateway pipeline');
    try {
      this.#refuse(res, 'internal', '', UNMATCHED_LABEL, 'unavailable');
    } catch (writeError) {
      this.#logger.error({ err: writeError }, 'could not answer 500; closing the connection');
      res.destroy();
    }
  }

  /** One request is done with the pipeline: it no longer holds up a drain. */
  #settled(): void {
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #deny(res: ServerResponse, rule: RouteRule, decision: Extract<Decision, { kind: 'deny' }>): void {
    this.#metrics.countDecision('deny', decision.reason);
    // A refusal is the interesting event: one line with the same fields every time.
    this.#logger.info(
      { granted: false, reason_id: decision.reason, route: rule.pattern, token_id: decision.tokenId },
      'request denied',
    );
    const outcome: RequestOutcome = decision.reason === 'resource_hidden' ? 'not_found' : 'denied';
    this.#refuse(res, decision.reason, decision.detail, rule.pattern, outcome, decision.requiredPermissions);
  }

  #refuse(
    res: ServerResponse,
    code: ProblemCode,
    detail: string,
    routeLabel: string,
    outcome: RequestOutcome,
    required?: Extract<Decision, { kind: 'deny' }>['requiredPermissions'],
    close = false,
  ): void {
    this.#metrics.countRequest(routeLabel, outcome);
    writeProblem(
      res,
      problemFor(code, detail, required, this.#retryAfter),
      close ? CLOSE_CONNECTION : undefined,
    );
  }

  #refuseShape(res: ServerResponse, refusal: RequestRefusal, detail: string, routeLabel: string): void {
    this.#logger.info({ granted: false, reason_id: refusal, route: routeLabel }, 'request refused');
    this.#metrics.countRequest(routeLabel, 'bad_request');
    writeRefusal(res, refusal, detail);
  }
}
