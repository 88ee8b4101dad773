import type { Decision } from '../grants/decision.js';

type Deny = Extract<Decision, { kind: 'deny' }>;

// The refusals made before `decide`, in one wording for the gateway and `patgate/hono`, so that
// a client reads the same body from either.
export const TOKEN_MISSING: Deny = Object.freeze({
  kind: 'deny',
  reason: 'token_missing',
  detail: 'this route requires a bearer token',
});
export const TOKEN_MALFORMED: Deny = Object.freeze({
  kind: 'deny',
  reason: 'token_malformed',
  detail: 'the bearer credential is not a well-formed patgate token',
});
export const TOKEN_UNKNOWN: Deny = Object.freeze({
  kind: 'deny',
  reason: 'token_unknown',
  detail: 'unknown token',
});

/** The request's path under `base_path`, or null when it is outside it. */
export function withoutBase(path: string, base: string): string | null {
  if (!path.startsWith(base)) return null;
  if (path.length === base.length) return '/';
  return path.charCodeAt(base.length) === 0x2f ? path.slice(base.length) : null;
}
