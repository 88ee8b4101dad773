/** An organization's token policy (`GET/PUT /v1/orgs/{org}/policy`). */
export interface OrgPolicy {
  readonly requireApproval: boolean;
  /** Longest lifetime a token reaching the org may have; null for no limit. */
  readonly maxLifetimeDays: number | null;
  readonly classicTokens: 'allowed' | 'blocked';
  readonly fineGrainedTokens: 'allowed' | 'blocked';
  /** Client addresses (CIDR blocks) requests reaching the org may come from; absent: any. */
  readonly ipAllowList?: readonly string[];
  /** The primary rate limit for requests reaching the org, instead of the config's default. */
  readonly rateLimit?: OrgRateLimit;
  /**
   * Fine-grained tokens for the org unused this many days (by last use, or by creation if
   * never used) are revoked by the fleet-wide scheduler (src/scheduler/); absent: never.
   */
  readonly revokeUnusedAfterDays?: number;
}

/** An org's rate limit (src/limits/): `limit` points per window, counted per user, token or org. */
export interface OrgRateLimit {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly per: 'user' | 'token' | 'org';
}

export const DEFAULT_ORG_POLICY: OrgPolicy = {
  requireApproval: false,
  maxLifetimeDays: null,
  classicTokens: 'allowed',
  fineGrainedTokens: 'allowed',
};

export type MemberRole = 'member' | 'admin';

/**
 * What the store knows of the resource owner a request reaches, as seen by
 * the token's user. An owner that is not a registered organization (a user
 * account, or an org nobody configured) has `org: null`.
 */
export interface OwnerState {
  readonly org: { readonly policy: OrgPolicy; readonly role: MemberRole | null } | null;
}

export const UNREGISTERED_OWNER: OwnerState = { org: null };
