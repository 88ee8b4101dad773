/** An organization's token policy (`GET/PUT /v1/orgs/{org}/policy`). */
export interface OrgPolicy {
  readonly requireApproval: boolean;
  /** Longest lifetime a token reaching the org may have; null for no limit. */
  readonly maxLifetimeDays: number | null;
  readonly classicTokens: 'allowed' | 'blocked';
  readonly fineGrainedTokens: 'allowed' | 'blocked';
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
