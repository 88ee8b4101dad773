import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy, type OwnerState } from '../grants/owner.js';

/**
 * Both stores build the owner half of a snapshot the same way: an owner is a
 * registered organization once it has a policy or at least one member, and a
 * registered org without a stored policy gets the default one.
 */
export function ownerState(
  registered: boolean,
  policy: OrgPolicy | null,
  role: MemberRole | null,
): OwnerState {
  if (!registered) return { org: null };
  return { org: { policy: { ...(policy ?? DEFAULT_ORG_POLICY) }, role } };
}
