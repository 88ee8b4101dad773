import type { IncomingMessage, ServerResponse } from 'node:http';
import { decide } from '../grants/decide.js';
import type { Decision } from '../grants/decision.js';
import { resolveResource } from '../grants/resource.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, RequestOutcome } from '../observability/metrics.js';
import { buildUpstreamHeaders } from '../proxy/headers.js';
import { type Upstream, upstreamErrorStatus } from '../proxy/upstream.js';
import type { RouteRule } from '../routes/types.js';
import { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { extractBearer } from '../tokens/extract.js';
import { hashToken, parseToken } from '../tokens/format.js';
import type { LastUsedRecorder } from './last-used.js';
import { type ProblemCode, problemFor } from './problem.js';
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
  readonly now?: () => number;
}

/** A request target that `request/target.ts` accepted. */
export interface CheckedTarget {
  readonly path: string;
  readonly query: string;
}

const UNMATCHED_LABEL = '(unmatched)';

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
  readonly #retryAfter: number;
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

  async handle(req: IncomingMessage, res: ServerResponse, target: CheckedTarget): Promise<void> {
    this.#inFlight++;
    try {
      await this.#handle(req, res, target);
    } catch (error) {
      this.#logger.error({ err: error }, 'unhandled error in gateway pipeline');
      this.#refuse(res, 'internal', '', UNMATCHED_LABEL, 'unavailable');
    } finally {
      if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse, target: CheckedTarget): Promise<void> {
    const started = performance.now();
    const table = this.#routes;
    const method = req.method ?? 'GET';
    const match = table.matcher.match(method, target.path);
    if (match === null) {
      this.#refuse(res, 'no_route', '', UNMATCHED_LABEL, 'not_found');
      return;
    }
    const rule = match.rule;
    const requirement = rule.requirement;
    if (requirement.kind === 'public') {
      await this.#forward(req, res, target, rule, null);
      return;
    }

    const credential = extractBearer(req.headersDistinct.authorization);
    if (credential.kind === 'none') {
      this.#deny(res, rule, {
        kind: 'deny',
        reason: 'token_missing',
        detail: 'this route requires a bearer token',
      });
      return;
    }
    if (credential.kind === 'invalid') {
      this.#deny(res, rule, { kind: 'deny', reason: 'token_malformed', detail: credential.detail });
      return;
    }
    const parsed = parseToken(credential.token);
    if (!parsed.ok) {
      this.#deny(res, rule, {
        kind: 'deny',
        reason: 'token_malformed',
        detail: 'the bearer credential is not a well-formed patgate token',
      });
      return;
    }

    const resource = resolveResource(requirement.resource, match.params);
    const tokenHash = hashToken(credential.token);
    const owner = resource.owner ?? '';
    const key = GrantCache.key(tokenHash, parsed.kind, owner);
    let snapshot: GrantSnapshot | null | undefined = this.#cache.peek(key);
    if (snapshot === undefined) {
      try {
        snapshot = await this.#cache.load(tokenHash, owner, key);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        this.#metrics.storeErrors.inc();
        this.#logger.warn({ err: error, route: rule.pattern }, 'grant store unavailable; refusing with 503');
        this.#refuse(
          res,
          'store_unavailable',
          'grants cannot be read right now; retry shortly',
          rule.pattern,
          'unavailable',
        );
        return;
      }
    }
    if (snapshot === null) {
      this.#deny(res, rule, { kind: 'deny', reason: 'token_unknown', detail: 'unknown token' });
      return;
    }

    const decision = decide({
      snapshot,
      requirement,
      resource,
      implicit: table.implicit,
      hideForbidden: table.hideForbidden,
      now: this.#now(),
    });
    this.#metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    if (decision.kind === 'deny') {
      this.#deny(res, rule, decision);
      return;
    }
    this.#metrics.decisions.inc({ result: 'allow', reason: 'granted' });
    this.#lastUsed.note(decision.token.id, this.#now());
    await this.#forward(req, res, target, rule, snapshot);
  }

  async #forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: CheckedTarget,
    rule: RouteRule,
    snapshot: GrantSnapshot | null,
  ): Promise<void> {
    const token = snapshot?.token;
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      {
        user: token?.user ?? '',
        tokenId: token?.id ?? null,
        clientIp: req.socket.remoteAddress ?? '',
        proto: 'http',
        host: req.headers.host,
      },
      this.#upstreamHost,
    );
    if (this.#logger.isLevelEnabled('debug')) {
      this.#logger.debug(
        { granted: true, route: rule.pattern, method: req.method, token_id: token?.id, user: token?.user },
        'request allowed',
      );
    }
    const upstreamStarted = performance.now();
    const outcome = await this.#upstream.forward(req, res, {
      method: req.method ?? 'GET',
      path: target.path + target.query,
      headers,
      ...(token === undefined ? {} : { responseHeaders: { 'x-patgate-token-expiration': token.expiresAt } }),
    });
    this.#metrics.upstreamSeconds.observe((performance.now() - upstreamStarted) / 1000);
    switch (outcome.kind) {
      case 'ok':
        this.#metrics.requests.inc({ route: rule.pattern, outcome: 'allowed' });
        return;
      case 'client_aborted':
        this.#metrics.requests.inc({ route: rule.pattern, outcome: 'aborted' });
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
          this.#metrics.requests.inc({ route: rule.pattern, outcome: 'upstream_error' });
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

  #deny(res: ServerResponse, rule: RouteRule, decision: Extract<Decision, { kind: 'deny' }>): void {
    this.#metrics.decisions.inc({ result: 'deny', reason: decision.reason });
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
  ): void {
    this.#metrics.requests.inc({ route: routeLabel, outcome });
    writeProblem(res, problemFor(code, detail, required, this.#retryAfter));
  }
}
