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
  /** What the token is for, in the holder's words (GitHub's description): plain text, set at creation. */
  readonly description?: string;
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

/** Longest token description, in characters (UTF-16 code units, as JSON Schema's maxLength counts). */
export const MAX_TOKEN_DESCRIPTION_LENGTH = 1_024;

/**
 * Plain text, as a description must be: no control characters but tab and line breaks,
 * and no bidirectional overrides or isolates, which make text read differently on screen
 * than it is (Trojan Source, CVE-2021-42574).
 */
export function isPlainText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    if (c >= 0x7f && c <= 0x9f) return false;
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return false;
  }
  return true;
}
export type TokenKind = TokenRecord['kind'];
