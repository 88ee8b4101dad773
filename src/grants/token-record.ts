import type { GrantMap } from './permission.js';

/**
 * - `active`: usable.
 * - `pending`: waiting for the resource owner's approval.
 * - `denied`: the resource owner refused it.
 * - `revoked`: revoked by its holder, a site admin or the org; or replaced by regenerate.
 */
export type TokenStatus = 'active' | 'pending' | 'denied' | 'revoked';

interface TokenRecordBase {
  /** Public identifier, safe to log and show: `tok_` + 20 base32 chars. */
  readonly id: string;
  readonly user: string;
  readonly name: string;
  readonly status: TokenStatus;
  /** ISO 8601 (RFC 3339) UTC instants. */
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt?: string;
  /** When the secret was last replaced (regenerate): the token's lifetime counts from here. */
  readonly regeneratedAt?: string;
  /** Why the token was denied or revoked, when someone said. */
  readonly statusReason?: string;
  /**
   * Set by the store's lookup only, never stored in the record: the secret looked up
   * was replaced by regenerate and keeps working until this instant (the grace period).
   */
  readonly graceUntil?: string;
  /** Client addresses (CIDR blocks) the token may be used from, set at creation; absent: any. */
  readonly allowedIps?: readonly string[];
  /** The token's own primary rate limit (src/limits/), instead of its org's or the config's. */
  readonly rateLimit?: { readonly limit: number; readonly windowSeconds: number };
}

/** A fine-grained (v2, `pgt_`) token: one resource owner, some repositories, per-feature levels. */
export interface FineGrainedTokenRecord extends TokenRecordBase {
  readonly kind: 'fine_grained';
  /** Lower-cased owner login. */
  readonly resourceOwner: string;
  /** `all` of the owner's repositories, or lower-cased repository names (without the owner). */
  readonly repositories: 'all' | readonly string[];
  readonly permissions: GrantMap;
}

/** Broad scopes of a classic (v1, `pgc_`) token. */
export type ClassicScope = 'read' | 'write' | 'admin';

/** A classic (v1, `pgc_`) token: broad scopes over everything its user can reach. */
export interface ClassicTokenRecord extends TokenRecordBase {
  readonly kind: 'classic';
  readonly scopes: readonly ClassicScope[];
}

export type TokenRecord = FineGrainedTokenRecord | ClassicTokenRecord;
export type TokenKind = TokenRecord['kind'];
