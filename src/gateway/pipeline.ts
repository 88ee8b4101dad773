import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { AssertionSigner } from '../assertion/signer.js';
import { decide } from '../grants/decide.js';
import { InstantMemo } from '../grants/instant.js';
import { type RequestResource, resolveResource } from '../grants/resource.js';
import type { TokenRecord } from '../grants/token-record.js';
import type { ConcurrencyHold, RequestLimits } from '../limits/request-limits.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { Throttle } from '../observability/throttle.js';
import type { ForwardOutcome, Upstream, UpstreamIdentity } from '../proxy/upstream.js';
import { prefersPlainJson } from '../request/accept.js';
import { hasBody, type RequestFacts, type ShapeRefusal } from '../request/facts.js';
import type { RouteRequirement, RouteRule } from '../routes/types.js';
import type { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { hashToken, parseToken } from '../tokens/format.js';
import { AccessLog, type AccessRecord } from './access-log.js';
import type { UpstreamShares } from './body-budget.js';
import { BodyIntake, type BodyIntakeOptions, type BodyResult, type BodyViolation } from './body-intake.js';
import { TOKEN_MALFORMED, TOKEN_MISSING, TOKEN_UNKNOWN, withoutBase } from './credential-denials.js';
import { encodedSlashProblem } from './encoded-slash.js';
import type { LastUsedRecorder } from './last-used.js';
import { type LeakReportHandler, type PublicEndpoint, publicEndpoints } from './leak-report.js';
import {
  GITHUB_RATE_LIMIT_PATH,
  RATE_LIMIT_PATH,
  rateLimitBody,
  unusableToken,
} from './rate-limit-status.js';
import {
  answerFor,
  type DenyRefusal,
  type Dialect,
  INTERNAL,
  NO_ROUTE,
  type Refusal,
  type RequestAccessUrl,
  STORE_UNAVAILABLE,
} from './refusal.js';
import type { RouteTable } from './route-table.js';
import { writeRefusal } from './write-refusal.js';

export interface GatewayOptions {
  readonly routes: RouteTable;
  readonly cache: GrantCache;
  readonly upstream: Upstream;
  readonly lastUsed: LastUsedRecorder;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How request bodies are read before (or while) they go to the upstream. */
  readonly bodies: BodyIntakeOptions;
  /** Upstream requests in flight per client address. */
  readonly shares: UpstreamShares;
  /** Stripped before matching (`base_path`); null for none. */
  readonly basePath: string | null;
  /** Header names and error members: patgate's, or GitHub's (`compat: github`). */
  readonly dialect: Dialect;
  /** Signs the identity assertion for the upstream (`identity_assertion`); null without one. */
  readonly assertion: AssertionSigner | null;
  /** Share of allowed requests written to the access log (`log.allowed_sample_rate`); refusals always are. */
  readonly allowedSampleRate?: number;
  /** The public leak report (`POST /_patgate/credentials/revoke`); absent: the path is no route. */
  readonly leakReports?: LeakReportHandler;
  /** GitHub's secret scanning partner endpoint (`POST /_patgate/secret-scanning`); absent: no route. */
  readonly secretScanning?: LeakReportHandler;
  /** IP allow lists and rate limits (src/limits/); absent: none. */
  readonly limits?: RequestLimits;
  readonly now?: () => number;
  /** `request_access_url` on a 403 for a missing permission (a console with `public_url`). */
  readonly requestAccessUrl?: RequestAccessUrl | null;
}

/**
 * What an authorized request becomes: forwarded to the upstream (the gateway listener), or
 * answered with the identity for a proxy in front to forward it (the decision listener).
 */
type Outcome = 'forward' | 'answer';

/** What every refusal needs: how to answer, and the access line to fill in. */
interface RefusalContext {
  readonly outcome: Outcome;
  readonly access: AccessRecord;
  readonly facts: RequestFacts | null;
}

/** A request whose route is known: what every later step needs about it. */
interface RoutedRequest extends RefusalContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly facts: RequestFacts;
  /** The path the route was matched on: the request's, less `base_path`. */
  readonly path: string;
  readonly rule: RouteRule;
  /** The route map the request was matched on; a reload during a store lookup does not change it. */
  readonly table: RouteTable;
  /** Limits: this request counts among its token's requests in flight until it settles. */
  hold: ConcurrencyHold | null;
}

