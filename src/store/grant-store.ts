import type { MemberRole, OrgPolicy, OwnerState } from '../grants/owner.js';
import type { TokenKind, TokenRecord, TokenStatus } from '../grants/token-record.js';
import type { OutboundEvent } from './event-types.js';

/** What one lookup returns: everything `decide` needs about a token and the owner it reaches. */
export interface GrantSnapshot {
  readonly token: TokenRecord;
  readonly owner: OwnerState;
}

export interface TokenFilter {
  readonly user?: string;
  readonly resourceOwner?: string;
  readonly status?: TokenStatus;
}

/** Why the in-process caches must drop entries. `all` is used after a lost subscription. */
export type Invalidation =
  | { readonly kind: 'token'; readonly tokenHash: string }
  | { readonly kind: 'owner'; readonly owner: string }
  | { readonly kind: 'all' };

export type InvalidationListener = (event: Invalidation) => void;

/**
 * An org admin's offer of membership, which the invited user accepts with their own
 * credential (an org admin may not add members directly; the site admin may).
 */
export interface Invitation {
  /** Lower-cased org login. */
  readonly org: string;
  /** Lower-cased user login. */
  readonly user: string;
  readonly role: MemberRole;
  /** Who invited: `site_admin`, or the org admin's user login. */
  readonly invitedBy: string;
  /** ISO 8601 UTC instants; an invitation past `expiresAt` is gone (listed nowhere, not acceptable). */
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** The expiry notices of a token: 7 days and 1 day before its expiry, and at its expiry. */
export const EXPIRY_NOTICE_KINDS = ['expiring_7d', 'expiring_1d', 'expired'] as const;
export type ExpiryNoticeKind = (typeof EXPIRY_NOTICE_KINDS)[number];

/** How long before the expiry each notice is due (ms). */
export const EXPIRY_NOTICE_LEAD_MS: Readonly<Record<ExpiryNoticeKind, number>> = {
  expiring_7d: 7 * 86_400_000,
  expiring_1d: 86_400_000,
  expired: 0,
};

/**
 * One entry of the store's expiry index, written in the same step as the token's
 * creation or regenerate (which moves it to the new expiry).
 */
export interface ExpiryNotice {
  readonly tokenId: string;
  readonly kind: ExpiryNoticeKind;
  /** When it is due: the token's expiry minus the notice's lead (epoch ms). */
  readonly dueAt: number;
}

export interface InvitationFilter {
  readonly org?: string;
  readonly user?: string;
}

/**
 * The shared store of tokens, orgs and memberships. Both the memory and the Redis
 * implementation pass `test/contract/grant-store.contract.ts`.
 *
 * Every method that narrows access publishes an invalidation that reaches the
 * listeners of every instance sharing the store (including this one).
 * Methods reject with `StoreUnavailableError` when the backend cannot answer.
 */
export interface GrantStore {
  /**
   * The hot-path read: one round trip. `owner` is the lower-cased resource owner
   * the request reaches (for fine-grained tokens, the token's own owner is used
   * whatever is passed). Null when no token has that hash. `kind`, the kind the
   * token's prefix names, is a hint for where to look first (Redis Cluster); the
   * answer is the same without it.
   */
  lookup(tokenHash: string, owner: string, kind?: TokenKind): Promise<GrantSnapshot | null>;

  /** Stores a new token under its hash. Rejects if the id or hash exists. */
  createToken(tokenHash: string, record: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | null>;
  listTokens(filter: TokenFilter): Promise<TokenRecord[]>;
  /** Sets status (and reason); returns the updated record or null for an unknown id. Publishes. */
  setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null>;
  /**
   * Moves a token to a new hash with a new expiry. Publishes. Without `graceUntil` the old
   * hash stops resolving at once; with it, the old hash resolves to the token's current
   * record, carrying `graceUntil`, until then (and `decide` refuses it after). A second
   * replacement ends an earlier grace at once.
   */
  replaceTokenSecret(
    id: string,
    newHash: string,
    expiresAt: string,
    graceUntil?: string,
  ): Promise<TokenRecord | null>;
  /** Batched, fire-and-forget friendly: last-used instants by token id. */
  recordLastUsed(lastUsed: ReadonlyMap<string, string>): Promise<void>;
  getLastUsed(id: string): Promise<string | null>;

  getOrgPolicy(org: string): Promise<OrgPolicy | null>;
  setOrgPolicy(org: string, policy: OrgPolicy): Promise<void>;
  getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>>;
  setMember(org: string, user: string, role: MemberRole): Promise<void>;
  /** Returns false when the user was not a member. Publishes. */
  removeMember(org: string, user: string): Promise<boolean>;

  /** Creates or replaces the invitation of `user` to `org`. */
  createInvitation(invitation: Invitation): Promise<void>;
  /** Unexpired invitations, oldest first. */
  listInvitations(filter: InvitationFilter): Promise<Invitation[]>;
  /**
   * Atomically removes the unexpired invitation of `user` to `org` and makes the user a member
   * with its role. Null when there was none (or it expired); nothing is written then.
   */
  acceptInvitation(org: string, user: string, now: number): Promise<MemberRole | null>;
  /** Returns false when there was none. */
  deleteInvitation(org: string, user: string): Promise<boolean>;

  /** The expiry index: notices due at or before `now` (epoch ms), soonest first, at most `limit`. */
  dueExpiryNotices(now: number, limit: number): Promise<ExpiryNotice[]>;
  /**
   * Removes the notice if the index still holds it as listed (same `dueAt`: not moved by a
   * regenerate since) and, in the same step, appends `events` to the event stream. True for
   * exactly one caller across the fleet; false when it was gone or moved (nothing written).
   */
  settleExpiryNotice(notice: ExpiryNotice, events: readonly OutboundEvent[]): Promise<boolean>;

  onInvalidate(listener: InvalidationListener): void;
  /**
   * True while this instance receives every invalidation the others publish (the
   * memory store: always). While false a cached grant may have missed one, so the
   * cache asks the store first and falls back on its entry only if the store
   * cannot answer.
   */
  isSynchronized(): boolean;
  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
