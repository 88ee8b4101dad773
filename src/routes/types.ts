import type { PermissionAlternatives } from '../config/permission.js';

/**
 * Which resource a matched request is about, by route parameter name.
 * - `repository`: `{owner}/{repo}` (or the params named in `resource:`)
 * - `owner`: an organization or user account (`{org}`, or `{owner}` alone)
 * - `token_owner`: the route names no resource; the permission is checked
 *   against the token's own resource owner.
 */
export type ResourceBinding =
  | { readonly kind: 'repository'; readonly ownerParam: string; readonly repoParam: string }
  | { readonly kind: 'owner'; readonly ownerParam: string }
  | { readonly kind: 'token_owner' };

export type RouteRequirement =
  | { readonly kind: 'public' }
  | {
      readonly kind: 'permissions';
      /** Any one alternative (OR), each a set needed together (AND). */
      readonly alternatives: PermissionAlternatives;
      readonly resource: ResourceBinding;
    };

export interface RouteRule {
  /** Position in the config's `routes` list. */
  readonly index: number;
  /** The pattern as written, e.g. `GET /repos/{owner}/{repo}`. */
  readonly pattern: string;
  /** Upper-case method, or `*`. */
  readonly method: string;
  /** 1-based line in the config file, when known. */
  readonly line: number | undefined;
  readonly requirement: RouteRequirement;
  /**
   * Largest request body the route accepts, in bytes (413 past it; 0 refuses any body): the
   * route's `max_body_bytes`, else `limits.max_body_bytes`. A rule carries its own limits, so a
   * reload swaps them with the matcher.
   */
  readonly maxBodyBytes: number;
  /**
   * Path parameters the operator declared the upstream authorizes itself (`upstream_checks`),
   * which `routes check` then does not report as resources outside the check. Empty for most.
   */
  readonly upstreamChecks: readonly string[];
}

export interface RouteMatch {
  readonly rule: RouteRule;
  /** Raw (still percent-encoded) segment values by parameter name; `{rest+}` joins its segments with `/`. */
  readonly params: Readonly<Record<string, string>>;
}

export interface RouteMatcher {
  /** `path` is the path part of the target only (no query), already checked by `request/`. */
  match(method: string, path: string): RouteMatch | null;
  readonly rules: readonly RouteRule[];
}

/** An error in the route map, pointing at the route. */
export interface RouteError {
  readonly index: number;
  readonly pattern: string;
  readonly line: number | undefined;
  readonly message: string;
}