type PermissionRequirement = Extract<RouteRequirement, { kind: 'permissions' }>;

const UNMATCHED_LABEL = '(unmatched)';

/** A streamed body, whole (the intake bounds it by its limit). */
async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that broke a rule: its shape, or the gateway's memory budget (503, come back). */
function bodyRefusal(violation: BodyViolation, detail: string): Refusal {
  return violation === 'body_buffer_full'
    ? { kind: 'overloaded', reason: 'body_buffer_full' }
    : { kind: 'shape', reason: violation, detail };
}

/**
 * When the token expires, on every authorized answer: patgate's RFC 3339 instant, or GitHub's
 * header and format (`2026-12-31 23:59:59 UTC`), which its clients read to warn before expiry.
 */
function expirationHeader(expiresAt: string, dialect: Dialect): readonly string[] {
  return dialect === 'github'
    ? ['github-authentication-token-expiration', `${expiresAt.slice(0, 10)} ${expiresAt.slice(11, 19)} UTC`]
    : ['x-patgate-token-expiration', expiresAt];
}

/**
 * The per-request pipeline for proxied traffic: route match → token → grants (cache, then store)
 * → decide → body → forward. The request was read and checked before this runs (`server.ts`,
 * `request/facts.ts`); every way it ends without the upstream's answer goes through `#refuse`.
 */
export class Gateway {
  #routes: RouteTable;
  readonly #cache: GrantCache;
  readonly #upstream: Upstream;
  readonly #lastUsed: LastUsedRecorder;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #bodies: BodyIntakeOptions;
  readonly #shares: UpstreamShares;
  readonly #basePath: string | null;
  readonly #dialect: Dialect;
  readonly #requestAccessUrl: RequestAccessUrl | null;
  readonly #assertion: AssertionSigner | null;
  readonly #access: AccessLog;
  readonly #publicEndpoints: readonly PublicEndpoint[];
  readonly #storeWarnings = new Throttle(1_000);
  /** Parsed expiry instants, shared by every decision of this gateway. */
  readonly #instants = new InstantMemo();
  readonly #now: () => number;
  readonly #limits: RequestLimits | null;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: GatewayOptions) {
    this.#routes = options.routes;
    this.#cache = options.cache;
    this.#upstream = options.upstream;
    this.#lastUsed = options.lastUsed;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#bodies = options.bodies;
    this.#shares = options.shares;
    this.#basePath = options.basePath;
    this.#dialect = options.dialect;
    this.#requestAccessUrl = options.requestAccessUrl ?? null;
    this.#assertion = options.assertion;
    this.#access = new AccessLog(options.logger, options.allowedSampleRate ?? 1);
    this.#publicEndpoints = publicEndpoints(options.leakReports, options.secretScanning);
    this.#now = options.now ?? Date.now;
    this.#limits = options.limits ?? null;
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

  /** Writes the access lines still buffered (shutdown). */
  flushAccessLog(): void {
    this.#access.flush();
  }

  /** Resolves once no request is in flight (for drain on shutdown). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Answers a request refused before the pipeline (its shape, or its client's connection count). */
  refuseShape(
    req: IncomingMessage,
    res: ServerResponse,
    refusal: ShapeRefusal,
    outcome: Outcome = 'forward',
  ): void {
    const client = req.socket.remoteAddress ?? '';
    const access = this.#access.begin(res, randomUUID(), req.method ?? '', client, UNMATCHED_LABEL);
    this.#refuse(res, refusal, { outcome, access, facts: null });
  }

  /**
   * Runs the pipeline for one request. With the grants cached, everything up to the dispatch to
   * the upstream happens in this call, with no promise in between; only a store lookup waits.
   */
  handle(req: IncomingMessage, res: ServerResponse, facts: RequestFacts): void {
    this.#run(req, res, facts, 'forward');
  }

  /**
   * The same pipeline up to the decision, for the decision listener: an allowed request is
   * answered 200 with the identity headers instead of being forwarded (`facts` describe the
   * original request a proxy in front asks about).
   */
  answer(req: IncomingMessage, res: ServerResponse, facts: RequestFacts): void {
    this.#run(req, res, facts, 'answer');
  }

