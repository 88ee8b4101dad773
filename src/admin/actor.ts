import type { Level } from '../grants/permission.js';
import type { AdminAuthFailureReason } from '../observability/metrics.js';
import type { GrantStore } from '../store/grant-store.js';
import { timingSafeEqualString } from '../tokens/constant-time.js';
import { hashToken, parseToken } from '../tokens/format.js';
import type { AdminActor } from './context.js';
import { orgAdminDecision } from './org-reach.js';

/** Why a credential did not authenticate at all (401); the throttle counts these. */
export type AuthFailure = Exclude<AdminAuthFailureReason, 'throttled'>;

/** A refusal: 401 (no usable credential, with why) or 403 (a credential that may not make this call). */
export type ActorRefusal =
  | { readonly ok: false; readonly status: 401; readonly reason: AuthFailure; readonly detail: string }
  | { readonly ok: false; readonly status: 403; readonly detail: string };

export type ActorResult = { readonly ok: true; readonly actor: AdminActor } | ActorRefusal;

export function unauthenticated(reason: AuthFailure, detail: string): ActorRefusal {
  return { ok: false, status: 401, reason, detail };
}

export function forbidden(detail: string): ActorRefusal {
  return { ok: false, status: 403, detail };
}

const INVALID = 'a valid admin credential is required';

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
  if (credential === undefined) return unauthenticated('missing', 'a bearer credential is required');
  if (adminToken !== undefined && timingSafeEqualString(credential, adminToken)) {
    return { ok: true, actor: { kind: 'site_admin' } };
  }
  const parsed = parseToken(credential);
  if (!parsed.ok) return unauthenticated('invalid', INVALID);
  // A patgate token is an identity, just not one that may make this call.
  if (org === null) {
    return forbidden(
      'this call needs the site admin credential; organization admins may call /v1/orgs/{org}/...',
    );
  }
  if (parsed.kind !== 'fine_grained') {
    return forbidden(
      'organization admins act with a fine-grained token for the organization, not a classic one',
    );
  }
  const snapshot = await store.lookup(hashToken(credential), org);
  if (snapshot === null) return unauthenticated('unknown', INVALID);
  const decision = orgAdminDecision(snapshot, org, level, now);
  if (decision.kind === 'deny') {
    // A dead token is no credential (401); a live one refused by the org's rules is a 403, as on the gateway.
    if (decision.reason === 'token_revoked') return unauthenticated('revoked', decision.detail);
    if (decision.reason === 'token_expired') return unauthenticated('expired', decision.detail);
    return forbidden(decision.detail);
  }
  return { ok: true, actor: { kind: 'org_admin', user: snapshot.token.user, tokenId: snapshot.token.id } };
}
