import type { MemberRole } from '../../grants/owner.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { GrantStore } from '../../store/grant-store.js';

/** How far back the audit log is read for org names (its newest events; it is bounded anyway). */
const AUDIT_WINDOW = 1_000;

/**
 * The grant store keeps each org's policy and members by org name but has no index of
 * org names. Every way an org comes to exist goes through the admin API or the console
 * (a policy set, a member added, an invitation accepted), and each is audited with the
 * org's name; tokens name their resource owner. So the console finds orgs there, and
 * the store stays the judge of membership and policy.
 */
export async function knownOrgs(store: GrantStore, audit: AuditLog, user?: string): Promise<string[]> {
  const [events, tokens] = await Promise.all([
    audit.list({ limit: AUDIT_WINDOW, ...(user === undefined ? {} : { user }) }),
    store.listTokens(user === undefined ? {} : { user }),
  ]);
  const names = new Set<string>();
  for (const e of events) if (e.org !== null) names.add(e.org);
  for (const t of tokens)
    if (t.kind === 'fine_grained' && t.resourceOwner !== t.user) names.add(t.resourceOwner);
  return [...names].sort();
}

/** The orgs `user` is a member of now, with their role there. */
export async function membershipsOf(
  store: GrantStore,
  audit: AuditLog,
  user: string,
): Promise<ReadonlyMap<string, MemberRole>> {
  const candidates = await knownOrgs(store, audit, user);
  const roles = await Promise.all(candidates.map(async (org) => (await store.getMembers(org)).get(user)));
  const memberships = new Map<string, MemberRole>();
  candidates.forEach((org, i) => {
    const role = roles[i];
    if (role !== undefined) memberships.set(org, role);
  });
  return memberships;
}
