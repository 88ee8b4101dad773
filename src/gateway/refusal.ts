import type { Decision } from '../grants/decision.js';
import { formatAcceptedPermissions } from '../grants/permission.js';
import type { LimitRefusal } from '../limits/limit-refusal.js';
import type { RequestOutcome } from '../observability/metrics.js';
import type { UpstreamErrorKind } from '../proxy/upstream.js';
import type { ShapeRefusal } from '../request/facts.js';
import { type Problem, problem, RETRY_AFTER_SECONDS } from './problem.js';

/**
 * Every way a request can end without the upstream's answer: one closed union, one table, one
 * writer per transport (`write-refusal.ts`).
 */
export type Refusal =
  /** Refused for its shape, before any route or token was looked at (or its body broke a rule). */
  | ShapeRefusal
  /** A credential decision: `decide` or the pipeline's own token checks. */
  | DenyRefusal
  | { readonly kind: 'no_route' }
  /** The grants could not be read: never an allow. */
  | { readonly kind: 'store_unavailable' }
  /** This client holds its share of upstream requests, or the gateway its budget of buffered bodies. */
  | { readonly kind: 'overloaded'; readonly reason: 'too_many_upstream_requests' | 'body_buffer_full' }
  | { readonly kind: 'upstream_failed'; readonly error: UpstreamErrorKind }
  /** An IP allow list or a rate limit (src/limits/). */
  | LimitRefusal
  | { readonly kind: 'internal' };

/**
 * A denial, and for a missing permission the console link that asks for it (built only
 * when refusing, and only when a console is configured).
 */
export type DenyRefusal = Extract<Decision, { kind: 'deny' }> & { readonly requestAccessUrl?: string };

/** Builds `request_access_url` for a `permission_missing` denial on `resource` (src/console/). */
export type RequestAccessUrl = (
  deny: Extract<Decision, { kind: 'deny' }>,
  resource: { readonly owner: string | null; readonly repo: string | null },
) => string;

export const NO_ROUTE: Refusal = Object.freeze({ kind: 'no_route' });
export const STORE_UNAVAILABLE: Refusal = Object.freeze({ kind: 'store_unavailable' });
export const INTERNAL: Refusal = Object.freeze({ kind: 'internal' });

/** How a refusal is answered, whatever the transport. */
export interface RefusalAnswer {
  readonly problem: Problem;
  /** Extra response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request's framing or body was not read to its end, or cannot be trusted. */
  readonly close: boolean;
  /** The `patgate_requests_total` outcome label. */
  readonly outcome: RequestOutcome;
  /** The code logged as `reason_id`. */
  readonly code: string;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});
const RETRY: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': RETRY_AFTER_SECONDS });
const CHALLENGE: Readonly<Record<string, string>> = Object.freeze({
  'www-authenticate': 'Bearer realm="patgate"',
});
const INVALID_TOKEN: Readonly<Record<string, string>> = Object.freeze({
  'www-authenticate': 'Bearer realm="patgate", error="invalid_token"',
});
const ALLOW_POST: Readonly<Record<string, string>> = Object.freeze({ allow: 'POST' });
const NOT_FOUND_DETAIL = 'no route matches this request';

/** Which header names an answer uses: patgate's own, or GitHub's (`compat: github`). */
export type Dialect = 'patgate' | 'github';

/** The one table: exhaustive over `Refusal`, so a new way to refuse without an answer does not compile. */
export function answerFor(refusal: Refusal, dialect: Dialect = 'patgate'): RefusalAnswer {
  switch (refusal.kind) {
    case 'shape':
      return shapeAnswer(refusal);
    case 'deny':
      return denyAnswer(refusal, dialect);
    case 'no_route':
      return answer('not_found', 404, 'Not Found', NOT_FOUND_DETAIL, NONE, 'not_found', false, 'no_route');
    case 'store_unavailable':
      return answer(
        'store_unavailable',
        503,
        'Grants unavailable',
        'grants cannot be read right now; retry shortly',
        RETRY,
        'unavailable',
        false,
      );
    case 'overloaded':
      return refusal.reason === 'too_many_upstream_requests'
        ? answer(
            refusal.reason,
            429,
            'Too many requests in flight',
            'this client has too many requests waiting on the upstream; retry shortly',
            RETRY,
            'bad_request',
            true,
          )
        : answer(
            refusal.reason,
            503,
            'Gateway busy',
            'the gateway is holding too many request bodies; retry shortly',
            RETRY,
            'unavailable',
            true,
          );
    case 'upstream_failed':
      // RFC 9110 §15.6.5: a gateway that did not get a timely response answers 504; every other
      // upstream failure is 502 (§15.6.3).
      return refusal.error === 'timeout'
        ? answer(
            'upstream_timeout',
            504,
            'Gateway timeout',
            'the upstream did not answer in time',
            NONE,
            'upstream_error',
            false,
          )
        : answer(
            'upstream_unavailable',
            502,
            'Bad gateway',
            'the upstream could not be reached',
            NONE,
            'upstream_error',
            false,
          );
    case 'limited':
      return limitAnswer(refusal);
    case 'internal':
      return answer(
        'internal',
        500,
        'Internal error',
        'the gateway failed to handle this request',
        NONE,
        'unavailable',
        false,
      );
  }
}

function answer(
  code: string,
  status: number,
  title: string,
  detail: string,
  headers: Readonly<Record<string, string>>,
  outcome: RequestOutcome,
  close: boolean,
  logged: string = code,
): RefusalAnswer {
  return { problem: problem(code, status, title, detail), headers, close, outcome, code: logged };
}

