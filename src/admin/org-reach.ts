import { decide } from '../grants/decide.js';
import type { Decision } from '../grants/decision.js';
import type { MemberRole, OrgPolicy } from '../grants/owner.js';
import type { Permission } from '../grants/permission.js';
import type { TokenRecord } from '../grants/token-record.js';
import { ownerState } from '../store/owner-state.js';

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
