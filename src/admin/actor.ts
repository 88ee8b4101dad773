import { decide } from '../grants/decide.js';
import type { Level } from '../grants/permission.js';
import type { AuditActor } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { timingSafeEqualString } from '../tokens/constant-time.js';
import { hashToken, parseToken } from '../tokens/format.js';

/** The feature that governs the org admin calls; always in the catalogue. */
export const ORGANIZATION_TOKENS_FEATURE = 'organization_tokens';

export type ActorResult =
  | { readonly ok: true; readonly actor: AuditActor }
  | { readonly ok: false; readonly status: 401 | 403; readonly detail: string };

/**
 * Who is calling. The site admin credential may do everything. On
 * `/v1/orgs/{org}/...` an org admin may act with their own fine-grained token
 * for that org: active, unexpired, allowed by the org's policy, held by a user
 * whose role is `admin`, with `organization_tokens:write` (`:read` for reads).
 */
export async function identifyActor(
  store: GrantStore,
  adminToken: string | undefined,
  credential: string | undefined,
  org: string | null,
  level: Level,
  now: number,
): Promise<ActorResult> {
  if (credential === undefined) return { ok: false, status: 401, detail: 'a bearer credential is required' };
  if (adminToken !== undefined && timingSafeEqualString(credential, adminToken)) {
    return { ok: true, actor: { kind: 'site_admin' } };
  }
  const parsed = parseToken(credential);
  if (!parsed.ok) return { ok: false, status: 401, detail: 'a valid admin credential is required' };
  // A patgate token is an identity, just not one that may make this call.
  if (org === null) {
    return {
      ok: false,
      status: 403,
      detail: 'this call needs the site admin credential; organization admins may call /v1/orgs/{org}/...',
    };
  }
  if (parsed.kind !== 'fine_grained') {
    return {
      ok: false,
      status: 403,
      detail: 'organization admins act with a fine-grained token for the organization, not a classic one',
    };
  }
  const snapshot = await store.lookup(hashToken(credential), org);
  if (snapshot === null) return { ok: false, status: 401, detail: 'a valid admin credential is required' };
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
  if (decision.kind === 'deny') {
    // A dead token is no credential (401); a live one refused by the org's rules is a 403, as on the gateway.
    const status = decision.reason === 'token_revoked' || decision.reason === 'token_expired' ? 401 : 403;
    return { ok: false, status, detail: decision.detail };
  }
  if (snapshot.owner.org?.role !== 'admin') {
    return {
      ok: false,
      status: 403,
      detail: `${snapshot.token.user} is not an admin of organization ${org}`,
    };
  }
  return { ok: true, actor: { kind: 'org_admin', user: snapshot.token.user, tokenId: snapshot.token.id } };
}