/** Shape refusals close the connection: the body was not read, or the framing cannot be trusted. */
function shapeAnswer({ reason, detail }: ShapeRefusal): RefusalAnswer {
  const shape = (status: number, title: string, headers = NONE): RefusalAnswer =>
    answer(reason, status, title, detail, headers, 'bad_request', true);
  switch (reason) {
    case 'bad_request_target':
      return shape(400, 'Ambiguous or malformed request target');
    case 'missing_host':
    case 'duplicate_host':
    case 'bad_host':
      return shape(400, 'Bad Host header');
    case 'method_override':
      return shape(400, 'Method override refused');
    case 'token_in_query':
      return shape(400, 'Credential in the query string');
    case 'token_outside_authorization':
      return shape(400, 'Credential outside the Authorization header');
    case 'bad_content_type':
      return shape(400, 'Malformed Content-Type');
    case 'connection_names_end_to_end':
      return shape(400, 'Connection header names an end-to-end field');
    case 'http10_transfer_encoding':
    case 'malformed_request':
      return shape(400, 'Bad request');
    case 'too_many_headers':
    case 'header_fields_too_large':
      // RFC 6585 §5.
      return shape(431, 'Request header fields too large');
    case 'transfer_coding':
    case 'method_not_implemented':
      // RFC 9110 §15.6.2: the server does not support the functionality required.
      return shape(501, 'Not implemented');
    case 'http_version':
      return shape(505, 'HTTP version not supported');
    case 'target_too_long':
      return shape(414, 'URI too long');
    case 'body_too_large':
      return shape(413, 'Content too large');
    case 'too_many_connections':
      // RFC 6585 §4: this client, not the server, is over its share.
      return shape(429, 'Too many connections', RETRY);
    case 'request_timeout':
      return shape(408, 'Request timeout');
    case 'body_too_slow':
      return shape(408, 'Request body too slow');
    case 'expectation_failed':
      return shape(417, 'Expectation failed');
    case 'reserved_method':
      return shape(405, 'Method not allowed', ALLOW_POST);
    case 'untrusted_decision_peer':
      return shape(403, 'Not a trusted proxy');
  }
}

/** Allow lists and rate limits (src/limits/, docs/rate-limits.md). */
function limitAnswer(refusal: LimitRefusal): RefusalAnswer {
  switch (refusal.reason) {
    case 'ip_not_allowed':
      return answer(refusal.reason, 403, 'IP address not allowed', refusal.detail, NONE, 'denied', false);
    case 'concurrency_limited':
      return answer(
        refusal.reason,
        429,
        'Too many concurrent requests',
        refusal.detail,
        RETRY,
        'rate_limited',
        false,
      );
    case 'rate_limited':
      // RFC 6585 §4, with GitHub's headers: the client learns when the budget comes back.
      return {
        problem: {
          ...problem(refusal.reason, 429, 'Rate limit exceeded', refusal.detail),
          resource: refusal.resource,
          limit: refusal.limit,
          reset: refusal.reset,
        },
        headers: {
          'retry-after': String(refusal.retryAfter),
          'x-ratelimit-limit': String(refusal.limit),
          'x-ratelimit-remaining': String(Math.max(0, refusal.limit - refusal.used)),
          'x-ratelimit-used': String(refusal.used),
          'x-ratelimit-reset': String(refusal.reset),
          'x-ratelimit-resource': refusal.resource,
        },
        close: false,
        outcome: 'rate_limited',
        code: refusal.reason,
      };
  }
}

function denyAnswer(deny: DenyRefusal, dialect: Dialect): RefusalAnswer {
  const { reason, detail } = deny;
  const denied = (status: number, title: string, headers = NONE): RefusalAnswer =>
    answer(reason, status, title, detail, headers, 'denied', false);
  switch (reason) {
    case 'token_missing':
      return denied(401, 'Authentication required', CHALLENGE);
    case 'token_malformed':
    case 'token_unknown':
    case 'token_expired':
    case 'token_revoked':
      return denied(401, 'Invalid token', INVALID_TOKEN);
    case 'token_pending':
      return denied(403, 'Token pending approval');
    case 'token_denied':
      return denied(403, 'Token denied by the organization');
    case 'classic_blocked':
    case 'fine_grained_blocked':
    case 'lifetime_exceeds_policy':
      return denied(403, 'Refused by organization policy');
    case 'not_member':
      return denied(403, 'Not a member of the organization');
    case 'resource_forbidden':
      return denied(403, 'Resource not accessible by this token');
    case 'permission_missing': {
      const alternatives = deny.requiredPermissions ?? [];
      return {
        problem: {
          ...problem(reason, 403, 'Resource not accessible by this token', detail),
          required_permissions: alternatives.map((set) => set.map((p) => `${p.feature}:${p.level}`)),
          ...(deny.requestAccessUrl === undefined ? {} : { request_access_url: deny.requestAccessUrl }),
        },
        headers: {
          [dialect === 'github' ? 'x-accepted-github-permissions' : 'x-accepted-permissions']:
            formatAcceptedPermissions(alternatives),
        },
        close: false,
        outcome: 'denied',
        code: reason,
      };
    }
    // Hidden resources answer exactly like an unknown route, so that an outsider cannot tell
    // whether a repository exists.
    case 'resource_hidden':
      return answer('not_found', 404, 'Not Found', NOT_FOUND_DETAIL, NONE, 'not_found', false, reason);
  }
}
