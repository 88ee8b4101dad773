import type { MemberRole, OrgPolicy } from '../grants/owner.js';
import type { TokenRecord } from '../grants/token-record.js';
import { ownerState } from '../store/owner-state.js';
import { orgAdminDecision } from './org-reach.js';

export interface LockoutInput {
  readonly org: string;
  /** The org's tokens (fine-grained, for this owner); others are ignored. */
  readonly tokens: readonly TokenRecord[];
  readonly members: ReadonlyMap<string, MemberRole>;
  readonly current: OrgPolicy;
  readonly next: OrgPolicy;
  readonly now: number;
}

/**
 * Why `next` would leave the org unable to administer itself, or null if it would
 * not. An org admin acts with their own fine-grained token for the org holding
 * `organization_tokens:write`; a policy that refuses every such token (blocking
 * fine-grained tokens, or a `max_lifetime_days` below each one's lifetime) leaves
 * only the site admin able to undo it. The check asks whether some admin can act
 * now and none could under `next`, with the same function authentication uses.
 * An org where no admin can act today has nothing to lose, so nothing is refused.
 *
 * `require_approval` is not part of it: approval is asked of tokens issued later,
 * and those in use keep their status.
 */
export function policyLockout(input: LockoutInput): string | null {
  const { org, members, now } = input;
  const adminTokens = input.tokens.filter(
    (t) => t.kind === 'fine_grained' && t.resourceOwner === org && members.get(t.user) === 'admin',
  );
  const actsUnder = (policy: OrgPolicy, t: TokenRecord) =>
    orgAdminDecision({ token: t, owner: ownerState(true, policy, 'admin') }, org, 'write', now);
  const ableNow = adminTokens.filter((t) => actsUnder(input.current, t).kind === 'allow');
  if (ableNow.length === 0) return null;
  if (ableNow.some((t) => actsUnder(input.next, t).kind === 'allow')) return null;
  const why = new Set(
    ableNow.map((t) => {
      const decision = actsUnder(input.next, t);
      return decision.kind === 'deny' ? decision.detail : '';
    }),
  );
  return `this policy would leave no admin of organization ${org} able to use the admin API (${[...why].join('; ')}). Send "force": true to apply it anyway; the site admin can always act`;
}
