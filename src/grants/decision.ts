import type { PermissionAlternatives } from './permission.js';
import type { TokenRecord } from './token-record.js';

/**
 * Every reason a request can be refused on its credentials or grants. A closed
 * set: `gateway/problem.ts` maps each one to a status, headers and a body.
 */
export type DenyReason =
  /** No `Authorization: Bearer` credential. */
  | 'token_missing'
  /** Not a patgate token, or its checksum does not match. No lookup was made. */
  | 'token_malformed'
  /** Well-formed, but no such token in the store. */
  | 'token_unknown'
  | 'token_expired'
  | 'token_revoked'
  /** The org requires approval and has not approved it yet. */
  | 'token_pending'
  /** The org denied it. */
  | 'token_denied'
  /** The org blocks classic tokens. */
  | 'classic_blocked'
  /** The org blocks fine-grained tokens. */
  | 'fine_grained_blocked'
  /** The token's lifetime exceeds the org's `max_lifetime_days`. */
  | 'lifetime_exceeds_policy'
  /** The token's user is not a member of the org the request reaches. */
  | 'not_member'
  /** The resource (owner or repository) is outside the token's set, and `hide_forbidden` is off. */
  | 'resource_forbidden'
  /** The resource is outside the token's set and `hide_forbidden` is on: answer as if absent. */
  | 'resource_hidden'
  /** The token reaches the resource but lacks the permission(s) the route requires. */
  | 'permission_missing';

export type Decision =
  | { readonly kind: 'allow'; readonly token: TokenRecord }
  | {
      readonly kind: 'deny';
      readonly reason: DenyReason;
      /** Human-readable specifics (never the token). */
      readonly detail: string;
      /** What the route needs, for `X-Accepted-Permissions` (on `permission_missing`). */
      readonly requiredPermissions?: PermissionAlternatives;
      /** Set when a token was identified, for logs and metrics. */
      readonly tokenId?: string;
    };
