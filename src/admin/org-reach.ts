import { decide } from '../grants/decide.js';
import type { Decision, DenyReason } from '../grants/decision.js';
import type { MemberRole, OrgPolicy, OwnerState } from '../grants/owner.js';
import type { Level, Permission } from '../grants/permission.js';
import type { TokenRecord } from '../grants/token-record.js';
import { ownerState } from '../store/owner-state.js';

/** The feature that governs the org admin calls; always in the catalogue. */
export const ORGANIZATION_TOKENS_FEATURE = 'organization_tokens';

// A permission every token holds (through `implicit`), so that `decide` answers
// only the questions of reach: lifecycle, owner, membership, policy and status.
const REACH: Permission = { feature: 'organization_reach', level: 'read' };
const REACH_ONLY = [REACH];

export interface OrgState {
  /** null: the org is not registered (no policy stored, no members). */
  readonly policy: OrgPolicy | null;
  readonly members: ReadonlyMap<string, MemberRole>;
}

/**
 * Whether `token` can reach organization `org` right now, decided by the same
 * function as a proxied request, so the org's token list never disagrees with
 * the gateway.
 */
export function reachOf(token: TokenRecord, org: string, state: OrgState, now: number): Decision {
  const registered = state.policy !== null || state.members.size > 0;
  return decide({
    snapshot: { token, owner: ownerState(registered, state.policy, state.members.get(token.user) ?? null) },
    requirement: {
      kind: 'permissions',
      alternatives: [REACH_ONLY],
      resource: { kind: 'owner', ownerParam: 'org' },
    },
    resource: { owner: org, repo: null },
    implicit: REACH_ONLY,
    hideForbidden: false,
    now,
  });
}

/** Whether a token makes its user an acting admin of an org, and if not, why. */
export type AdminDecision =
  | { readonly kind: 'allow' }
  | { readonly kind: 'deny'; readonly reason: DenyReason | 'not_admin'; readonly detail: string };

/**
 * Whether `token`, seen with `owner` (the org's policy and the user's role), lets
 * its user act as an admin of `org` at `level`: the token passes the org's rules
 * with `organization_tokens:<level>`, and the user's role is admin. One function
 * for authentication and for the policy lock-out check, so the two never disagree.
 */
export function orgAdminDecision(
  snapshot: { readonly token: TokenRecord; readonly owner: OwnerState },
  org: string,
  level: Level,
  now: number,
): AdminDecision {
  const decision = decide({
    snapshot,
    requirement: {
      kind: 'permissions',
      alternatives: [[{ feature: ORGANIZATION_TOKENS_FEATURE, level }]],
      resource: { kind: 'owner', ownerParam: 'org' },
    },
    resource: { owner: org, repo: null },
    implicit: [],
    hideForbidden: false,
    now,
  });
  if (decision.kind === 'deny') return decision;
  if (snapshot.owner.org?.role !== 'admin') {
    return {
      kind: 'deny',
      reason: 'not_admin',
      detail: `${snapshot.token.user} is not an admin of organization ${org}`,
    };
  }
  return { kind: 'allow' };
}

/**
 * Whether the org may see and act on `token` at all (list it, approve or deny
 * it, revoke it): a fine-grained token for the org, or a classic one, held by a
 * member. A registered org's business is its members' tokens only: someone it
 * merely invited, or removed, is not its to review until they are a member.
 * An unregistered owner has no members; its tokens are the site admin's to see.
 */
export function orgMaySee(token: TokenRecord, org: string, state: OrgState): boolean {
  if (token.kind === 'fine_grained' && token.resourceOwner !== org) return false;
  const registered = state.policy !== null || state.members.size > 0;
  return !registered || state.members.has(token.user);
}

/** Tokens that reach the org, and those waiting for its approval (they will once approved). */
export function tokensReachingOrg(
  tokens: readonly TokenRecord[],
  org: string,
  state: OrgState,
  now: number,
): TokenRecord[] {
  return tokens.filter((t) => {
    const decision = reachOf(t, org, state, now);
    return decision.kind === 'allow' || decision.reason === 'token_pending';
  });
}