  #run(req: IncomingMessage, res: ServerResponse, facts: RequestFacts, outcome: Outcome): void {
    this.#inFlight++;
    const requestId = facts.requestId ?? randomUUID();
    const access = this.#access.begin(res, requestId, facts.method, facts.clientAddress, UNMATCHED_LABEL);
    const context: RefusalContext = { outcome, access, facts };
    let continues = false;
    try {
      continues = this.#route(req, res, context, facts);
    } catch (error) {
      this.#internalError(res, error, context);
    }
    if (!continues) this.#settled();
  }

  /**
   * Route match, body limit, credential, then the grants: from the cache at once, else from the
   * store. Returns `true` when the request goes on past this call (forwarded, or waiting on the
   * store or its body) and settles on its own; `false` when it was answered here.
   */
  #route(req: IncomingMessage, res: ServerResponse, context: RefusalContext, facts: RequestFacts): boolean {
    const table = this.#routes;
    const path = this.#basePath === null ? facts.path : withoutBase(facts.path, this.#basePath);
    // Never on the decision listener: a proxy would take its 2xx for an allow and forward the report.
    if (this.#publicEndpoints.length !== 0 && context.outcome === 'forward') {
      const endpoint = this.#publicEndpointAt(facts.path, path);
      if (endpoint !== null) return this.#leakReport(req, res, context, facts, endpoint);
    }
    // Limits: the caller's budgets, answered here and free of charge.
    if (this.#limits?.rated === true && this.#isRateLimitPath(facts.path, path)) {
      return this.#rateLimitStatus(res, context, facts, this.#limits);
    }
    const match = path === null ? null : table.matcher.match(facts.method, path);
    if (match === null || path === null) {
      this.#refuse(res, NO_ROUTE, context);
      return false;
    }
    const rule = match.rule;
    context.access.route = rule.pattern;
    if (facts.encodedSlash) {
      const problem = encodedSlashProblem(match);
      if (problem !== null) {
        this.#refuse(res, { kind: 'shape', reason: 'bad_request_target', detail: problem }, context);
        return false;
      }
    }
    // Checked before the token: a body too large for the route is refused without a lookup.
    if (facts.contentLength > rule.maxBodyBytes) {
      this.#refuse(
        res,
        {
          kind: 'shape',
          reason: 'body_too_large',
          detail: `the body is ${facts.contentLength} bytes; this route accepts at most ${rule.maxBodyBytes}`,
        },
        context,
      );
      return false;
    }
    // Built field by field, in one order: a spread makes a new object shape per call site, and
    // every later read of `routed` on the hot path pays for it.
    const routed: RoutedRequest = {
      outcome: context.outcome,
      access: context.access,
      facts,
      req,
      res,
      path,
      rule,
      table,
      hold: null,
    };
    const requirement = rule.requirement;
    if (requirement.kind === 'public') return this.#forward(routed, null);

    const credential = facts.credential;
    if (credential.kind === 'none') return this.#deny(routed, TOKEN_MISSING);
    if (credential.kind === 'invalid') {
      return this.#deny(routed, { kind: 'deny', reason: 'token_malformed', detail: credential.detail });
    }
    const parsed = parseToken(credential.token);
    if (!parsed.ok) return this.#deny(routed, TOKEN_MALFORMED);

    const resource = resolveResource(requirement.resource, match.params);
    const tokenHash = hashToken(credential.token);
    const owner = resource.owner ?? '';
    const cached = this.#cache.peek(tokenHash, parsed.kind, owner);
    if (cached !== undefined) return this.#authorize(routed, requirement, resource, cached, null);
    const started = performance.now();
    this.#cache.load(tokenHash, parsed.kind, owner).then(
      (snapshot) =>
        this.#resume(routed, () => this.#authorize(routed, requirement, resource, snapshot, started)),
      (error: unknown) => this.#resume(routed, () => this.#storeFailed(routed, error)),
    );
    return true;
  }

  /** Continues a request after an asynchronous step, with `handle`'s guarantee: it settles exactly once. */
  #resume(routed: RoutedRequest, step: () => boolean): void {
    let continues = false;
    try {
      continues = step();
    } catch (error) {
      this.#internalError(routed.res, error, routed);
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
    if (snapshot === null) return this.#deny(routed, TOKEN_UNKNOWN);
    const decision = decide({
      snapshot,
      requirement,
      resource,
      implicit: routed.table.implicit,
      hideForbidden: routed.table.hideForbidden,
      now: this.#now(),
      instants: this.#instants,
    });
    // Only decisions that waited on the store are timed: a cache hit takes a few
    // microseconds, and timing every one cost more than the decision itself.
    if (started !== null) this.#metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    if (decision.kind === 'deny') {
      // The console link asking for the missing permission: built only when refusing.
      const link = decision.reason === 'permission_missing' ? this.#requestAccessUrl : null;
      return this.#deny(
        routed,
        link === null ? decision : { ...decision, requestAccessUrl: link(decision, resource) },
      );
    }
    // Limits (src/limits/): allow lists, then the concurrency and rate limits.
    const limits = this.#limits;
    if (limits !== null) {
      const { facts } = routed;
      const limited = limits.admit(
        snapshot,
        resource.owner,
        facts.clientAddress,
        facts.method,
        routed.rule.pattern,
      );
      if (limited instanceof Promise) {
        // This instance's share of the budget is empty: ask again after the next reconcile.
        limited.then(() =>
          this.#resume(routed, () => this.#authorize(routed, requirement, resource, snapshot, null)),
        );
        return true;
      }
      if (limited !== null) {
        this.#metrics.countDecision('deny', limited.reason);
        routed.access.tokenId = limited.tokenId;
        this.#refuse(routed.res, limited, routed);
        return false;
      }
      if (routed.outcome === 'forward') routed.hold = limits.enter(decision.token.id);
    }
    this.#metrics.countDecision('allow', 'granted');
    this.#lastUsed.note(decision.token.id, this.#now());
    return this.#forward(routed, snapshot);
  }

  #storeFailed(routed: RoutedRequest, error: unknown): false {
    if (!(error instanceof StoreUnavailableError)) throw error;
    this.#metrics.storeErrors.inc();
    const suppressed = this.#storeWarnings.take();
    if (suppressed >= 0) {
      this.#logger.warn(
        { err: error, route: routed.rule.pattern, suppressed_since_last: suppressed },
        'grant store unavailable; refusing with 503',
      );
    }
    this.#refuse(routed.res, STORE_UNAVAILABLE, routed);
    return false;
  }

  #deny(routed: RoutedRequest, decision: DenyRefusal): false {
    this.#metrics.countDecision('deny', decision.reason);
    routed.access.tokenId = decision.tokenId;
    this.#refuse(routed.res, decision, routed);
    return false;
  }

  /**
   * Takes the client's share of the upstream, then reads the body (whole, if it fits the buffer)
   * and dispatches. From here the request settles through `#release`, whichever way it ends.
   */
  #forward(routed: RoutedRequest, snapshot: GrantSnapshot | null): boolean {
    if (routed.outcome === 'answer') return this.#answerAllowed(routed, snapshot);
    const { req, res, facts, rule } = routed;
    if (!this.#shares.tryTake(facts.clientAddress)) {
      this.#leaveLimits(routed);
      this.#refuse(res, { kind: 'overloaded', reason: 'too_many_upstream_requests' }, routed);
      return false;
    }
    const intake = hasBody(facts) ? BodyIntake.open(req, facts, rule.maxBodyBytes, this.#bodies) : null;
    // RFC 9110 §10.1.1: the interim answer goes out only once the request is authorized, so a
    // refused client never uploads its body.
    if (facts.expectContinue && !res.headersSent) res.writeContinue();
    if (intake === null) {
      try {
        this.#dispatch(routed, snapshot, null, null);
      } catch (error) {
        // Settled by the caller's catch; the share is this step's to give back.
        this.#shares.give(facts.clientAddress);
        this.#leaveLimits(routed);
        throw error;
      }
      return true;
    }
    intake.start(facts.contentLength, (result) => this.#bodyRead(routed, snapshot, intake, result));
    return true;
  }

  /**
   * The decision listener's allow: 200, no body, and what the proxy in front copies upstream.
   * Nothing of the request's body is read (the proxy keeps it).
   */
  #answerAllowed(routed: RoutedRequest, snapshot: GrantSnapshot | null): false {
    const token = snapshot?.token;
    const headers: Record<string, string> = { 'content-length': '0', 'cache-control': 'no-store' };
    if (token !== undefined) {
      headers['x-patgate-user'] = token.user;
      headers['x-patgate-token-id'] = token.id;
      if (this.#assertion !== null) headers[this.#assertion.header] = this.#assertion.assertionFor(token);
      const [name, value] = expirationHeader(token.expiresAt, this.#dialect);
      headers[name as string] = value as string;
      if (this.#limits !== null && snapshot !== null) {
        const limitHeaders: string[] = [];
        this.#limits.appendHeaders(limitHeaders, snapshot);
        for (let i = 0; i < limitHeaders.length; i += 2) {
          headers[limitHeaders[i] as string] = limitHeaders[i + 1] as string;
        }
      }
    }
    headers['x-request-id'] = routed.access.requestId;
    if (token !== undefined) {
      routed.access.tokenId = token.id;
      routed.access.user = token.user;
    }
    routed.res.writeHead(200, headers).end();
    this.#metrics.countRequest(routed.rule.pattern, 'allowed');
    return false;
  }

  #bodyRead(
    routed: RoutedRequest,
    snapshot: GrantSnapshot | null,
    intake: BodyIntake,
    result: BodyResult,
  ): void {
    switch (result.kind) {
      case 'ready':
        try {
          this.#dispatch(routed, snapshot, result.body, intake);
        } catch (error) {
          this.#internalError(routed.res, error, routed);
          this.#release(routed, intake);
        }
        return;
      case 'refused':
        this.#finish(routed, intake, () =>
          this.#refuse(routed.res, bodyRefusal(result.reason, result.detail), routed),
        );
        return;
      case 'aborted':
        this.#finish(routed, intake, () => this.#metrics.countRequest(routed.rule.pattern, 'aborted'));
        return;
    }
  }

  /**
   * Hands the request to the upstream; the request settles when the handler reports back. The
   * last step of every path that forwards: nothing may run after it that could answer `res`.
   */
  #dispatch(
    routed: RoutedRequest,
    snapshot: GrantSnapshot | null,
    body: Buffer | Readable | null,
    intake: BodyIntake | null,
  ): void {
    const { res, facts, access } = routed;
    const token = snapshot?.token;
    const identity = token === undefined ? null : this.#identityOf(token);
    if (token !== undefined) {
      access.tokenId = token.id;
      access.user = token.user;
    }
    const upstreamStarted = performance.now();
    const responseHeaders =
      token === undefined
        ? ['x-request-id', access.requestId]
        : ['x-request-id', access.requestId, ...expirationHeader(token.expiresAt, this.#dialect)];
    // Limits: X-RateLimit-* on every authorized answer.
    if (this.#limits !== null && snapshot !== null) this.#limits.appendHeaders(responseHeaders, snapshot);
    this.#upstream.forward(
      res,
      { facts, path: routed.path, identity, requestId: access.requestId, body, responseHeaders },
      (outcome) =>
        this.#finish(routed, intake, () => {
          this.#metrics.upstreamSeconds.observe((performance.now() - upstreamStarted) / 1000);
          this.#forwarded(routed, intake, outcome);
        }),
    );
  }

  /** Reserved for the gateway: never routed, never forwarded. GitHub's spelling with `compat: github`. */
  #publicEndpointAt(full: string, routed: string | null): PublicEndpoint | null {
    for (const endpoint of this.#publicEndpoints) {
      if (full === endpoint.path || (this.#dialect === 'github' && routed === endpoint.githubPath)) {
        return endpoint;
      }
    }
    return null;
  }

  /**
   * A public leak report: the body is read whole (up to the handler's limit), handed over with
   * the client address after `trusted_proxies`, and the handler's answer written as it is. The
   * answer never says which credentials existed.
   */
  #leakReport(
    req: IncomingMessage,
    res: ServerResponse,
    context: RefusalContext,
    facts: RequestFacts,
    endpoint: PublicEndpoint,
  ): boolean {
    context.access.route = `POST ${endpoint.path}`;
    if (facts.method !== 'POST') {
      this.#refuse(
        res,
        { kind: 'shape', reason: 'reserved_method', detail: 'this path takes POST only' },
        context,
      );
      return false;
    }
    if (facts.contentLength > endpoint.maxBytes) {
      this.#refuse(
        res,
        {
          kind: 'shape',
          reason: 'body_too_large',
          detail: `a report is at most ${endpoint.maxBytes} bytes`,
        },
        context,
      );
      return false;
    }
    // Read like any body: within the memory budget, at the minimum rate, up to the limit.
    if (facts.expectContinue && !res.headersSent) res.writeContinue();
    const intake = BodyIntake.open(req, facts, endpoint.maxBytes, this.#bodies);
    const finish = (answer: () => void): void => {
      try {
        answer();
      } catch (error) {
        this.#internalError(res, error, context);
      }
      intake.release();
      this.#settled();
    };
    const respond = (body: Buffer): void => {
      endpoint.handle(body, facts.clientAddress, facts.headers).then(
        (answer) =>
          finish(() => {
            const bytes = Buffer.from(answer.body);
            res.writeHead(answer.status, {
              ...answer.headers,
              'content-length': bytes.length,
              'cache-control': 'no-store',
              'x-request-id': context.access.requestId,
            });
            res.end(bytes);
            context.access.bytes = bytes.length;
            if (answer.status >= 400) context.access.reason = `${endpoint.name}_${answer.status}`;
            this.#metrics.countRequest(context.access.route, answer.status < 400 ? 'allowed' : 'bad_request');
          }),
        (error: unknown) => finish(() => this.#internalError(res, error, context)),
      );
    };
    if (!hasBody(facts)) {
      respond(Buffer.alloc(0));
      return true;
    }
    intake.start(facts.contentLength, (result) => {
      switch (result.kind) {
        case 'ready':
          if (Buffer.isBuffer(result.body)) respond(result.body);
          else
            collect(result.body).then(respond, () =>
              finish(() => this.#metrics.countRequest(context.access.route, 'aborted')),
            );
          return;
        case 'refused':
          finish(() => this.#refuse(res, bodyRefusal(result.reason, result.detail), context));
          return;
        case 'aborted':
          finish(() => this.#metrics.countRequest(context.access.route, 'aborted'));
          return;
      }
    });
    return true;
  }

  #identityOf(token: TokenRecord): UpstreamIdentity {
    const signer = this.#assertion;
    return signer === null
      ? { user: token.user, tokenId: token.id }
      : {
          user: token.user,
          tokenId: token.id,
          assertion: { header: signer.header, value: signer.assertionFor(token) },
        };
  }

  /** Runs the last step of a forwarded request, then gives back what it held and settles it. */
  #finish(routed: RoutedRequest, intake: BodyIntake | null, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#internalError(routed.res, error, routed);
    } finally {
      this.#release(routed, intake);
    }
  }

  #release(routed: RoutedRequest, intake: BodyIntake | null): void {
    intake?.release();
    this.#leaveLimits(routed);
    this.#shares.give(routed.facts.clientAddress);
    this.#settled();
  }

  /** Counts and logs how a forwarded request ended; answers 502/504 if nothing reached the client. */
  #forwarded(routed: RoutedRequest, intake: BodyIntake | null, outcome: ForwardOutcome): void {
    const { res, rule } = routed;
    const violation = intake?.violation ?? null;
    if (violation !== null) {
      // The body was stopped before the offending chunk reached the upstream, which saw an
      // aborted request, never a complete one.
      const refusal = bodyRefusal(violation, intake?.detail ?? '');
      if (outcome.kind === 'upstream_error' && !outcome.afterHeaders) this.#refuse(res, refusal, routed);
      else routed.access.reason = violation;
      return;
    }
    switch (outcome.kind) {
      case 'ok':
        routed.access.bytes = outcome.bytes;
        this.#metrics.countRequest(rule.pattern, 'allowed');
        return;
      case 'client_aborted':
        this.#metrics.countRequest(rule.pattern, 'aborted');
        return;
      case 'upstream_error':
        this.#logger.warn(
          {
            route: rule.pattern,
            error_kind: outcome.error,
            after_headers: outcome.afterHeaders,
            err: outcome.cause,
          },
          'upstream request failed',
        );
        if (outcome.afterHeaders) this.#metrics.countRequest(rule.pattern, 'upstream_error');
        else this.#refuse(res, { kind: 'upstream_failed', error: outcome.error }, routed);
        return;
    }
  }

  /** Never throws: it runs in `catch` blocks whose callers settle the request right after. */
  #internalError(res: ServerResponse, error: unknown, context: RefusalContext): void {
    this.#logger.error(
      { err: error, request_id: context.access.requestId },
      'unhandled error in gateway pipeline',
    );
    try {
      this.#refuse(res, INTERNAL, context);
    } catch (writeError) {
      this.#logger.error({ err: writeError }, 'could not answer 500; closing the connection');
      res.destroy();
    }
  }

  /** Limits: the request no longer counts among its token's requests in flight. */
  #leaveLimits(routed: RoutedRequest): void {
    const hold = routed.hold;
    if (hold === null) return;
    routed.hold = null;
    this.#limits?.leave(hold);
  }

  /** `GET /_patgate/rate_limit` (GitHub's `/rate_limit` with `compat: github`): reserved, never routed. */
  #isRateLimitPath(full: string, routed: string | null): boolean {
    return full === RATE_LIMIT_PATH || (this.#dialect === 'github' && routed === GITHUB_RATE_LIMIT_PATH);
  }

  /**
   * The caller's budgets, authenticated by its token as any request, behind the same allow
   * lists; it spends nothing (GitHub's `GET /rate_limit`).
   */
  #rateLimitStatus(
    res: ServerResponse,
    context: RefusalContext,
    facts: RequestFacts,
    limits: RequestLimits,
  ): boolean {
    context.access.route = `GET ${RATE_LIMIT_PATH}`;
    const refuse = (refusal: Refusal): false => {
      if (refusal.kind === 'deny' || refusal.kind === 'limited')
        this.#metrics.countDecision('deny', refusal.reason);
      this.#refuse(res, refusal, context);
      return false;
    };
    if (facts.method !== 'GET' && facts.method !== 'HEAD') return refuse(NO_ROUTE);
    const credential = facts.credential;
    if (credential.kind === 'none') return refuse(TOKEN_MISSING);
    if (credential.kind === 'invalid') {
      return refuse({ kind: 'deny', reason: 'token_malformed', detail: credential.detail });
    }
    const parsed = parseToken(credential.token);
    if (!parsed.ok) return refuse(TOKEN_MALFORMED);
    const tokenHash = hashToken(credential.token);
    const answer = (snapshot: GrantSnapshot | null): false => {
      if (snapshot === null) return refuse(TOKEN_UNKNOWN);
      context.access.tokenId = snapshot.token.id;
      const unusable = unusableToken(snapshot.token, this.#now(), this.#instants);
      if (unusable !== null) return refuse(unusable);
      const outside = limits.checkAddress(snapshot, facts.clientAddress);
      if (outside !== null) return refuse(outside);
      const status = limits.status(snapshot);
      if (status === null) return refuse(NO_ROUTE);
      const body = Buffer.from(rateLimitBody(status));
      const headers: string[] = [
        'content-type',
        'application/json; charset=utf-8',
        'content-length',
        String(body.length),
        'cache-control',
        'no-store',
        'x-request-id',
        context.access.requestId,
      ];
      limits.appendHeaders(headers, snapshot);
      res.writeHead(200, headers);
      res.end(facts.method === 'HEAD' ? undefined : body);
      context.access.user = snapshot.token.user;
      context.access.bytes = body.length;
      this.#metrics.countRequest(context.access.route, 'allowed');
      return false;
    };
    const cached = this.#cache.peek(tokenHash, parsed.kind, '');
    if (cached !== undefined) return answer(cached);
    const step = (run: () => false): void => {
      try {
        run();
      } catch (error) {
        this.#internalError(res, error, context);
      }
      this.#settled();
    };
    this.#cache.load(tokenHash, parsed.kind, '').then(
      (snapshot) => step(() => answer(snapshot)),
      (error: unknown) =>
        step(() => {
          if (!(error instanceof StoreUnavailableError)) throw error;
          this.#metrics.storeErrors.inc();
          return refuse(STORE_UNAVAILABLE);
        }),
    );
    return true;
  }

  /** One request is done with the pipeline: it no longer holds up a drain. */
  #settled(): void {
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * The one way a request is refused: counted, answered, and noted in its access line (written
   * when the response closes, with the same fields every time).
   */
  #refuse(res: ServerResponse, refusal: Refusal, context: RefusalContext): void {
    const answer = answerFor(refusal, this.#dialect);
    const { access } = context;
    this.#metrics.countRequest(access.route, answer.outcome);
    access.reason = answer.code;
    // A proxy that turns every status but 401/403 into 500 (nginx auth_request) still learns it.
    access.bytes = writeRefusal(
      res,
      answer,
      prefersPlainJson(context.facts?.accept),
      context.outcome === 'answer',
      access.requestId,
    );
  }
}
