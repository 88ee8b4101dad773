import { parseInstant } from '../grants/instant.js';
import type { GrantStore } from '../store/grant-store.js';
import { timingSafeEqualString } from '../tokens/constant-time.js';
import { hashToken, parseToken } from '../tokens/format.js';
import { type ActorRefusal, forbidden, unauthenticated } from './actor.js';
import type { UserActor } from './context.js';

export type UserActorResult = { readonly ok: true; readonly actor: UserActor } | ActorRefusal;

/**
 * Who is calling `/v1/user/...`: a person, known by any of their own tokens that
 * is active and unexpired, of either kind (until the console gives people a
 * session). The token only says who they are: it acts as its user, on that
 * user's own invitations, whatever its grants or the orgs' policies, and it
 * cannot act as anyone else. The site admin credential belongs to no user.
 */
export async function identifyUser(
  store: GrantStore,
  adminToken: string | undefined,
  credential: string | undefined,
  now: number,
): Promise<UserActorResult> {
  if (credential === undefined) return unauthenticated('missing', 'a bearer credential is required');
  if (adminToken !== undefined && timingSafeEqualString(credential, adminToken)) {
    return forbidden(
      'calls under /v1/user act as the user a token belongs to; the site admin credential has none',
    );
  }
  if (!parseToken(credential).ok) return unauthenticated('invalid', 'a valid token is required');
  // The owner only shapes the org half of the snapshot, which is not read here.
  const snapshot = await store.lookup(hashToken(credential), '');
  if (snapshot === null) return unauthenticated('unknown', 'a valid token is required');
  const { token } = snapshot;
  if (token.status === 'revoked') return unauthenticated('revoked', `token ${token.id} was revoked`);
  if (!(parseInstant(token.expiresAt) > now)) {
    return unauthenticated('expired', `token expired at ${token.expiresAt}`);
  }
  if (token.status !== 'active') {
    return forbidden(`token ${token.id} is ${token.status}; use one of your active tokens`);
  }
  return { ok: true, actor: { kind: 'user', user: token.user, tokenId: token.id } };
}
