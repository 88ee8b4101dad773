import type { DenyReason } from '../grants/decision.js';
import { formatAcceptedPermissions, type PermissionAlternatives } from '../grants/permission.js';

/** An RFC 9457 problem details object, as every gateway and admin error body. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly required_permissions?: readonly (readonly string[])[];
  readonly [extension: string]: unknown;
}

export interface ProblemResponse {
  readonly problem: Problem;
  /** Extra response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The namespace of every problem `type` patgate answers with. */
export const PROBLEM_TYPE_BASE = 'https://patgate.dev/problems/';
const TYPE_BASE = PROBLEM_TYPE_BASE;
const WWW_AUTHENTICATE = 'Bearer realm="patgate", error="invalid_token"';
const WWW_AUTHENTICATE_MISSING = 'Bearer realm="patgate"';

/** Everything the gateway itself answers besides a credential decision. */
export type GatewayFault =
  | 'bad_request_target'
  | 'bad_request'
  | 'no_route'
  | 'method_not_allowed'
  | 'store_unavailable'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'internal';

export type ProblemCode = DenyReason | GatewayFault;

const NOT_FOUND_DETAIL = 'no route matches this request';

/**
 * The one place that maps a refusal to status, headers and body. Exhaustive over
 * `ProblemCode`: adding a reason without an answer does not compile.
 */
export function problemFor(
  code: ProblemCode,
  detail: string,
  required?: PermissionAlternatives,
  retryAfterSeconds = 1,
): ProblemResponse {
  switch (code) {
    case 'token_missing':
      return unauthorized(code, 'Authentication required', detail, WWW_AUTHENTICATE_MISSING);
    case 'token_malformed':
    case 'token_unknown':
    case 'token_expired':
    case 'token_revoked':
      return unauthorized(code, 'Invalid token', detail, WWW_AUTHENTICATE);
    case 'token_pending':
      return simple(code, 403, 'Token pending approval', detail);
    case 'token_denied':
      return simple(code, 403, 'Token denied by the organization', detail);
    case 'classic_blocked':
    case 'fine_grained_blocked':
    case 'lifetime_exceeds_policy':
      return simple(code, 403, 'Refused by organization policy', detail);
    case 'not_member':
      return simple(code, 403, 'Not a member of the organization', detail);
    case 'resource_forbidden':
      return simple(code, 403, 'Resource not accessible by this token', detail);
    case 'permission_missing': {
      const alternatives = required ?? [];
      const accepted = formatAcceptedPermissions(alternatives);
      return {
        problem: {
          type: TYPE_BASE + code,
          title: 'Resource not accessible by this token',
          status: 403,
          detail,
          required_permissions: alternatives.map((set) => set.map((p) => `${p.feature}:${p.level}`)),
        },
        headers: { 'x-accepted-permissions': accepted },
      };
    }
    // Hidden resources answer exactly like an unknown route, so that an outsider
    // cannot tell whether a repository exists.
    case 'resource_hidden':
    case 'no_route':
      return simple('not_found', 404, 'Not Found', NOT_FOUND_DETAIL);
    case 'bad_request_target':
      return simple(code, 400, 'Ambiguous or malformed request target', detail);
    case 'bad_request':
      return simple(code, 400, 'Bad request', detail);
    case 'method_not_allowed':
      return simple(code, 405, 'Method not allowed', detail);
    case 'store_unavailable':
      return {
        problem: problem(code, 503, 'Grants unavailable', detail),
        headers: { 'retry-after': String(retryAfterSeconds) },
      };
    case 'upstream_unavailable':
      return simple(code, 502, 'Bad gateway', detail);
    case 'upstream_timeout':
      return simple(code, 504, 'Gateway timeout', detail);
    case 'internal':
      return simple(code, 500, 'Internal error', 'the gateway failed to handle this request');
  }
}

function problem(code: string, status: number, title: string, detail: string): Problem {
  return { type: TYPE_BASE + code, title, status, detail };
}

function simple(code: string, status: number, title: string, detail: string): ProblemResponse {
  return { problem: problem(code, status, title, detail), headers: {} };
}

function unauthorized(code: string, title: string, detail: string, challenge: string): ProblemResponse {
  return { problem: problem(code, 401, title, detail), headers: { 'www-authenticate': challenge } };
}
